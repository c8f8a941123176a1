"""The envelope of an exchange file: encoding, CSV syntax, header and trailer (pure).

Everything here is checked before any record is looked at, and every failure is a
file-level code (E001–E003) that rejects the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from shuyaku import ids
from shuyaku.errors import InvalidRequest
from shuyaku.exchange.layouts import KNOWN_KINDS, SPEC_VERSIONS

BOM = b"\xef\xbb\xbf"
_TIMESTAMP = re.compile(r"[0-9]{14}")


class EnvelopeError(InvalidRequest):
    def __init__(self, code: str, line: int, field: str, message: str) -> None:
        super().__init__(f"{code} 行{line} {field}: {message}")
        self.code = code
        self.line = line
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Header:
    kind: str
    municipality_code: str
    insurer_number: str
    data_kind: str  # 1 full, 2 delta
    as_of: str
    created: str
    seq: int
    spec_version: str


@dataclass(frozen=True)
class Trailer:
    records: int
    adds: int
    corrections: int
    deletions: int
    amount_total: int | None


@dataclass
class ParsedFile:
    """Header, trailer and the data records as a table of strings.

    ``records`` has one column per item position (``f0`` …, NULL past the end of a short
    record), ``line_no`` (the physical line) and ``width`` (the record's item count).
    """

    header: Header
    trailer: Trailer
    trailer_line: int
    records: pl.DataFrame


def peek_header(raw: bytes) -> Header:
    """Read just the header line (always ASCII), to learn the sender and its encoding."""
    body = raw[len(BOM) :] if raw.startswith(BOM) else raw
    first = body.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        text = first.decode("ascii")
    except UnicodeDecodeError:
        raise EnvelopeError("E003", 1, "ヘッダ", "ヘッダレコードに半角英数字以外が含まれています") from None
    try:
        row = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise EnvelopeError("E003", 1, "ヘッダ", "ヘッダレコードがありません") from None
    return parse_header(row)


def parse_header(row: list[str]) -> Header:
    def fail(field_name: str, message: str) -> EnvelopeError:
        return EnvelopeError("E003", 1, field_name, message)

    if not row or row[0] != "1":
        raise fail("レコード区分", "1行目がヘッダレコード(レコード区分 1)ではありません")
    if len(row) != 9:
        raise fail("ヘッダ", f"ヘッダの項目数が9ではありません({len(row)})")
    _, kind, municipality_code, insurer_number, data_kind, as_of, created, seq, version = row
    if kind not in KNOWN_KINDS:
        raise fail("種別", f"種別{shown(kind)}は {'/'.join(KNOWN_KINDS)} のいずれかにしてください")
    if not ids.is_valid_municipality_code(municipality_code):
        raise fail("送信元市町村コード", "6桁で検査数字が正しい市町村コードを指定してください")
    if not ids.is_valid_insurer_number(insurer_number) or len(insurer_number) != 6:
        raise fail("保険者番号", "6桁で検査数字が正しい保険者番号を指定してください")
    if data_kind not in ("1", "2"):
        raise fail("データ区分", "1(全件) または 2(差分) を指定してください")
    if not _is_date_or_month(as_of):
        raise fail("対象年月日", "YYYYMMDD または YYYYMM の西暦で指定してください")
    if not _is_timestamp(created):
        raise fail("作成日時", "YYYYMMDDhhmmss で指定してください")
    if not seq.isascii() or not seq.isdigit() or int(seq) < 1:
        raise fail("ファイル連番", "1以上の整数を指定してください")
    if version not in SPEC_VERSIONS:
        raise fail("仕様版数", f"対応している仕様版数は {', '.join(SPEC_VERSIONS)} です")
    return Header(kind, municipality_code, insurer_number, data_kind, as_of, created, int(seq), version)


MAX_COLUMNS = 64


def parse(raw: bytes, encoding: str, *, max_columns: int = MAX_COLUMNS) -> ParsedFile:
    """Decode, split into header / data / trailer, and check the trailer's shape.

    At most ``max_columns`` items of a record are kept (every layout has fewer); its width
    is still counted, so an over-long record is that record's error, not a memory blow-up."""
    body = raw[len(BOM) :] if raw.startswith(BOM) else raw
    if (
        encoding.replace("_", "").replace("-", "").lower() in ("cp932", "shiftjis", "sjis", "mskanji")
        and not body.isascii()
    ):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise EnvelopeError(
                "E002",
                1,
                "文字コード",
                f"文字コードが登録({encoding})と異なります: UTF-8 のファイルです。"
                "登録どおりの文字コードで送るか、登録の変更を連合会に依頼してください",
            )
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise EnvelopeError(
            "E002", line, "文字コード", f"{encoding} として読めないバイトがあります(バイト位置 {exc.start})"
        ) from None
    header_row, data, trailer_row = _split(text, max_columns)
    if header_row is None or header_row[0] != 1:
        raise EnvelopeError("E003", 1, "ヘッダ", "1行目にヘッダレコードがありません")
    header = parse_header(header_row[1])
    if trailer_row is None or trailer_row[1][0] != "3":
        line = trailer_row[0] if trailer_row else header_row[0]
        raise EnvelopeError("E001", line, "トレーラ", "最終行にトレーラレコード(レコード区分 3)がありません")
    trailer = parse_trailer(*trailer_row)
    misplaced = data.filter(pl.col("f0") != "2")
    if misplaced.height:
        line = int(misplaced["line_no"][0])
        raise EnvelopeError(
            "E002",
            line,
            "レコード区分",
            f"データ部にレコード区分が{shown(misplaced['f0'][0])}の行があります(2 のみ)。"
            "レコードの途中の改行、または引用符のない項目内の改行を確かめてください",
        )
    return ParsedFile(header, trailer, trailer_row[0], data)


Row = tuple[int, list[str]]


def shown(value: str | None) -> str:
    """A value quoted in a message only when it is short ASCII that cannot be an identifier
    (a code such as 1, 2, SKKS); anything else only by its length."""
    text = value or ""
    if len(text) <= 4 and text.isascii() and text.isprintable():
        return f"「{text}」"
    return f"({len(text)}文字の値)"


def _split(text: str, max_columns: int = MAX_COLUMNS) -> tuple[Row | None, pl.DataFrame, Row | None]:
    """(header, data table, trailer). A file without quotes is split a column at a time;
    one with quotes goes through the csv module, which also finds broken quoting (E002)."""
    if '"' not in text:
        # Lines split, numbered and cut by Polars: a Python string per line cost more than
        # everything else in reading a large file.
        lines = (
            pl.DataFrame({"line": pl.Series([text], dtype=pl.String).str.split("\n").explode()})
            .with_row_index("n", offset=1)
            .with_columns(pl.col("line").str.strip_suffix("\r"))
            .filter(pl.col("line") != "")
        )
        if lines.is_empty():
            return None, _table([], pl.Series([], dtype=pl.List(pl.String))), None
        numbers, texts = lines["n"].cast(pl.Int64), lines["line"]
        first, last = (int(numbers[0]), texts[0].split(",")), (int(numbers[-1]), texts[-1].split(","))
        body = slice(1, lines.height - 1)
        items = texts[body].str.split(",")
        return first, _table(numbers[body], items, max_columns), (last if lines.height > 1 else None)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    try:
        start = 1
        for row in reader:
            if row:  # a blank line reads as []
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise EnvelopeError("E002", reader.line_num, "CSV", f"CSVとして解析できません: {exc}") from None
    if not rows:
        return None, _table([], pl.Series([], dtype=pl.List(pl.String))), None
    data_rows = rows[1:-1] if len(rows) > 1 else []
    items = pl.Series([r for _, r in data_rows], dtype=pl.List(pl.String))
    return rows[0], _table([n for n, _ in data_rows], items, max_columns), (rows[-1] if len(rows) > 1 else None)


def _table(line_numbers: list[int] | pl.Series, items: pl.Series, max_columns: int = MAX_COLUMNS) -> pl.DataFrame:
    """Columns ``f0`` … of strings (NULL past a short record's end), ``line_no``, ``width``."""
    widths = items.list.len().cast(pl.Int64)
    most = min(max(int(widths.max() or 0) if len(items) else 0, 1), max_columns)  # type: ignore[arg-type]
    columns = [pl.col("items").list.get(i, null_on_oob=True).alias(f"f{i}") for i in range(most)]
    return (
        pl.DataFrame({"items": items})
        .select(columns)
        .with_columns(pl.Series("line_no", line_numbers, dtype=pl.Int64), widths.alias("width"))
    )


def parse_trailer(line: int, row: list[str]) -> Trailer:
    if len(row) != 6:
        raise EnvelopeError("E001", line, "トレーラ", f"トレーラの項目数が6ではありません({len(row)})")
    counts = []
    for label, value in zip(("データ件数", "追加件数", "訂正件数", "削除件数"), row[1:5], strict=True):
        if not value.isascii() or not value.isdigit():
            raise EnvelopeError("E001", line, label, "件数は半角数字で指定してください")
        counts.append(int(value))
    amount = row[5]
    if amount and not (amount.isascii() and amount.lstrip("-").isdigit()):
        raise EnvelopeError("E001", line, "金額合計", "金額合計は半角数字(円)で指定してください")
    records, adds, corrections, deletions = counts
    return Trailer(records, adds, corrections, deletions, int(amount) if amount else None)


def check_trailer(trailer: Trailer, line: int, records: int, ops: dict[str, int], amount: int | None) -> None:
    expected = (
        ("データ件数", trailer.records, records),
        ("追加件数", trailer.adds, ops.get("1", 0)),
        ("訂正件数", trailer.corrections, ops.get("2", 0)),
        ("削除件数", trailer.deletions, ops.get("3", 0)),
    )
    for label, stated, actual in expected:
        if stated != actual:
            raise EnvelopeError(
                "E001", line, label, f"トレーラの{label} {stated} がデータレコードの {actual} 件と一致しません"
            )
    if amount is not None and trailer.amount_total != amount:
        raise EnvelopeError(
            "E001",
            line,
            "金額合計",
            f"トレーラの金額合計 {trailer.amount_total} がデータの合計 {amount} と一致しません",
        )


def _is_date_or_month(value: str) -> bool:
    for fmt, length in (("%Y%m%d", 8), ("%Y%m", 6)):
        if len(value) == length and value.isdigit():
            try:
                datetime.strptime(value, fmt)
                return True
            except ValueError:
                return False
    return False


def _is_timestamp(value: str) -> bool:
    if not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True

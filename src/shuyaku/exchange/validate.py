"""Record validation, whole file at once (pure, columnar).

Input: the data records as a Polars frame of strings (one column per layout item, empty =
absent) plus ``line_no``. Output: one row per record with a problem — line, primary code,
result (9 error / 1 warning), field and a Japanese message that names the item and the fix.
No message ever repeats the value of a digits item (an individual number could be one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import polars as pl

from shuyaku.exchange.layouts import Field, Layout
from shuyaku.problems import ERROR, PROBLEM_SCHEMA, WARNING

_PRIVATE_USE = r"[\x{E000}-\x{F8FF}\x{F0000}-\x{FFFFD}\x{100000}-\x{10FFFD}]"
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_KATAKANA = r"^[\x{30A0}-\x{30FF}\x{3000}]+$"


@dataclass(frozen=True)
class Check:
    code: str
    result: str
    field: str
    failing: pl.Expr  # True where the record fails
    message: pl.Expr | str


def _digits_ok(f: Field) -> pl.Expr:
    col = pl.col(f.column)
    length_ok = col.str.len_chars() == f.length if f.exact else col.str.len_chars() <= f.length
    return col.str.contains(r"^[0-9]+$") & length_ok


def individual_number_check_ok(column: str) -> pl.Expr:
    """Vectorised individual-number check digit (weights 6,5,4,3,2,7,6,5,4,3,2)."""
    col = pl.col(column)
    weights = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    total = pl.sum_horizontal([col.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(weights)])
    remainder = total % 11
    expected = pl.when(remainder <= 1).then(0).otherwise(11 - remainder)
    return expected == col.str.slice(11, 1).cast(pl.Int64, strict=False)


def as_date(column: str) -> pl.Expr:
    return pl.col(column).str.strptime(pl.Date, "%Y%m%d", strict=False)


def _date_ok(f: Field) -> pl.Expr:
    col = pl.col(f.column)
    return col.str.contains(r"^[0-9]{8}$") & as_date(f.column).is_not_null()


def _timestamp_ok(f: Field) -> pl.Expr:
    col = pl.col(f.column)
    return col.str.contains(r"^[0-9]{14}$") & col.str.strptime(pl.Datetime, "%Y%m%d%H%M%S", strict=False).is_not_null()


def _shown(f: Field) -> pl.Expr:
    """The value, quoted, only where it cannot be an identifier: short code items."""
    col = pl.col(f.column)
    return (
        pl.when(col.str.len_chars() <= 4)
        .then(pl.lit("「") + col + pl.lit("」"))
        .otherwise(pl.lit("(") + col.str.len_chars().cast(pl.String) + pl.lit("文字)"))
    )


def field_checks(f: Field) -> list[Check]:
    col = pl.col(f.column)
    present = col != ""
    checks: list[Check] = []
    if f.required:
        checks.append(Check("E011", ERROR, f.label, ~present, f"{f.label}: 必須項目です。値を設定してください"))
    if f.kind == "digits":
        size = f"{f.length}桁" if f.exact else f"{f.length}桁以内"
        checks.append(
            Check("E011", ERROR, f.label, present & ~_digits_ok(f), f"{f.label}: 半角数字{size}で指定してください")
        )
        if f.check == "individual":
            checks.append(
                Check(
                    "E010",
                    ERROR,
                    f.label,
                    present & _digits_ok(f) & ~individual_number_check_ok(f.column),
                    f"{f.label}: 検査数字が正しくありません。番号を確認してください",
                )
            )
    elif f.kind == "code":
        allowed = ", ".join(f.values)
        checks.append(
            Check(
                "E012",
                ERROR,
                f.label,
                present & ~col.is_in(list(f.values)),
                pl.lit(f"{f.label}: ") + _shown(f) + pl.lit(f" は未定義のコードです({allowed} のいずれか)"),
            )
        )
    elif f.kind == "date":
        checks.append(
            Check(
                "E020",
                ERROR,
                f.label,
                present & ~_date_ok(f),
                f"{f.label}: 存在する日付を西暦8桁(YYYYMMDD)で指定してください",
            )
        )
    elif f.kind == "month":
        ok = col.str.contains(r"^[0-9]{4}(0[1-9]|1[0-2])$")
        checks.append(
            Check("E020", ERROR, f.label, present & ~ok, f"{f.label}: 西暦の年月6桁(YYYYMM)で指定してください")
        )
    elif f.kind == "yen":
        checks.append(
            Check(
                "E011",
                ERROR,
                f.label,
                present & ~col.str.contains(r"^[0-9]{1,12}$"),
                f"{f.label}: 半角数字の円(12桁以内)で指定してください",
            )
        )
    elif f.kind == "timestamp":
        checks.append(
            Check(
                "E020",
                ERROR,
                f.label,
                present & ~_timestamp_ok(f),
                f"{f.label}: 西暦の日時14桁(YYYYMMDDhhmmss)で指定してください",
            )
        )
    elif f.kind in ("text", "kana"):
        checks.append(
            Check(
                "E011", ERROR, f.label, col.str.len_chars() > f.length, f"{f.label}: {f.length}文字以内にしてください"
            )
        )
        checks.append(
            Check(
                "E011",
                ERROR,
                f.label,
                col.str.contains(_CONTROL),
                f"{f.label}: 制御文字(NUL・ESC・改行など)が含まれています。文字だけにしてください",
            )
        )
        checks.append(
            Check(
                "W201",
                WARNING,
                f.label,
                col.str.contains(_PRIVATE_USE),
                f"{f.label}: 外字(私用領域の文字)が含まれています。確認対象として記録しました",
            )
        )
        if f.kind == "kana":
            checks.append(
                Check(
                    "W202",
                    WARNING,
                    f.label,
                    present & ~col.str.contains(_KATAKANA),
                    f"{f.label}: 全角カタカナ以外の文字が含まれています",
                )
            )
    return checks


def _date_order(layout: Layout, earlier: str, later: str, strict: bool) -> Check:
    a, b = layout.field(earlier), layout.field(later)
    first, second = as_date(earlier), as_date(later)
    failing = (second <= first) if strict else (second < first)
    relation = "より後" if strict else "以降"
    return Check(
        "E020", ERROR, b.label, failing.fill_null(False), f"{b.label}: {a.label}{relation}の日付にしてください"
    )


def cross_checks(layout: Layout) -> list[Check]:
    columns = {f.column for f in layout.fields}
    checks = []
    if {"qualified_from", "qualified_until"} <= columns:
        checks.append(_date_order(layout, "qualified_from", "qualified_until", strict=True))
        loss_reason = layout.field("qualified_until_reason")
        checks.append(
            Check(
                "E011",
                ERROR,
                loss_reason.label,
                (pl.col("qualified_until") != "") & (pl.col("qualified_until_reason") == ""),
                f"{loss_reason.label}: 資格喪失年月日があるときは必須です",
            )
        )
    if {"applied_from", "applied_to"} <= columns:
        checks.append(_date_order(layout, "applied_from", "applied_to", strict=False))
    if {"applied_from_month", "applied_to_month"} <= columns:
        later = layout.field("applied_to_month")
        checks.append(
            Check(
                "E020",
                ERROR,
                later.label,
                (pl.col("applied_to_month") != "") & (pl.col("applied_to_month") < pl.col("applied_from_month")),
                f"{later.label}: 適用開始年月以降の年月にしてください",
            )
        )
    if {"copay", "total_cost", "specified_disease"} <= columns:
        copay, total = pl.col("copay").cast(pl.Int64, strict=False), pl.col("total_cost").cast(pl.Int64, strict=False)
        checks.append(
            Check("E011", ERROR, "一部負担金", (copay > total).fill_null(False), "一部負担金: 医療費総額を超えています")
        )
        for code, cap in (("1", 10_000), ("2", 20_000)):
            checks.append(
                Check(
                    "E011",
                    ERROR,
                    "一部負担金",
                    ((pl.col("specified_disease") == code) & (copay > cap)).fill_null(False),
                    f"一部負担金: 特定疾病区分 {code} の一部負担金は {cap:,} 円以下です",
                )
            )
    return checks


@cache
def layout_checks(layout: Layout) -> tuple[Check, ...]:
    return tuple(c for f in layout.fields for c in field_checks(f)) + tuple(cross_checks(layout))


def validate(layout: Layout, records: pl.DataFrame, width: pl.Series | None = None) -> pl.DataFrame:
    """Every problem of every record (one row per failed check), in one pass over the file."""
    frame = records if width is None else records.with_columns(width.alias("_width"))
    failing, messages, meta = _compiled(layout, width is not None)
    # The messages of the lines that fail a check only: most lines fail none, and a
    # hundred text columns of nulls unpivoted per line cost more than the checks.
    failed = frame.filter(frame.select(*failing).select(pl.any_horizontal(pl.all())).to_series())
    if failed.is_empty():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    found = (
        failed.select("line_no", *messages)
        .unpivot(index="line_no", variable_name="check", value_name="message")
        .drop_nulls("message")
        .join(meta, on="check")
        .sort("line_no", "order")
    )
    return found.select(list(PROBLEM_SCHEMA)).cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]


@cache
def _compiled(layout: Layout, counts_fields: bool) -> tuple[tuple[pl.Expr, ...], tuple[pl.Expr, ...], pl.DataFrame]:
    """Whether a line fails any of the layout's checks; the checks as one message expression
    each (``c0``, ``c1`` …); and what each reports (code, result, field, order) — built once
    per layout: building them cost a quarter of validating a daily file. ``counts_fields``
    adds the check of the number of items (column ``_width``)."""
    checks = list(layout_checks(layout))
    if counts_fields:
        count = pl.col("_width").cast(pl.String)
        checks.append(
            Check(
                "E011",
                ERROR,
                "レコード",
                pl.col("_width") != layout.width,
                pl.lit(f"レコード: 項目数が{layout.width}ではありません(") + count + pl.lit(")"),
            )
        )
    messages = tuple(
        pl.when(check.failing.fill_null(False))
        .then(pl.lit(check.message) if isinstance(check.message, str) else check.message)
        .alias(f"c{index}")
        for index, check in enumerate(checks)
    )
    failing = tuple(check.failing.fill_null(False).alias(f"c{index}") for index, check in enumerate(checks))
    meta = pl.DataFrame(
        {
            "check": [f"c{i}" for i in range(len(checks))],
            "code": [c.code for c in checks],
            "result": [c.result for c in checks],
            "field": [c.field for c in checks],
            "order": list(range(len(checks))),
        }
    )
    return failing, messages, meta

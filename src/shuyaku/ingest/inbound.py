"""Ingest: one inbound file in, applied in one transaction or not at all.

Order of work: header → sender → archive → re-send? → envelope (CSV, trailer) →
sequence → records (validation, identity, keys) → share of failures → commit. The file's
fate and every problem are in the ledger; the plain file is archived only encrypted.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Connection

from shuyaku import ids
from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit.guard import Access, guarded
from shuyaku.context import Context
from shuyaku.crash import crash_point
from shuyaku.db.engine import CONFLICT_ERRORS
from shuyaku.db.history import Batch
from shuyaku.db.schema import inbound_file
from shuyaku.exchange import archive, envelope, ledger
from shuyaku.exchange.codes import MESSAGES
from shuyaku.exchange.containment import (
    Containment,
    ascii_digits_expr,
    file_numbers,
    known_to_vault,
    remember_unenrolled,
    safe_filename,
)
from shuyaku.exchange.envelope import EnvelopeError, Header
from shuyaku.exchange.layouts import INBOUND, Layout
from shuyaku.exchange.records import typed
from shuyaku.exchange.validate import validate
from shuyaku.ingest.apply import apply_records
from shuyaku.problems import ERROR, PROBLEM_SCHEMA, WARNING, problems_for, summarise
from shuyaku.timeutil import jst_date

log = logging.getLogger("shuyaku.ingest")

# What an SKKS / SKSE file writes to and looks up in (statistics refreshed after bulk loads).
WRITTEN_TABLES = [
    "person",
    "vault_entry",
    "person_key",
    "household",
    "household_key",
    "qualification_period",
    "household_record",
    "id_assignment",
    "inbound_file",
    "ingest_result",
    "claim_unit",
    "income_class",
    "hit_report",
    "continuity_candidate",
    "tasuukai_count",
]


@dataclass(frozen=True)
class IngestOutcome:
    file_id: int
    filename: str
    status: str
    code: str | None
    message: str
    municipality_code: str | None = None
    kind: str | None = None
    seq: int | None = None
    records: int = 0
    applied: int = 0
    warnings: int = 0
    errors: int = 0
    record_codes: tuple[str, ...] = ()  # the codes of the quarantined records of an applied file

    @property
    def ok(self) -> bool:
        return self.status in (ledger.APPLIED, ledger.DUPLICATE)

    @property
    def partial(self) -> bool:
        """Applied, but some records were quarantined (一部反映)."""
        return self.status == ledger.APPLIED and self.errors > 0

    @classmethod
    def of_row(cls, row: Any) -> IngestOutcome:
        """The outcome as the ledger keeps it (a file received earlier)."""
        message = row.message or ""
        if not message and row.status == ledger.APPLIED:
            message = applied_message(row.applied_count or 0, row.warning_count or 0, row.error_count or 0)
        return cls(
            row.file_id,
            row.filename,
            row.status,
            row.error_code,
            message,
            row.municipality_code,
            row.kind,
            row.seq,
            row.record_count or 0,
            row.applied_count or 0,
            row.warning_count or 0,
            row.error_count or 0,
        )


def applied_message(applied: int, warnings: int, errors: int) -> str:
    return f"反映しました(反映 {applied} 件、警告 {warnings} 件、エラー {errors} 件)"


class _Hold(Exception):
    """Leave the transaction without applying anything; the file is held."""

    def __init__(
        self,
        problems: pl.DataFrame | None = None,
        counts: dict[str, int] | None = None,
        message: str | None = None,
        error: EnvelopeError | None = None,
    ) -> None:
        self.problems, self.counts, self.message, self.error = problems, counts, message, error


RETRIES = 3
T = TypeVar("T")


def ingest_with_retries(ctx: Context, actor: Actor, path: Path) -> IngestOutcome:
    """``ingest_path``, run again when another process's transaction conflicted with this
    one (the same new individual number arriving for two municipalities at once, a
    deadlock between two senders' files of one move). The file's transaction rolled back
    whole, so running it again is safe; after RETRIES the error is raised."""
    return retrying(lambda: ingest_path(ctx, actor, path), safe_filename(path.name))


def retrying(attempt_once: Callable[[], T], label: str) -> T:
    """``attempt_once`` run again (up to RETRIES times, after a short random pause) when its
    transaction conflicted with another process's and rolled back whole."""
    for attempt in range(1, RETRIES + 1):
        try:
            return attempt_once()
        except CONFLICT_ERRORS as exc:
            if attempt == RETRIES:
                raise
            log.warning(
                "retrying %s after a conflict with another process (attempt %s): %s", label, attempt, type(exc).__name__
            )
            time.sleep(0.2 * attempt + random.random() * 0.3)
    raise AssertionError("unreachable")


def ingest_from_inbox(ctx: Context, actor: Actor, path: Path, *, remove_source: bool) -> IngestOutcome | None:
    """A file of the inbox: ingested (with retries), then — ``remove_source`` and applied or
    a duplicate — its plain copy deleted. None when the file is gone before it was read:
    another run of the same inbox took it (and its ledger row is that run's)."""
    try:
        outcome = ingest_with_retries(ctx, actor, path)
    except _Gone:
        log.info("skipped %s: no longer in the inbox (another run took it)", safe_filename(path.name))
        return None
    if remove_source and outcome.ok:
        path.unlink(missing_ok=True)  # the encrypted archive copy is the one that stays
    return outcome


class _Gone(Exception):
    """The file left the inbox before it was read: another run of the same inbox took it
    (between listing the folder and reading, at any moment) — not a file to refuse."""


def ingest_path(ctx: Context, actor: Actor, path: Path) -> IngestOutcome:
    """One file from disk: refused with a reason (and a ledger row) when it is a symbolic
    link, not a regular file, unreadable or larger than ``max_file_bytes``; ``_Gone`` when
    it is no longer there."""
    refusal = _unreadable(ctx, path)
    if refusal is None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise _Gone from None
        except OSError as exc:
            refusal = f"ファイルを読めません({exc.strerror})"
    if refusal is not None:
        access = guarded(ctx, actor, "ingest", target=safe_filename(path.name))
        base = _base(ctx, actor, safe_filename(path.name), None)
        return _finish(ctx, access, base, ledger.REJECTED, EnvelopeError("E002", 0, "ファイル", refusal), Containment())
    return ingest_bytes(ctx, actor, raw, path.name)


def _unreadable(ctx: Context, path: Path) -> str | None:
    if path.is_symlink():
        return "シンボリックリンクは受け付けません(実体のファイルを受信フォルダに置いてください)"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise _Gone from None
    except OSError as exc:
        return f"ファイルを読めません({exc.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "通常のファイルではありません(デバイス・FIFO などは受け付けません)"
    limit = int(ctx.setting("max_file_bytes"))
    if info.st_size > limit:
        return f"ファイルが大きすぎます({info.st_size:,} バイト、上限 {limit:,} バイト: 設定 max_file_bytes)"
    return None


def ingest_bytes(ctx: Context, actor: Actor, raw: bytes, filename: str, *, releasing: Any = None) -> IngestOutcome:
    """One inbound file, whatever becomes of it: a ledger row and an access-log event in
    the same transaction as its data. An unexpected failure is this file's refusal (logged
    with its cause), and the next file goes on."""
    filename = safe_filename(filename)
    try:
        return _ingest_bytes(ctx, actor, raw, filename, releasing)
    except AccessDenied:
        raise  # refused, and already logged
    except CONFLICT_ERRORS:
        raise  # another process's transaction conflicted with this one: the caller retries
    except Exception as exc:  # noqa: BLE001 — one file's failure is that file's, not the run's
        log.exception("ingest failed unexpectedly: %s", filename)
        base = {**_base(ctx, actor, filename, raw), "municipality_code": _sender_of(actor)}
        with contextlib.suppress(EnvelopeError):  # the sender and 連番, so the municipality's KKKK tells it
            header = envelope.peek_header(raw)
            base.update(_header_items(header))
        error = EnvelopeError(
            "E002",
            0,
            "ファイル",
            f"処理中に予期しないエラーが発生しました({type(exc).__name__})。"
            "連合会で原因を調べます。ファイルは反映していません",
        )
        records = max(raw.count(b"\n") - 2, 0)  # about: nothing of it was applied
        counts = {"record_count": records, "applied_count": 0, "warning_count": 0, "error_count": 0}
        access = guarded(ctx, actor, "ingest", base.get("municipality_code"), target=filename)
        return _finish(ctx, access, base, ledger.REJECTED, error, Containment(), counts=counts, releasing=releasing)


def _base(ctx: Context, actor: Actor, filename: str, raw: bytes | None) -> dict[str, Any]:
    """The ledger row's first items, known before anything is read (``raw`` None: unreadable)."""
    return {
        "filename": filename,
        "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else "",
        "size_bytes": len(raw) if raw is not None else 0,
        "received_at": ctx.clock(),
        "actor": actor.login_id,
    }


def _header_items(header: Header) -> dict[str, Any]:
    """What the header says of the file, for its ledger row."""
    return {
        "municipality_code": header.municipality_code,
        "kind": header.kind,
        "data_kind": header.data_kind,
        "as_of": header.as_of,
        "created": header.created,
        "seq": header.seq,
        "spec_version": header.spec_version,
    }


def _sender_of(actor: Actor) -> str | None:
    """The municipality an actor of one municipality sends for (an API token's); None for the
    federation's staff, whose files name their sender only in the header."""
    if actor.municipalities is not None and len(actor.municipalities) == 1:
        return next(iter(actor.municipalities))
    return None


def _ingest_bytes(ctx: Context, actor: Actor, raw: bytes, filename: str, releasing: Any) -> IngestOutcome:
    guard = Containment()
    base = _base(ctx, actor, filename, raw)
    sha, now = base["sha256"], base["received_at"]
    try:
        header = envelope.peek_header(raw)
    except EnvelopeError as exc:
        sender = _sender_of(actor)
        if sender is not None:  # sent over the API by one municipality: its file, in its KKKK
            base["municipality_code"] = sender
        access = guarded(ctx, actor, "ingest", sender, target=filename)
        return _finish(ctx, access, base, ledger.REJECTED, exc, guard, releasing=releasing)
    base.update(_header_items(header))
    access = guarded(ctx, actor, "ingest", header.municipality_code, target=filename)
    with ctx.engine.connect() as conn:
        sender = ledger.municipality_row(conn, header.municipality_code)
    if sender is None:
        return _finish(
            ctx,
            access,
            base,
            ledger.REJECTED,
            EnvelopeError(
                "E003",
                1,
                "送信元市町村コード",
                f"送信元市町村コード {header.municipality_code} は登録されていません(`shuyaku municipality add` で登録)",
            ),
            guard,
            releasing=releasing,
        )
    if sender.insurer_number != header.insurer_number:
        return _finish(
            ctx,
            access,
            base,
            ledger.REJECTED,
            EnvelopeError(
                "E003",
                1,
                "保険者番号",
                f"保険者番号 {header.insurer_number} は市町村 {header.municipality_code} の登録({sender.insurer_number})と異なります",
            ),
            guard,
            releasing=releasing,
        )
    name, version = archive.store(ctx.settings.archive_dir, ctx.keyring, raw, sha)
    retention = int(ctx.setting("raw_retention_days"))
    base.update(archive_name=name, archive_key_version=version, retain_until=jst_date(now) + timedelta(days=retention))
    layout = INBOUND.get(header.kind)
    try:
        parsed = envelope.parse(raw, sender.encoding, max_columns=int(ctx.setting("max_columns")))
        if layout is None:
            raise EnvelopeError(
                "E003", 1, "種別", f"種別 {header.kind} はこの版では取り込めません(対応: {', '.join(INBOUND)})"
            )
        records, width = _frame(layout, parsed)
        guard.learn(file_numbers(layout, records, width))
        _check_records_envelope(layout, header, parsed, records)
    except EnvelopeError as exc:
        return _finish(ctx, access, base, ledger.REJECTED, exc, guard, releasing=releasing)
    return _apply(ctx, access, base, layout, header, records, width, now, guard, releasing)


def _frame(layout: Layout, parsed: envelope.ParsedFile) -> tuple[pl.DataFrame, pl.Series]:
    """The layout's items by name ("" where a short record has none), ``line_no``; widths."""
    table = parsed.records
    columns = [
        (pl.col(f"f{i}") if f"f{i}" in table.columns else pl.lit(None, pl.String)).fill_null("").alias(f.column)
        for i, f in enumerate(layout.fields)
    ]
    return table.select(*columns, "line_no"), table["width"]


def _check_records_envelope(layout: Layout, header: Header, parsed: envelope.ParsedFile, records: pl.DataFrame) -> None:
    foreign = records.filter(pl.col("municipality_code") != header.municipality_code)
    if foreign.height:
        raise EnvelopeError(
            "E003",
            int(foreign["line_no"][0]),
            "市町村コード",
            f"データレコードの市町村コードがヘッダの {header.municipality_code} と異なります({foreign.height}件)",
        )
    ops = dict(records.group_by("op").len().iter_rows())
    amount = None
    if layout.amount_column is not None:
        values = records[layout.amount_column].cast(pl.Int64, strict=False)
        amount = int(values.sum() or 0)
    envelope.check_trailer(parsed.trailer, parsed.trailer_line, records.height, ops, amount)


def _sequence(conn: Connection, header: Header) -> EnvelopeError | None:
    """E004 for a 連番 already applied (the content differs: an identical one was a
    duplicate) or behind the last; E005 for a gap."""
    kind, seq = header.kind, header.seq
    last = ledger.last_applied_seq(conn, header.municipality_code, kind)
    if seq <= last:
        return EnvelopeError(
            "E004",
            1,
            "ファイル連番",
            f"{kind} のファイル連番 {seq} は内容の異なるファイルで反映済みです"
            f"(反映済みの最新は {last})。訂正は次の連番 {last + 1} で送ってください",
        )
    if seq > last + 1:
        return EnvelopeError(
            "E005", 1, "ファイル連番", f"{kind} の連番 {_span(last + 1, seq - 1)} が未着です。到着後に自動で反映します"
        )
    return None


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}〜{last}"


class _Duplicate(Exception):
    def __init__(self, earlier: Any) -> None:
        self.earlier = earlier


def _duplicate_message(earlier: Any) -> str:
    return f"受信済みのファイル(受付番号 {earlier.file_id}、{earlier.status})と同一内容です。変更はありません"


def _apply(
    ctx: Context,
    access: Access,
    base: dict[str, Any],
    layout: Layout,
    header: Header,
    records: pl.DataFrame,
    width: pl.Series,
    now: Any,
    guard: Containment,
    releasing: Any,
) -> IngestOutcome:
    """Everything from the re-send check to the commit in one transaction that holds the
    sender's lock from its first statement: a second process offering the same file waits
    and then finds it applied (a duplicate), never applies it twice or calls it E004."""
    raw_problems = validate(layout, records, width)
    share = float(ctx.setting("quarantine_share"))
    releasing_id = releasing.file_id if releasing is not None else None
    try:
        with ctx.engine.begin() as conn:
            ledger.lock_sender(conn, header.municipality_code)
            earlier = ledger.earlier_copy(conn, base["sha256"], besides=releasing_id)
            if earlier is not None:
                raise _Duplicate(earlier)
            decision = _sequence(conn, header)
            if decision is not None:  # the file waits whole: its records are counted, none applied
                raise _Hold(
                    error=decision,
                    counts={"record_count": records.height, "applied_count": 0, "warning_count": 0, "error_count": 0},
                )
            file_id = ledger.record_file(conn, guard, status=ledger.APPLIED, **base)
            contained = containment_problems(conn, ctx.vault, layout, records, guard)
            records = mask_free_text(layout, records, guard)
            found = pl.concat([raw_problems, contained], how="vertical")
            bad = found.filter(pl.col("result") == ERROR)
            valid = typed(layout, records if bad.is_empty() else records.join(bad, on="line_no", how="anti"))
            more = apply_records(
                ctx,
                conn,
                layout.kind,
                Batch(valid, ctx.prefecture, header.municipality_code, header.data_kind == "1", file_id, now),
            )
            problems = summarise(pl.concat([found, more], how="vertical"))
            counts = _counts(records.height, problems)
            error_codes = (
                tuple(sorted(set(problems.filter(pl.col("result") == ERROR)["code"].to_list())))
                if counts["error_count"]
                else ()
            )
            if counts["error_count"] > share * records.height:
                raise _Hold(
                    problems,
                    counts,
                    f"エラーのレコードが {counts['error_count']}/{records.height} 件で、"
                    f"許容割合 {share:.0%} を超えたため、ファイル全体を保留しました。確認のうえ再送してください",
                )
            _remember_quarantined(conn, ctx, layout, records, problems, file_id, now)
            ledger.record_results(conn, file_id, layout, problems, records, guard, width)
            conn.execute(
                inbound_file.update().where(inbound_file.c.file_id == file_id).values(decided_at=ctx.clock(), **counts)
            )
            _mark_released(conn, releasing, ctx.clock())
            _log_ingest(conn, access, file_id, base, ledger.APPLIED, None, counts)
            crash_point("ingest.before_commit")
    except _Duplicate as dup:
        return _finish(
            ctx,
            access,
            base,
            ledger.DUPLICATE,
            None,
            guard,
            message=_duplicate_message(dup.earlier),
            releasing=releasing,
        )
    except _Hold as hold:
        return _finish(
            ctx,
            access,
            base,
            ledger.HELD,
            hold.error,
            guard,
            message=hold.message,
            problems=hold.problems,
            layout=layout,
            records=records if hold.problems is not None else None,
            width=width,
            counts=hold.counts,
            releasing=releasing,
        )
    crash_point("ingest.after_commit")
    outcome = IngestOutcome(
        file_id,
        base["filename"],
        ledger.APPLIED,
        None,
        applied_message(counts["applied_count"], counts["warning_count"], counts["error_count"]),
        header.municipality_code,
        header.kind,
        header.seq,
        records.height,
        counts["applied_count"],
        counts["warning_count"],
        counts["error_count"],
        error_codes,
    )
    log.info(
        "ingest file_id=%s kind=%s municipality=%s seq=%s status=applied records=%s errors=%s warnings=%s",
        file_id,
        header.kind,
        header.municipality_code,
        header.seq,
        records.height,
        counts["error_count"],
        counts["warning_count"],
    )
    ctx.note_bulk_write(records.height, WRITTEN_TABLES)
    release_ready(ctx, header.municipality_code, header.kind, after=header.seq)
    return outcome


def containment_problems(
    conn: Connection, vault: Any, layout: Layout, records: pl.DataFrame, guard: Containment
) -> pl.DataFrame:
    """E011 for a record whose coded item (宛名番号, 世帯番号, 被保険者証番号 …) holds an
    individual number — one of this file's, or one the system knows. Such a value would be
    stored as a key and sent back to the municipality; it is refused at the door instead."""
    coded = [f for f in layout.fields if f.check != "individual" and (f.kind == "digits" or f.column == "card_number")]
    if not coded or records.height == 0:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    v = pl.col("v")
    values = records.select(pl.concat_list([ascii_digits_expr(f.column) for f in coded]).explode().alias("v")).select(
        v.filter(v.str.contains(r"^[0-9]{12}$")).unique().implode().alias("twelve"),
        v.filter(v.str.contains(r"^[0-9]{13,}$")).unique().implode().alias("longer"),
    )
    twelve, longer = values["twelve"][0].to_list(), values["longer"][0].to_list()
    known = (guard.known & set(twelve)) | (known_to_vault(conn, vault, twelve) if twelve else set())
    # A longer key that holds one of this file's numbers (a number with digits stuck to it).
    holding = {v for v in longer if any(v[i : i + 12] in guard.known for i in range(len(v) - 11))}
    if not known and not holding:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    guard.learn(known)
    found = []
    for f in coded:
        hit = records.filter(ascii_digits_expr(f.column).is_in(list(known | holding)))
        if hit.height:
            found.append(
                problems_for(
                    hit, "E011", f.label, f"{f.label}: 個人番号と同じ値です。この項目に個人番号は入れられません"
                )
            )
    return pl.concat(found, how="vertical") if found else pl.DataFrame(schema=PROBLEM_SCHEMA)


_DIGIT = "[0-9０-９]"
_TWELVE_DIGITS = f"{_DIGIT}{{4}}[ \\-\u3000]?{_DIGIT}{{4}}[ \\-\u3000]?{_DIGIT}{{4}}"


def mask_free_text(layout: Layout, records: pl.DataFrame, guard: Containment) -> pl.DataFrame:
    """Free-text items (氏名, 住所, 続柄 …) are stored and shown, so a number typed into one
    is masked before anything is applied: no name legitimately holds twelve digits."""
    columns = [f.column for f in layout.fields if f.kind in ("text", "kana")]
    # Only a value with twelve digits in a row, or in three groups of four, can hold a
    # number; checking that in Polars first leaves the per-value Python masking to the few
    # rows that need it (an address with a 番地 of four digits does not).
    suspicious = (
        pl.any_horizontal([pl.col(c).str.contains(_TWELVE_DIGITS) for c in columns]) if columns else pl.lit(False)
    )
    touched = records.filter(suspicious)
    if touched.height == 0:
        return records
    masked = touched.select(
        "line_no", *[pl.col(c).map_elements(guard.free_text, return_dtype=pl.String) for c in columns]
    )
    return records.update(masked, on="line_no")


def _remember_quarantined(
    conn: Connection,
    ctx: Context,
    layout: Layout,
    records: pl.DataFrame,
    problems: pl.DataFrame,
    file_id: int,
    now: Any,
) -> None:
    """The numbers of records that were not applied: known to the outbox guard from now on."""
    if "individual_number" not in records.columns or problems.is_empty():
        return
    bad = problems.filter(pl.col("result") == ERROR).select("line_no")
    numbers = records.join(bad, on="line_no", how="semi")["individual_number"].to_list()
    remember_unenrolled(conn, ctx.vault, [ids.ascii_digits(n) for n in numbers if n], file_id, now)


def _log_ingest(
    conn: Connection,
    access: Access,
    file_id: int,
    base: dict[str, Any],
    status: str,
    code: str | None,
    counts: dict[str, int],
) -> None:
    access.log(
        conn,
        target=f"受付番号 {file_id} {base.get('municipality_code') or ''} {base.get('kind') or ''} {base['filename']}",
        rows=counts["applied_count"],
        outcome="ok" if status in (ledger.APPLIED, ledger.DUPLICATE) else "failed",
        detail=f"status={status} code={code or ''} records={counts['record_count']}",
    )


def _mark_released(conn: Connection, releasing: Any, now: Any) -> None:
    """The held copy that this run applied (or judged again) is done with, in the same
    transaction as its outcome: a crash leaves it held, and the next run releases it."""
    if releasing is not None:
        conn.execute(
            inbound_file.update()
            .where(inbound_file.c.file_id == releasing.file_id)
            .values(status=ledger.RELEASED, message="連番の欠番が解消したため再処理しました")
        )


def _counts(total: int, problems: pl.DataFrame) -> dict[str, int]:
    errors, warnings = (
        problems.select((pl.col("result") == code).sum().alias(code) for code in (ERROR, WARNING)).row(0)
        if not problems.is_empty()
        else (0, 0)
    )
    return {"record_count": total, "applied_count": total - errors, "warning_count": warnings, "error_count": errors}


def release_ready(
    ctx: Context, municipality_code: str | None = None, kind: str | None = None, *, after: int | None = None
) -> None:
    """Apply every file held for a 連番 gap (E005) whose predecessor has been applied,
    from its encrypted copy, one after another. Also called at the start of every run, so
    a run killed between a file and the release of its successor loses nothing. ``after``:
    the 連番 just applied — its successor is the only one that can be ready, and once
    applied releases its own successor in turn."""
    while True:
        with ctx.engine.connect() as conn:
            waiting = ledger.ready_to_release(conn, municipality_code, kind, after)
        if waiting is None:
            return
        crash_point("release.before")
        raw = archive.load(
            ctx.settings.archive_dir, ctx.keyring, waiting.archive_name, waiting.archive_key_version, waiting.sha256
        )
        outcome = retrying(
            partial(ingest_bytes, ctx, _system_of(waiting.actor), raw, waiting.filename, releasing=waiting),
            waiting.filename,
        )
        log.info("released held file_id=%s as file_id=%s status=%s", waiting.file_id, outcome.file_id, outcome.status)
        if after is not None:
            return


def _system_of(login_id: str) -> Actor:
    return Actor(login_id=login_id, role="federation_operator")


def _finish(
    ctx: Context,
    access: Access,
    base: dict[str, Any],
    status: str,
    error: EnvelopeError | None,
    guard: Containment,
    *,
    message: str | None = None,
    problems: pl.DataFrame | None = None,
    layout: Layout | None = None,
    records: pl.DataFrame | None = None,
    width: pl.Series | None = None,
    counts: dict[str, int] | None = None,
    releasing: Any = None,
) -> IngestOutcome:
    """Record a file that was not applied (or was a duplicate), with its access-log event,
    in one transaction. A held file's numbers become known to the outbox guard."""
    code = error.code if error else None
    text = message or (f"{MESSAGES[error.code]}: 行{error.line} {error.field}: {error.message}" if error else "")
    counts = counts or {"record_count": 0, "applied_count": 0, "warning_count": 0, "error_count": 0}
    if status != ledger.APPLIED:
        counts = {**counts, "applied_count": 0}
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        if base.get("municipality_code"):
            ledger.lock_sender(conn, base["municipality_code"])
        file_id = ledger.record_file(
            conn, guard, status=status, error_code=code, message=text, decided_at=now, **counts, **base
        )
        if error is not None:
            problems = pl.DataFrame(
                {
                    "line_no": [error.line],
                    "code": [error.code],
                    "result": [ERROR],
                    "field": [error.field],
                    "message": [error.message],
                },
                schema=PROBLEM_SCHEMA,
            )
        if problems is not None:
            ledger.record_results(conn, file_id, layout, problems, records, guard, width)
        if status != ledger.DUPLICATE and guard.known:
            remember_unenrolled(conn, ctx.vault, guard.known, file_id, now)
        _mark_released(conn, releasing, now)
        _log_ingest(conn, access, file_id, base, status, code, counts)
    text = guard.free_text(text)
    log.info(
        "ingest file_id=%s kind=%s municipality=%s seq=%s status=%s code=%s",
        file_id,
        base.get("kind"),
        base.get("municipality_code"),
        base.get("seq"),
        status,
        code,
    )
    return IngestOutcome(
        file_id,
        base["filename"],
        status,
        code,
        text,
        base.get("municipality_code"),
        base.get("kind"),
        base.get("seq"),
        counts["record_count"],
        counts["applied_count"],
        counts["warning_count"],
        counts["error_count"],
    )

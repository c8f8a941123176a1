"""Ingest: one inbound file in, applied in one transaction or not at all.

Order of work: header → sender → archive → re-send? → envelope (CSV, trailer) →
sequence → records (validation, identity, keys) → share of failures → commit. The file's
fate and every problem are in the ledger; the plain file is archived only encrypted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.context import Context
from shuyaku.exchange import archive, envelope, ledger
from shuyaku.exchange.codes import MESSAGES
from shuyaku.exchange.envelope import EnvelopeError, Header
from shuyaku.exchange.layouts import INBOUND, KNOWN_KINDS, Layout
from shuyaku.exchange.records import typed
from shuyaku.exchange.validate import ERROR, PROBLEM_SCHEMA, WARNING, summarise, validate
from shuyaku.household.intake import apply_household_records
from shuyaku.qualification.intake import apply_person_records
from shuyaku.timeutil import jst_date

log = logging.getLogger("shuyaku.exchange")

# What an SKKS / SKSE file writes to and looks up in (statistics refreshed after bulk loads).
WRITTEN_TABLES = ["person", "vault_entry", "person_key", "household", "household_key", "qualification_period",
                  "household_record", "id_assignment", "inbound_file", "ingest_result", "claim_unit", "income_class",
                  "hit_report", "continuity_candidate", "tasuukai_count"]


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

    @property
    def ok(self) -> bool:
        return self.status in (ledger.APPLIED, ledger.DUPLICATE)


class _Hold(Exception):
    """Leave the transaction without applying anything; the file is held."""

    def __init__(self, problems: pl.DataFrame | None = None, counts: dict[str, int] | None = None,
                 message: str | None = None, error: EnvelopeError | None = None) -> None:
        self.problems, self.counts, self.message, self.error = problems, counts, message, error


def ingest_paths(
    ctx: Context, actor: Actor, paths: Iterable[Path], *, remove_source: bool = False,
    progress: Callable[[Path, IngestOutcome], None] | None = None, jobs: int = 1,
) -> list[IngestOutcome]:
    """Ingest files and folders (``*.csv`` inside), each sender's files in 連番 order.

    ``jobs`` > 1 spreads senders over worker processes (PostgreSQL only; SQLite has one
    writer, so it always runs in this process)."""
    files = expand(paths)
    if jobs > 1 and ctx.engine.dialect.name == "postgresql":
        from shuyaku.exchange.parallel import ingest_in_workers

        return ingest_in_workers(ctx.settings, actor, files, jobs, remove_source=remove_source, progress=progress)
    outcomes = []
    for path in files:
        outcome = ingest_bytes(ctx, actor, path.read_bytes(), path.name)
        if remove_source and outcome.ok:
            path.unlink()  # the encrypted archive copy is the one that stays
        outcomes.append(outcome)
        if progress:
            progress(path, outcome)
    return outcomes


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files and folders (their ``*.csv``) in ingest order: by sender, kind, then 連番."""
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".csv") if path.is_dir() else [path])
    return sorted(out, key=_order_key)


def sender_of(path: Path) -> str:
    """The sender's 市町村コード from the header ("" when the header cannot be read)."""
    return str(_order_key(path)[1])


def _order_key(path: Path) -> tuple[Any, ...]:
    try:
        with path.open("rb") as handle:
            header = envelope.peek_header(handle.readline())
        return (0, header.municipality_code, KNOWN_KINDS.index(header.kind), header.seq, path.name)
    except (EnvelopeError, OSError):
        return (1, "", 0, 0, path.name)


def ingest_bytes(ctx: Context, actor: Actor, raw: bytes, filename: str) -> IngestOutcome:
    """One inbound file, whatever becomes of it; logged in the access log either way."""
    outcome = _ingest_bytes(ctx, actor, raw, filename)
    trail.record(ctx, actor, trail.Event(
        "ingest", target=f"受付番号 {outcome.file_id} {outcome.municipality_code or ''} {outcome.kind or ''} {filename}",
        purpose=trail.purpose_of("ingest"), row_count=outcome.applied, outcome="ok" if outcome.ok else "failed",
        detail=f"status={outcome.status} code={outcome.code or ''} records={outcome.records}"))
    return outcome


def _ingest_bytes(ctx: Context, actor: Actor, raw: bytes, filename: str) -> IngestOutcome:
    sha = hashlib.sha256(raw).hexdigest()
    now = ctx.clock()
    base: dict[str, Any] = {"filename": filename, "sha256": sha, "size_bytes": len(raw), "received_at": now, "actor": actor.login_id}
    try:
        header = envelope.peek_header(raw)
    except EnvelopeError as exc:
        return _finish(ctx, base, ledger.REJECTED, exc)
    base.update(municipality_code=header.municipality_code, kind=header.kind, data_kind=header.data_kind,
                as_of=header.as_of, created=header.created, seq=header.seq, spec_version=header.spec_version)
    trail.require(ctx, actor, "ingest", header.municipality_code, target=filename)
    with ctx.engine.connect() as conn:
        sender = ledger.municipality_row(conn, header.municipality_code)
        earlier = ledger.earlier_copy(conn, sha)
    if sender is None:
        return _finish(ctx, base, ledger.REJECTED, EnvelopeError("E003", 1, "送信元市町村コード",
                       f"送信元市町村コード {header.municipality_code} は登録されていません(`shuyaku municipality add` で登録)"))
    if sender.insurer_number != header.insurer_number:
        return _finish(ctx, base, ledger.REJECTED, EnvelopeError("E003", 1, "保険者番号",
                       f"保険者番号 {header.insurer_number} は市町村 {header.municipality_code} の登録({sender.insurer_number})と異なります"))
    name, version = archive.store(ctx.settings.archive_dir, ctx.keyring, raw, sha)
    retention = int(ctx.setting("raw_retention_days"))
    base.update(archive_name=name, archive_key_version=version, retain_until=jst_date(now) + timedelta(days=retention))
    if earlier is not None:
        message = f"受信済みのファイル(受付番号 {earlier.file_id}、{earlier.status})と同一内容です。変更はありません"
        return _finish(ctx, base, ledger.DUPLICATE, None, message=message)
    try:
        parsed = envelope.parse(raw, sender.encoding)
        layout = INBOUND.get(header.kind)
        if layout is None:
            raise EnvelopeError("E003", 1, "種別", f"種別 {header.kind} はこの版では取り込めません(対応: {', '.join(INBOUND)})")
        records, width = _frame(layout, parsed)
        _check_records_envelope(layout, header, parsed, records)
    except EnvelopeError as exc:
        return _finish(ctx, base, ledger.REJECTED, exc)
    return _apply(ctx, base, layout, header, records, width, now)


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
        raise EnvelopeError("E003", int(foreign["line_no"][0]), "市町村コード",
                            f"データレコードの市町村コードがヘッダの {header.municipality_code} と異なります({foreign.height}件)")
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
        return EnvelopeError("E004", 1, "ファイル連番", f"{kind} のファイル連番 {seq} は内容の異なるファイルで反映済みです"
                             f"(反映済みの最新は {last})。訂正は次の連番 {last + 1} で送ってください")
    if seq > last + 1:
        return EnvelopeError("E005", 1, "ファイル連番", f"{kind} の連番 {_span(last + 1, seq - 1)} が未着です。到着後に自動で反映します")
    return None


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}〜{last}"


def _apply(ctx: Context, base: dict[str, Any], layout: Layout, header: Header, records: pl.DataFrame, width: pl.Series, now: Any) -> IngestOutcome:
    raw_problems = validate(layout, records, width)
    bad_lines = raw_problems.filter(pl.col("result") == ERROR).select("line_no")
    valid = typed(layout, records.join(bad_lines, on="line_no", how="anti"))
    share = float(ctx.setting("quarantine_share"))
    try:
        with ctx.engine.begin() as conn:
            ledger.lock_sender(conn, header.municipality_code)  # one file of a sender at a time
            decision = _sequence(conn, header)
            if decision is not None:
                raise _Hold(error=decision)
            file_id = ledger.record_file(conn, status=ledger.APPLIED, **base)
            _, more = APPLIERS[layout.kind](ctx, conn, valid, header, file_id, now)
            problems = summarise(pl.concat([raw_problems, more], how="vertical"))
            counts = _counts(records.height, problems)
            if counts["error_count"] > share * records.height:
                raise _Hold(problems, counts, f"エラーのレコードが {counts['error_count']}/{records.height} 件で、"
                                              f"許容割合 {share:.0%} を超えたため、ファイル全体を保留しました。確認のうえ再送してください")
            ledger.record_results(conn, file_id, layout, problems, records)
            conn.execute(ledger.inbound_file.update().where(ledger.inbound_file.c.file_id == file_id).values(decided_at=ctx.clock(), **counts))
    except _Hold as hold:
        return _finish(ctx, base, ledger.HELD, hold.error, message=hold.message, problems=hold.problems, layout=layout,
                       records=records if hold.problems is not None else None, counts=hold.counts)
    outcome = IngestOutcome(file_id, base["filename"], ledger.APPLIED, None, f"反映しました(反映 {counts['applied_count']} 件、警告 {counts['warning_count']} 件、エラー {counts['error_count']} 件)",
                            header.municipality_code, header.kind, header.seq, records.height,
                            counts["applied_count"], counts["warning_count"], counts["error_count"])
    log.info("ingest file_id=%s kind=%s municipality=%s seq=%s status=applied records=%s errors=%s warnings=%s",
             file_id, header.kind, header.municipality_code, header.seq, records.height, counts["error_count"], counts["warning_count"])
    ctx.note_bulk_write(records.height, WRITTEN_TABLES)
    _release_waiting(ctx, header)
    return outcome


def _person_records(ctx: Context, conn: Connection, valid: pl.DataFrame, header: Header, file_id: int, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    return apply_person_records(conn, ctx.vault, valid, prefecture=ctx.prefecture, municipality_code=header.municipality_code,
                                full_load=header.data_kind == "1", file_id=file_id, now=now,
                                auto_confirm_k1=ctx.setting("continuity_auto_confirm_k1") == "1")


def _household_records(ctx: Context, conn: Connection, valid: pl.DataFrame, header: Header, file_id: int, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    return apply_household_records(conn, valid, prefecture=ctx.prefecture, municipality_code=header.municipality_code,
                                   full_load=header.data_kind == "1", file_id=file_id, now=now)


def _claim_records(ctx: Context, conn: Connection, valid: pl.DataFrame, header: Header, file_id: int, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    from shuyaku.kogaku.intake import apply_claims

    return apply_claims(conn, valid, municipality_code=header.municipality_code, full_load=header.data_kind == "1",
                        file_id=file_id, now=now)


def _income_class_records(ctx: Context, conn: Connection, valid: pl.DataFrame, header: Header, file_id: int, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    from shuyaku.kogaku.intake import apply_income_classes

    return apply_income_classes(conn, valid, municipality_code=header.municipality_code, full_load=header.data_kind == "1",
                                file_id=file_id, now=now)


def _hit_reports(ctx: Context, conn: Connection, valid: pl.DataFrame, header: Header, file_id: int, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    from shuyaku.kogaku.intake import apply_hit_reports

    return apply_hit_reports(conn, valid, prefecture=ctx.prefecture, municipality_code=header.municipality_code,
                             full_load=header.data_kind == "1", file_id=file_id, now=now)


APPLIERS = {"SKKS": _person_records, "SKSE": _household_records, "RECE": _claim_records, "SKBN": _income_class_records,
            "KGGT": _hit_reports}


def _counts(total: int, problems: pl.DataFrame) -> dict[str, int]:
    errors = problems.filter(pl.col("result") == ERROR).height
    warnings = problems.filter(pl.col("result") == WARNING).height
    return {"record_count": total, "applied_count": total - errors, "warning_count": warnings, "error_count": errors}


def _release_waiting(ctx: Context, header: Header) -> None:
    """A file held for a sequence gap (E005) is applied once its predecessor has been."""
    with ctx.engine.connect() as conn:
        waiting = ledger.held_waiting(conn, header.municipality_code, header.kind, header.seq + 1)
    if waiting is None or waiting.archive_name is None:
        return
    raw = archive.load(ctx.settings.archive_dir, ctx.keyring, waiting.archive_name, waiting.archive_key_version, waiting.sha256)
    with ctx.engine.begin() as conn:
        conn.execute(ledger.inbound_file.update().where(ledger.inbound_file.c.file_id == waiting.file_id)
                     .values(status="released", decided_at=ctx.clock(), message="連番の欠番が解消したため再処理しました"))
    outcome = ingest_bytes(ctx, _system_of(waiting.actor), raw, waiting.filename)
    log.info("released held file_id=%s as file_id=%s status=%s", waiting.file_id, outcome.file_id, outcome.status)


def _system_of(login_id: str) -> Actor:
    return Actor(login_id=login_id, role="federation_operator")


def _finish(
    ctx: Context, base: dict[str, Any], status: str, error: EnvelopeError | None, *, message: str | None = None,
    problems: pl.DataFrame | None = None, layout: Layout | None = None, records: pl.DataFrame | None = None,
    counts: dict[str, int] | None = None,
) -> IngestOutcome:
    """Record a file that was not applied (or was a duplicate) in its own transaction."""
    code = error.code if error else None
    text = message or (f"{MESSAGES[error.code]}: 行{error.line} {error.field}: {error.message}" if error else "")
    counts = counts or {"record_count": 0, "applied_count": 0, "warning_count": 0, "error_count": 0}
    if status != ledger.APPLIED:
        counts = {**counts, "applied_count": 0}
    with ctx.engine.begin() as conn:
        file_id = ledger.record_file(conn, status=status, error_code=code, message=text, decided_at=ctx.clock(), **counts, **base)
        if error is not None:
            problems = pl.DataFrame({"line_no": [error.line], "code": [error.code], "result": [ERROR], "field": [error.field], "message": [error.message]}, schema=PROBLEM_SCHEMA)
        if problems is not None:
            ledger.record_results(conn, file_id, layout, problems, records)
    log.info("ingest file_id=%s kind=%s municipality=%s seq=%s status=%s code=%s",
             file_id, base.get("kind"), base.get("municipality_code"), base.get("seq"), status, code)
    return IngestOutcome(file_id, base["filename"], status, code, text, base.get("municipality_code"), base.get("kind"),
                         base.get("seq"), counts["record_count"], counts["applied_count"], counts["warning_count"], counts["error_count"])

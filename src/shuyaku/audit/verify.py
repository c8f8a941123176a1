"""Checkpoints and verification of the access log.

A checkpoint is the RFC 6962 Merkle root over the first ``tree_size`` events (a leaf is an
event's chain hash), signed with the installation's Ed25519 key (``keys/audit-signing.key``,
made by ``shuyaku init``). ``verify`` re-derives everything from the events alone: the
sequence (no gap, no duplicate), every chain hash, every checkpoint's root and signature,
and a consistency proof between each pair of consecutive checkpoints (the log at the later
one extends the log at the earlier one). It finds an edited, deleted, reordered or inserted
event — also when the attacker recomputed the chain after the edit, because the signed
roots then differ — and a replaced or forged checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, insert, select

from shuyaku.access.actor import Actor
from shuyaku.audit import merkle, trail
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.engine import make_engine
from shuyaku.db.locks import write_lock
from shuyaku.db.query import rows_to_frame
from shuyaku.db.schema import audit_checkpoint, audit_event
from shuyaku.errors import InvalidRequest
from shuyaku.files import replace_private
from shuyaku.timeutil import shown

PRIVATE, PUBLIC = "audit-signing.key", "audit-signing.pub"


def ensure_signing_key(keys_dir: Path) -> bool:
    """Create the Ed25519 key pair once (private key 0600). True when it was created."""
    private = keys_dir / PRIVATE
    if private.exists():
        return False
    keys_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    (keys_dir / PUBLIC).write_text(raw.hex() + "\n", encoding="ascii")
    return True


def _private_key(keys_dir: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((keys_dir / PRIVATE).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{keys_dir / PRIVATE} は Ed25519 の鍵ではありません")
    return key


def public_key(keys_dir: Path) -> bytes:
    return bytes.fromhex((keys_dir / PUBLIC).read_text(encoding="ascii").strip())


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def statement(size: int, root_hex: str, at_utc: str) -> bytes:
    """What a checkpoint's signature covers."""
    return f"shuyaku audit checkpoint v1\n{size}\n{root_hex}\n{at_utc}\n".encode("ascii")


def event_leaf(event_hash: str) -> bytes:
    """The Merkle leaf hash of an event: its chain hash (hex) as the leaf's data."""
    return merkle.leaf_hash(bytes.fromhex(event_hash))


SCHEMA = {name: pl.String for name in (*trail.ITEMS, "prev_hash", "hash")}


def read_events(conn: Connection, first: int = 1, last: int | None = None) -> pl.DataFrame:
    """The events with ``first`` <= seq <= ``last`` in sequence order, as text
    (PostgreSQL: COPY, parsed by Polars)."""
    columns = [*trail.ITEMS, "prev_hash", "hash"]
    upper = 2**62 if last is None else last
    if conn.dialect.name == "postgresql":
        buffer = io.BytesIO()
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        query = (
            f"SELECT {', '.join(columns)} FROM audit_event WHERE seq BETWEEN {int(first)} AND {int(upper)} ORDER BY seq"
        )
        with cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
        if buffer.tell() == 0:
            return pl.DataFrame(schema=SCHEMA)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, new_columns=columns, schema=SCHEMA).fill_null(
            ""
        )  # empty text items
    rows = conn.execute(
        select(*(audit_event.c[c] for c in columns))
        .where(audit_event.c.seq.between(first, upper))
        .order_by(audit_event.c.seq)
    ).all()
    return rows_to_frame([[str(v) for v in r] for r in rows], columns, SCHEMA)


def _canonical_column(events: pl.DataFrame) -> pl.Series:
    def esc(name: str) -> pl.Expr:
        return (
            pl.col(name)
            .str.replace_all("\\", "\\\\", literal=True)
            .str.replace_all("\t", "\\t", literal=True)
            .str.replace_all("\n", "\\n", literal=True)
            .str.replace_all("\r", "\\r", literal=True)
        )

    return events.select(pl.concat_str([esc(c) for c in trail.ITEMS], separator="\t").alias("c"))["c"]


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    verified_size: int = 0  # events covered by the last good checkpoint
    problems: list[str] = field(default_factory=list)
    unsigned_events: int = 0  # events after the last checkpoint: not yet protected by a signature
    unsigned_since: str = ""  # the time of the first of them, as a person reads it (JST, +09:00)
    against: int | None = None  # the size of an outside signed tree head the log was proven against

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Segment:
    """One run of events checked on its own: its ends, so runs can be joined, and its leaves."""

    first_seq: int
    last_seq: int
    first_prev: str
    last_hash: str
    leaves: bytes
    problems: list[str]


def check_segment(events: pl.DataFrame) -> Segment:
    """Sequence, links and hashes inside a run of events (the run's first link is checked
    when runs are joined); the leaf hashes (32 bytes each)."""
    leaves = bytearray()
    sha = hashlib.sha256
    problems: list[str] = []
    seqs, prevs, hashes = events["seq"].to_list(), events["prev_hash"].to_list(), events["hash"].to_list()
    canon = _canonical_column(events).to_list()
    prev = prevs[0] if prevs else trail.GENESIS
    expected = int(seqs[0]) if seqs else 1
    for seq_text, prev_hash, text, stored in zip(seqs, prevs, canon, hashes, strict=True):
        seq = int(seq_text)
        if seq != expected:
            problems.append(f"連番 {expected} の次が {seq} です(記録の削除・挿入・並べ替え)")
            expected = seq
        if prev_hash != prev:
            problems.append(f"連番 {seq}: 直前の記録のハッシュと一致しません(削除・挿入・並べ替え)")
        if sha(f"{prev_hash}\t{text}".encode()).hexdigest() != stored:
            problems.append(f"連番 {seq}: 内容がハッシュと一致しません(改ざん)")
        prev = stored
        expected += 1
        leaves += event_leaf(stored)
        if len(problems) > 100:
            problems.append("問題が多いため以降の確認を省略しました")
            break
    return Segment(
        int(seqs[0]) if seqs else 0,
        int(seqs[-1]) if seqs else 0,
        prevs[0] if prevs else trail.GENESIS,
        hashes[-1] if hashes else trail.GENESIS,
        bytes(leaves),
        problems,
    )


SEGMENT = 1_000_000  # events a worker reads and checks at a time
PARALLEL_FROM = 2 * SEGMENT  # below this the log is checked in this process


def _segment_in_worker(url: str, first: int, last: int) -> Segment:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return check_segment(read_events(conn, first, last))
    finally:
        engine.dispose()


def chain(ctx: Context, report: Report) -> bytearray:
    """Check the whole log in runs of ``SEGMENT`` (on PostgreSQL in worker processes, one
    per core), join the runs, and return every leaf hash."""
    with ctx.engine.connect() as conn:
        top = int(conn.execute(select(func.coalesce(func.max(audit_event.c.seq), 0))).scalar_one())
    ranges = [(lo, min(lo + SEGMENT - 1, top)) for lo in range(1, top + 1, SEGMENT)] or [(1, 0)]
    if top >= PARALLEL_FROM and ctx.engine.dialect.name == "postgresql":
        url = ctx.engine.url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(
            max_workers=os.cpu_count() or 2, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            segments = list(pool.map(_segment_in_worker, *zip(*[(url, lo, hi) for lo, hi in ranges], strict=True)))
    else:
        with ctx.engine.connect() as conn:
            segments = [check_segment(read_events(conn, lo, hi)) for lo, hi in ranges]
    leaves = bytearray()
    expected, prev = 1, trail.GENESIS
    for segment in segments:
        if not segment.leaves:
            continue
        if segment.first_seq != expected:
            report.problems.append(f"連番 {expected} の次が {segment.first_seq} です(記録の削除・挿入・並べ替え)")
        if segment.first_prev != prev:
            report.problems.append(
                f"連番 {segment.first_seq}: 直前の記録のハッシュと一致しません(削除・挿入・並べ替え)"
            )
        report.problems.extend(segment.problems)
        expected, prev = segment.last_seq + 1, segment.last_hash
        leaves += segment.leaves
    report.events = len(leaves) // merkle.HASH
    return leaves


def verify(ctx: Context, actor: Actor, against: str | None = None) -> Report:
    """Everything above; with ``against`` (a signed note kept outside the system), also
    that the log today still has, at that note's size, exactly the root it had then."""
    access = guarded(ctx, actor, "audit.read", target="")
    public = public_key(ctx.settings.keys_dir)
    verifier = Ed25519PublicKey.from_public_bytes(public)
    with ctx.engine.connect() as conn:
        checkpoints = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.checkpoint_id)).all()
    report = Report(checkpoints=len(checkpoints))
    levels = merkle.Levels(chain(ctx, report))
    previous: tuple[int, bytes] | None = None
    for cp in checkpoints:
        label = f"チェックポイント {cp.checkpoint_id}(件数 {cp.tree_size:,})"
        try:
            verifier.verify(bytes.fromhex(cp.signature), statement(cp.tree_size, cp.root_hash, cp.at_utc))
        except (InvalidSignature, ValueError):
            report.problems.append(f"{label}: 署名が正しくありません(差し替え・偽造)")
            continue
        if cp.key_id != key_id(public):
            report.problems.append(f"{label}: 署名鍵が異なります")
        if cp.tree_size > levels.size:
            report.problems.append(f"{label}: 記録が {levels.size:,} 件しかありません(削除)")
            continue
        signed_root = bytes.fromhex(cp.root_hash)
        if levels.root(cp.tree_size) != signed_root:
            report.problems.append(
                f"{label}: 記録から求めた Merkle ルートが署名済みのルートと異なります(それまでの記録の改ざん)"
            )
            continue
        if previous is not None:
            old_size, old_root = previous
            proof = levels.consistency_proof(old_size, cp.tree_size) if old_size <= cp.tree_size else []
            if not merkle.verify_consistency(old_size, cp.tree_size, old_root, signed_root, proof):
                report.problems.append(f"{label}: 前のチェックポイント(件数 {old_size:,})と整合しません")
                continue
        previous = (cp.tree_size, signed_root)
        report.verified_size = cp.tree_size
    ids_ = [cp.checkpoint_id for cp in checkpoints]
    if ids_ != list(range(1, len(ids_) + 1)):
        missing = sorted(set(range(1, max(ids_, default=0) + 1)) - set(ids_))
        report.problems.append(
            f"チェックポイント番号 {', '.join(map(str, missing[:10]))} がありません(チェックポイントの削除)"
        )
    last_signed = max((cp.tree_size for cp in checkpoints), default=0)
    report.unsigned_events = max(levels.size - last_signed, 0)
    if report.unsigned_events:
        with ctx.engine.connect() as conn:
            at = conn.execute(select(audit_event.c.at_utc).where(audit_event.c.seq == last_signed + 1)).scalar()
            report.unsigned_since = (
                shown(datetime.fromisoformat(str(at).replace("Z", "+00:00")), seconds=True) if at else ""
            )
    if against is not None:
        try:
            size, root = read_note(ctx, against)
        except NoteError as exc:
            report.problems.append(f"外部保管のチェックポイント: {exc}")
        else:
            report.against = size
            if size > levels.size:
                report.problems.append(
                    f"外部保管のチェックポイントは {size:,} 件を署名していますが、記録は {levels.size:,} 件しかありません(末尾の削除)"
                )
            elif levels.root(size) != root:
                report.problems.append(
                    f"外部保管のチェックポイント(件数 {size:,})のルートと、現在の記録から求めたルートが異なります(改ざん)"
                )
    access.record(
        action="audit.verify",
        rows=report.events,
        outcome="ok" if report.ok else "failed",
        detail=f"checkpoints={report.checkpoints} problems={len(report.problems)}",
    )
    return report


@dataclass(frozen=True)
class Checkpoint:
    checkpoint_id: int
    tree_size: int
    root_hash: str


def checkpoint(ctx: Context, actor: Actor) -> Checkpoint:
    """Sign the Merkle root over every event so far (this request's own event included)."""
    access = guarded(ctx, actor, "audit.checkpoint")
    signed = _sign(ctx, [access.event()], actor)  # the event is part of what it signs
    assert signed is not None
    return signed


def seal_tail(ctx: Context) -> Checkpoint | None:
    """Sign a checkpoint if any event was appended since the last one (None otherwise).
    Every CLI command ends with this, and a long-running server must call it at least once
    a minute, so that a cut or rewritten tail breaks a signed root. Costs O(log n) hashes
    plus reading the new events' hashes. Without the signing key it does nothing."""
    if not (ctx.settings.keys_dir / PRIVATE).exists():
        return None
    return _sign(ctx, [], None)


def _sign(ctx: Context, events: list[trail.Event], actor: Actor | None) -> Checkpoint | None:
    key = _private_key(ctx.settings.keys_dir)
    public = public_key(ctx.settings.keys_dir)
    cp = audit_checkpoint.c
    with ctx.engine.begin() as conn:
        write_lock(conn, trail.LOCK_KEY)  # the appenders' lock: the tail cannot move while it is signed
        if events and actor is not None:
            trail.append(conn, actor, events, ctx.clock())
        last = conn.execute(select(audit_checkpoint).order_by(cp.checkpoint_id.desc()).limit(1)).first()
        frontier, size = (
            ([], 0) if last is None or last.frontier is None else (_frontier(last.frontier), int(last.tree_size))
        )
        hashes = (
            conn.execute(select(audit_event.c.hash).where(audit_event.c.seq > size).order_by(audit_event.c.seq))
            .scalars()
            .all()
        )
        if not hashes and last is not None and last.frontier is not None:
            return None
        frontier, size = merkle.extend_frontier(frontier, size, (event_leaf(h) for h in hashes))
        root = merkle.frontier_root(frontier).hex()
        at = trail.utc_text(ctx.clock())
        cid = (last.checkpoint_id if last else 0) + 1
        conn.execute(
            insert(audit_checkpoint).values(
                checkpoint_id=cid,
                tree_size=size,
                root_hash=root,
                at_utc=at,
                key_id=key_id(public),
                signature=key.sign(statement(size, root, at)).hex(),
                frontier=",".join(h.hex() for h in frontier),
            )
        )
    return Checkpoint(cid, size, root)


def _frontier(text_: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in text_.split(",") if h]


# --- signed tree heads for safekeeping outside the system (C2SP tlog-checkpoint) --------


def origin(ctx: Context) -> str:
    """The log's name in its signed notes (setting ``audit_origin``)."""
    return ctx.setting("audit_origin") or f"shuyaku.pref{ctx.prefecture}.kokuho/access-log"


def note_key_id(name: str, public: bytes) -> bytes:
    """C2SP signed-note key ID of an Ed25519 key: the first 4 bytes of
    SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n\x01" + public).digest()[:4]


def signed_note(ctx: Context, size: int, root_hex: str) -> str:
    """The tree head as a C2SP ``tlog-checkpoint`` signed note: origin, size, base64
    root, a blank line, and one Ed25519 signature line (— name base64(key ID ‖ signature))."""
    name = origin(ctx)
    body = f"{name}\n{size}\n{base64.b64encode(bytes.fromhex(root_hex)).decode('ascii')}\n"
    key = _private_key(ctx.settings.keys_dir)
    public = public_key(ctx.settings.keys_dir)
    signature = base64.b64encode(note_key_id(name, public) + key.sign(body.encode("utf-8"))).decode("ascii")
    return f"{body}\n\u2014 {name} {signature}\n"


def export_head(ctx: Context, actor: Actor, path: Path) -> Checkpoint:
    """Sign a checkpoint and write it as a signed note to ``path`` (kept outside the system)."""
    cp = checkpoint(ctx, actor)
    replace_private(path, signed_note(ctx, cp.tree_size, cp.root_hash).encode("utf-8"))
    return cp


class NoteError(InvalidRequest, ValueError):
    pass


def read_note(ctx: Context, text_: str) -> tuple[int, bytes]:
    """(tree size, root) of a signed note made by this installation's key; NoteError if
    it is malformed, for another log, or its signature does not verify."""
    body, sep, signatures = text_.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not lines[1].isdigit():
        raise NoteError("署名付きチェックポイント(C2SP tlog-checkpoint)の形式ではありません")
    name, public = origin(ctx), public_key(ctx.settings.keys_dir)
    if lines[0] != name:
        raise NoteError(f"別のログのチェックポイントです(origin: {lines[0][:80]})")
    verifier = Ed25519PublicKey.from_public_bytes(public)
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "\u2014" or parts[1] != name:
            continue
        try:
            raw = base64.b64decode(parts[2], validate=True)
            if raw[:4] != note_key_id(name, public):
                continue
            verifier.verify(raw[4:], (body + "\n").encode("utf-8"))
        except (ValueError, InvalidSignature):
            continue
        try:
            return int(lines[1]), base64.b64decode(lines[2], validate=True)
        except ValueError:
            break
    raise NoteError("このシステムの署名鍵による正しい署名がありません")

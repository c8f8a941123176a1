"""The access log: one hash-chained event per access, appended and never changed.

An event records time, actor, role, municipality scope, action, target IDs, purpose, row
count and outcome — never an individual number (``ids.redact`` runs over every text item as
a last guard). ``hash`` = SHA-256 of the previous event's hash, a tab and the event's
canonical text (its items, tab-separated, with ``\\``, tab and newline escaped). Appends are
serialised (``db.locks.write_lock``: a PostgreSQL advisory lock; on SQLite the write lock
itself, taken before the head is read).

Services do not call this module for an access of their own: ``audit.guard.guarded`` asks
the policy and logs the refusal or the access through it.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.db.locks import locked_first
from shuyaku.db.schema import audit_event
from shuyaku.text import without_controls

GENESIS = "0" * 64
GATHER_SECONDS = 0.0005  # how long a flushing thread waits for the others' events when others are waiting
LOCK_KEY = 0x5348_5559_414B_5531  # "SHUYAKU1": the advisory lock of the chain's head
ITEMS = ("seq", "at_utc", "actor", "role", "scope", "action", "target", "purpose", "row_count", "outcome", "detail")


@dataclass(frozen=True)
class Event:
    action: str
    target: str = ""
    purpose: str = ""
    row_count: int = 0
    outcome: str = "ok"
    detail: str = ""


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def canonical(row: dict[str, object]) -> str:
    return "\t".join(escape(str(row[k])) for k in ITEMS)


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256(f"{prev_hash}\t{canonical_text}".encode()).hexdigest()


def scope_of(actor: Actor) -> str:
    return "県全体" if actor.municipalities is None else ",".join(sorted(actor.municipalities))


def _safe(value: str) -> str:
    """Every text item of an event, actor included, passes the one egress redaction: no
    individual number (ASCII or full-width, grouped or not) and no control character is
    ever written into the log, where it could never be removed."""
    return without_controls(ids.redact(value))


def append(conn: Connection, actor: Actor, events: Sequence[Event], now: datetime) -> int:
    """Append events in the caller's transaction; returns the last sequence number."""
    return _append(conn, [(actor, event) for event in events], now)


def _append(conn: Connection, items: Sequence[tuple[Actor, Event]], now: datetime) -> int:
    if not items:
        return 0
    # The lock before the head is read: two writers never take the same seq.
    head = locked_first(
        conn, LOCK_KEY, select(audit_event.c.seq, audit_event.c.hash).order_by(audit_event.c.seq.desc()).limit(1)
    )
    seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
    at = utc_text(now)
    rows = []
    for actor, event in items:
        seq += 1
        row: dict[str, object] = {
            "seq": seq,
            "at_utc": at,
            "actor": _safe(actor.login_id)[:32],
            "role": actor.role,
            "scope": scope_of(actor),
            "action": event.action,
            "target": _safe(event.target),
            "purpose": _safe(event.purpose),
            "row_count": int(event.row_count),
            "outcome": event.outcome,
            "detail": _safe(event.detail),
        }
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, canonical(row))
        rows.append(row)
    conn.execute(insert(audit_event), rows)
    return seq


class _GroupCommit:
    """Events recorded at the same moment by several threads (requests) share one
    transaction: one thread at a time writes everything pending; the others wait on a
    condition, and every caller returns only once its own events are committed (or with the
    error that stopped them)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Actor, Event, list[object]]] = []
        self.cv = threading.Condition()
        self.flushing = False
        self.callers = 0  # threads inside record(): more than one means a batch is worth gathering

    def record(self, ctx: Context, actor: Actor, events: Sequence[Event]) -> None:
        slots: list[list[object]] = [[] for _ in events]
        with self.cv:
            self.pending.extend((actor, event, slot) for event, slot in zip(events, slots, strict=True))
            self.callers += 1
        try:
            while True:
                with self.cv:
                    if all(slots):
                        break
                    if self.flushing:
                        self.cv.wait()
                        continue
                    self.flushing = True
                    others = self.callers > 1
                if others:
                    time.sleep(GATHER_SECONDS)  # a transaction costs far more than this wait
                with self.cv:
                    batch, self.pending = self.pending, []
                outcome: object = True
                try:
                    with ctx.engine.begin() as conn:
                        _append(conn, [(a, e) for a, e, _ in batch], ctx.clock())
                except Exception as exc:  # noqa: BLE001 — every waiter of this batch learns of it
                    outcome = exc
                with self.cv:
                    for _, _, slot in batch:
                        slot.append(outcome)
                    self.flushing = False
                    self.cv.notify_all()
        finally:
            with self.cv:
                self.callers -= 1
        for slot in slots:
            if isinstance(slot[0], Exception):
                raise slot[0]


_GROUPS: weakref.WeakKeyDictionary[Engine, _GroupCommit] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def record(ctx: Context, actor: Actor, *events: Event) -> None:
    """Append in a transaction of its own (reads, refusals, failures), shared with the
    events other threads record at the same moment in the same database."""
    with _GROUPS_LOCK:
        group = _GROUPS.setdefault(ctx.engine, _GroupCommit())
    group.record(ctx, actor, events)

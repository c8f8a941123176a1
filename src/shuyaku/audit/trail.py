"""The access log: one hash-chained event per access, appended and never changed.

An event records time, actor, role, municipality scope, action, target IDs, purpose, row
count and outcome — never an individual number (``ids.redact`` runs over every text item as
a last guard). ``hash`` = SHA-256 of the previous event's hash, a tab and the event's
canonical text (its items, tab-separated, with ``\\``, tab and newline escaped). Appends are
serialised (PostgreSQL: a transaction-level advisory lock; SQLite has one writer).

``require`` is how a service asks the access policy: an allowed call goes on, a refused one
is logged (outcome ``denied``) and raises ``AccessDenied``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, text

from shuyaku import ids
from shuyaku.access import policy
from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.context import Context
from shuyaku.db.schema import audit_event

GENESIS = "0" * 64
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


def append(conn: Connection, actor: Actor, events: Sequence[Event], now: datetime) -> int:
    """Append events in the caller's transaction; returns the last sequence number."""
    if not events:
        return 0
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    head = conn.execute(select(audit_event.c.seq, audit_event.c.hash).order_by(audit_event.c.seq.desc()).limit(1)).first()
    seq, prev = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    at = utc_text(now)
    rows = []
    for event in events:
        seq += 1
        row: dict[str, object] = {
            "seq": seq, "at_utc": at, "actor": actor.login_id, "role": actor.role, "scope": scope_of(actor),
            "action": event.action, "target": ids.redact(event.target), "purpose": ids.redact(event.purpose),
            "row_count": int(event.row_count), "outcome": event.outcome, "detail": ids.redact(event.detail),
        }
        row["prev_hash"] = prev
        row["hash"] = prev = chain_hash(prev, canonical(row))
        rows.append(row)
    conn.execute(insert(audit_event), rows)
    return seq


def record(ctx: Context, actor: Actor, *events: Event) -> None:
    """Append in a transaction of its own (reads, refusals, failures)."""
    with ctx.engine.begin() as conn:
        append(conn, actor, events, ctx.clock())


def require(ctx: Context, actor: Actor, operation: str, municipality_code: str | None = None, target: str = "") -> policy.Operation:
    """Ask the policy; a refusal is logged before it is raised."""
    try:
        return policy.check(actor, operation, municipality_code)
    except AccessDenied as exc:
        record(ctx, actor, Event(operation, target or (municipality_code or ""), outcome="denied", detail=str(exc)))
        raise


def purpose_of(operation: str) -> str:
    return policy.OPERATIONS[operation].label

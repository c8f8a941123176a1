"""The one guarded access path: ask the policy, then log the refusal or the access.

Every service function that touches personal data (or anything the policy names) starts
with ``guarded``::

    with guarded(ctx, actor, "person.read", municipality_code, target=...) as access:
        rows = ...
        access.done(rows=len(rows))          # a read: logged in its own transaction on exit

    with guarded(ctx, actor, "tasuukai.run") as access, ctx.engine.begin() as conn:
        summary = store(conn, month, now)
        access.log(conn, rows=summary.changed)  # a write: logged in the data's transaction

A refusal is logged (outcome ``denied``) before ``AccessDenied`` is raised; an access is
logged with the operation's purpose (its 業務 label) and the rows it returned or changed.
A block left by an error logs nothing: nothing was returned or changed. The CLI and the web
call the same service functions and hold no rule, scope filter or role check of their own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sqlalchemy import Connection

from shuyaku.access import policy
from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit import trail
from shuyaku.context import Context
from shuyaku.errors import NotFoundError


@dataclass
class Access:
    """A permitted access: what it was, and what it has returned or changed so far."""

    ctx: Context
    actor: Actor
    operation: str
    op: policy.Operation
    municipality: str | None = None
    target: str = ""
    rows: int = 0
    detail: str = ""
    action: str | None = None  # logged action when it differs from the operation (continuity.confirmed)
    logged: bool = field(default=False, init=False)

    @property
    def purpose(self) -> str:
        return self.op.label

    @property
    def scope(self) -> frozenset[str] | None:
        """The municipalities this access may see (None: the whole prefecture)."""
        if self.municipality is not None:
            return frozenset({self.municipality})
        return self.actor.municipalities

    def done(
        self,
        *,
        rows: int | None = None,
        target: str | None = None,
        detail: str | None = None,
        action: str | None = None,
    ) -> None:
        """Say what the access returned; it is logged when the ``with`` block ends."""
        if rows is not None:
            self.rows = rows
        if target is not None:
            self.target = target
        if detail is not None:
            self.detail = detail
        if action is not None:
            self.action = action

    def event(self, outcome: str = "ok") -> trail.Event:
        return trail.Event(
            self.action or self.operation,
            target=self.target,
            purpose=self.purpose,
            row_count=self.rows,
            outcome=outcome,
            detail=self.detail,
        )

    def log(self, conn: Connection, *, outcome: str = "ok", **said: Any) -> None:
        """Append the access event in the caller's transaction: it commits with the data.
        ``said``: what ``done`` takes (rows, target, detail, action)."""
        self.done(**said)
        trail.append(conn, self.actor, [self.event(outcome)], self.ctx.clock())
        self.logged = True

    def log_each(self, conn: Connection, targets: list[str], *, detail: str = "") -> None:
        """One event per target (each erasure of a number, say), in the caller's transaction."""
        self.done(rows=1, detail=detail)
        events = [dataclasses.replace(self.event(), target=t) for t in targets]
        trail.append(conn, self.actor, events, self.ctx.clock())
        self.logged = True

    def record(self, *, outcome: str = "ok", **said: Any) -> None:
        """Log the access now, in a transaction of its own (a read whose result is ready)."""
        self.done(**said)
        trail.record(self.ctx, self.actor, self.event(outcome))
        self.logged = True

    def __enter__(self) -> Access:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None and not self.logged:
            self.record()


def guarded(
    ctx: Context,
    actor: Actor,
    operation: str,
    municipality_code: str | None = None,
    *,
    target: str = "",
    conceal: str | None = None,
) -> Access:
    """Ask the policy. Refused: the refusal is logged and ``AccessDenied`` raised. Allowed:
    an ``Access`` to use as a context manager (logged on a clean exit, or earlier with
    ``log`` inside a write transaction).

    ``conceal``: for a thing looked up by its ID (a file, a household), the message of a
    ``NotFoundError`` raised instead when the actor may do the operation but not for that
    thing's municipality — another municipality's things do not exist for them, and the
    attempt is logged all the same."""
    op = require(ctx, actor, operation, municipality_code, target=target, conceal=conceal)
    return Access(ctx, actor, operation, op, municipality_code, target)


def require(
    ctx: Context,
    actor: Actor,
    operation: str,
    municipality_code: str | None = None,
    *,
    target: str = "",
    conceal: str | None = None,
) -> policy.Operation:
    """Ask the policy only; a refusal is logged before it is raised. For a check made
    before work whose own access is logged by ``guarded`` (ingest checks the caller once
    per run, then each file)."""
    try:
        return policy.check(actor, operation, municipality_code)
    except AccessDenied as exc:
        trail.record(
            ctx, actor, trail.Event(operation, target or (municipality_code or ""), outcome="denied", detail=str(exc))
        )
        if conceal is not None and actor.role in policy.OPERATIONS[operation].roles:
            raise Concealed(conceal) from None
        raise


class Concealed(NotFoundError, LookupError):
    """Another municipality's thing, answered as if it did not exist (the attempt is logged)."""

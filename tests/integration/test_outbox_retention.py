"""Return files leave the federation's outbox `outbox_retention_days` after delivery (their
first fetch over the API; a file never fetched, after its release); the ledger keeps them."""

from __future__ import annotations

from datetime import date

import pytest

from shuyaku.db.schema import audit_event, outbound_file
from shuyaku.errors import NotFoundError
from shuyaku.ingest import returns
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, rows


def test_a_delivered_file_is_purged_after_its_retention_and_not_before(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    ingest(ctx, exchange_file("SKKS", [skks("3000000001", muni=MUNI_B, individual_number=number(2))], muni=MUNI_B))
    [fetched] = returns.prepare(ctx, OPERATOR, MUNI_A, "IDTB").written  # 27 November 2026 (the test clock)
    [waiting] = returns.prepare(ctx, OPERATOR, MUNI_B, "IDTB").written
    [row_a] = rows(ctx, outbound_file, outbound_file.c.filename == fetched.name)
    returns.fetch(ctx, OPERATOR, row_a.outbound_id)
    ctx.clock.advance(days=5)  # type: ignore[attr-defined]
    [row_b] = rows(ctx, outbound_file, outbound_file.c.filename == waiting.name)

    assert returns.purge_delivered(ctx, OPERATOR, date(2026, 12, 26)) == 0  # 29 days: kept
    assert fetched.exists() and waiting.exists()
    assert returns.purge_delivered(ctx, OPERATOR, date(2026, 12, 28)) == 2  # 31 days after delivery
    assert not fetched.exists() and not waiting.exists()
    assert all(r.purged_at is not None for r in rows(ctx, outbound_file, outbound_file.c.kind == "IDTB"))
    with pytest.raises(NotFoundError, match="保存期間"):
        returns.fetch(ctx, OPERATOR, row_b.outbound_id)
    events = rows(ctx, audit_event, audit_event.c.action == "outbox.purge")
    assert [e.row_count for e in events] == [0, 2]


def test_a_file_left_behind_by_a_cut_run_is_removed_by_the_next(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    [made] = returns.prepare(ctx, OPERATOR, MUNI_A, "IDTB").written
    with ctx.engine.begin() as conn:  # as if the run stopped after its commit, before deleting
        conn.execute(update(outbound_file).values(purged_at=ctx.clock()))
    assert made.exists()
    assert returns.purge_delivered(ctx, OPERATOR, date(2026, 11, 28)) == 0
    assert not made.exists()

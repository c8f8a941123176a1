"""Events recorded by many threads at once: all committed, one chain, nothing lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.verify import verify


def test_concurrent_records_share_transactions_and_keep_one_sound_chain(ctx) -> None:  # type: ignore[no-untyped-def]
    def work(n: int) -> None:
        for i in range(25):
            trail.record(ctx, Actor(f"user{n}", "federation_operator"), trail.Event("person.read", target=f"{n}-{i}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))
    report = verify(ctx, Actor("aud", "auditor"))
    assert report.ok and report.events == 2 + 8 * 25  # the two municipalities registered by the fixture, then ours
    from sqlalchemy import func, select

    from shuyaku.db.schema import audit_event

    with ctx.engine.connect() as conn:
        targets = set(conn.execute(select(audit_event.c.target).where(audit_event.c.action == "person.read")).scalars())
        assert (
            conn.execute(select(func.count()).select_from(audit_event)).scalar_one() == 2 + 8 * 25 + 1
        )  # and verify logs itself after reading
    assert targets == {f"{n}-{i}" for n in range(8) for i in range(25)}

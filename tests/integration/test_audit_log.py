"""The access log: what is recorded, and that every kind of tampering is found.

Tampering is done as a database owner would: the append-only triggers are dropped first
(the application itself cannot change a row — see the trigger and role tests).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit import trail
from shuyaku.audit.verify import checkpoint, verify
from shuyaku.context import Context
from shuyaku.db.schema import audit_checkpoint, audit_event
from shuyaku.ingest.returns import export
from shuyaku.qualification.service import lookup_person
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest

AUDITOR = Actor("audit-1", "auditor")
CLERK_B = Actor("clerk-b", "municipal_clerk", frozenset({MUNI_B}))


def _activity(ctx: Context, tmp_path: Any) -> None:
    ingest(
        ctx,
        exchange_file(
            "SKKS",
            [
                skks("1000000001", individual_number=number(1)),
                skks("1000000002", individual_number=number(2), head=False),
            ],
        ),
    )
    lookup_person(ctx, OPERATOR, MUNI_A, "1000000001")
    export(ctx, OPERATOR, MUNI_A, "IDTB", tmp_path)
    with pytest.raises(AccessDenied):
        lookup_person(ctx, CLERK_B, MUNI_A, "1000000001")


def events(ctx: Context) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(audit_event).order_by(audit_event.c.seq)).all())


def test_reads_writes_exports_and_refusals_are_logged_with_who_what_and_why(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _activity(ctx, tmp_path)
    logged = [(e.actor, e.role, e.action, e.outcome) for e in events(ctx)]
    assert ("op-test", "federation_operator", "ingest", "ok") in logged
    assert ("op-test", "federation_operator", "person.read", "ok") in logged
    assert ("op-test", "federation_operator", "export", "ok") in logged
    assert ("clerk-b", "municipal_clerk", "person.read", "denied") in logged
    read = next(e for e in events(ctx) if e.action == "person.read" and e.outcome == "ok")
    assert read.purpose == "被保険者の照会" and read.row_count == 1 and "宛名番号 1000000001" in read.target
    assert read.target.startswith("11") and read.scope == "県全体"
    denied = next(e for e in events(ctx) if e.outcome == "denied")
    assert denied.scope == MUNI_B and MUNI_A in denied.detail
    text_ = " ".join(" ".join(map(str, e)) for e in events(ctx))
    assert number(1) not in text_ and number(2) not in text_
    assert verify(ctx, AUDITOR).ok


def _unguard(ctx: Context) -> None:
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
        else:
            for name in (
                "audit_event_no_update",
                "audit_event_no_delete",
                "audit_checkpoint_no_update",
                "audit_checkpoint_no_delete",
            ):
                conn.execute(text(f"DROP TRIGGER {name}"))


def _logged_and_checkpointed(ctx: Context, tmp_path: Any) -> None:
    _activity(ctx, tmp_path)
    checkpoint(ctx, OPERATOR)
    lookup_person(ctx, OPERATOR, MUNI_A, "1000000002")
    checkpoint(ctx, OPERATOR)
    lookup_person(ctx, OPERATOR, MUNI_A, "1000000001")
    assert verify(ctx, AUDITOR).ok
    _unguard(ctx)


def _problems(ctx: Context) -> list[str]:
    report = verify(ctx, AUDITOR)
    assert not report.ok
    return report.problems


def _rechain(ctx: Context, from_seq: int) -> None:
    """What a careful attacker does after an edit: recompute every later hash."""
    rows = [dict(r._mapping) for r in events(ctx)]
    prev = rows[from_seq - 2]["hash"] if from_seq > 1 else trail.GENESIS
    with ctx.engine.begin() as conn:
        for row in rows[from_seq - 1 :]:
            new = trail.chain_hash(prev, trail.canonical(row))
            conn.execute(update(audit_event).where(audit_event.c.seq == row["seq"]).values(prev_hash=prev, hash=new))
            prev = new


def test_an_edited_event_is_found(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(update(audit_event).where(audit_event.c.seq == 3).values(actor="someone-else"))
    assert any(p.startswith("連番 3: 内容がハッシュと一致しません") for p in _problems(ctx))


def test_an_edit_with_the_chain_recomputed_is_found_by_the_signed_roots(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(update(audit_event).where(audit_event.c.seq == 3).values(target="nothing to see"))
    _rechain(ctx, 3)
    problems = _problems(ctx)
    assert not any("ハッシュと一致しません" in p for p in problems)  # the chain itself now looks sound
    assert any("Merkle ルートが署名済みのルートと異なります" in p for p in problems)


def test_a_deleted_event_is_found(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    with ctx.engine.begin() as conn:
        conn.execute(audit_event.delete().where(audit_event.c.seq == 4))
    problems = _problems(ctx)
    assert any("連番 4 の次が 5" in p for p in problems) and any(p.startswith("連番 5: 直前の記録") for p in problems)


def test_the_last_events_deleted_are_found_by_the_checkpoint(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    [last_checkpoint] = [r for r in events(ctx) if r.action == "audit.checkpoint"][-1:]
    with ctx.engine.begin() as conn:
        conn.execute(audit_event.delete().where(audit_event.c.seq >= last_checkpoint.seq - 1))
    assert any("記録が" in p and "しかありません(削除)" in p for p in _problems(ctx))


def test_reordered_events_are_found(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    rows = {r.seq: dict(r._mapping) for r in events(ctx)}
    with ctx.engine.begin() as conn:
        for a, b in ((4, 5), (5, 4)):
            moved = {k: v for k, v in rows[b].items() if k != "seq"}
            conn.execute(update(audit_event).where(audit_event.c.seq == a).values(**moved))
    assert any(p.startswith("連番 4: 直前の記録") for p in _problems(ctx))


def test_an_inserted_event_is_found_even_with_the_chain_recomputed(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    rows = [dict(r._mapping) for r in events(ctx)]
    with ctx.engine.begin() as conn:
        for row in reversed(rows[2:]):  # make room at 3
            conn.execute(update(audit_event).where(audit_event.c.seq == row["seq"]).values(seq=row["seq"] + 1))
        forged = {**rows[2], "seq": 3, "actor": "op-test", "action": "person.read", "target": "an alibi"}
        conn.execute(insert(audit_event).values(**forged))
    _rechain(ctx, 3)
    problems = _problems(ctx)
    assert any("Merkle ルートが署名済みのルートと異なります" in p for p in problems)


def test_a_replaced_or_forged_checkpoint_is_found(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _logged_and_checkpointed(ctx, tmp_path)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shuyaku.audit.verify import statement

    with ctx.engine.begin() as conn:
        first = conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.checkpoint_id)).first()
        assert first is not None
        # A root over a shorter log, signed with a key that is not the installation's.
        fake_root = "ab" * 32
        sig = Ed25519PrivateKey.generate().sign(statement(first.tree_size, fake_root, first.at_utc)).hex()
        conn.execute(
            update(audit_checkpoint)
            .where(audit_checkpoint.c.checkpoint_id == 1)
            .values(root_hash=fake_root, signature=sig)
        )
    assert any(p.startswith("チェックポイント 1") and "署名が正しくありません" in p for p in _problems(ctx))


def test_the_application_cannot_update_or_delete_the_log(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _activity(ctx, tmp_path)
    for statement_ in (update(audit_event).where(audit_event.c.seq == 1).values(actor="x"), audit_event.delete()):
        with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
            conn.execute(statement_)
    assert verify(ctx, AUDITOR).ok


def test_on_postgresql_the_application_role_may_insert_but_not_update_delete_or_truncate(
    ctx, tmp_path, database_url
) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.db.roles import grant_app_role

    if not database_url.startswith("postgresql"):  # SQLite has no roles: the triggers above are its guard
        with pytest.raises(ValueError, match="PostgreSQL"):
            grant_app_role(ctx.engine, "shuyaku_app_test")
        return

    _activity(ctx, tmp_path)
    grant_app_role(ctx.engine, "shuyaku_app_test")
    with ctx.engine.begin() as conn:
        conn.execute(text("SET LOCAL ROLE shuyaku_app_test"))
        trail.append(conn, OPERATOR, [trail.Event("person.read", target="as the application role")], ctx.clock())
        assert conn.execute(text("SELECT count(*) FROM qualification_period")).scalar_one() == 2  # business tables: yes
    _unguard(ctx)  # not even with the triggers gone: the role itself has no right
    for sql in (
        "UPDATE audit_event SET actor = 'x'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE audit_checkpoint SET root_hash = 'x'",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), ctx.engine.begin() as conn:
            conn.execute(text("SET LOCAL ROLE shuyaku_app_test"))
            conn.execute(text(sql))
    assert verify(ctx, AUDITOR).ok


def test_no_individual_number_in_the_log_after_a_full_synthetic_run(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.ingest.service import ingest_paths
    from shuyaku.setup import add_municipality
    from shuyaku.synth.prefecture import SyntheticPrefecture

    world = SyntheticPrefecture(prefecture="11", municipalities=2, persons=300, seed=3)
    for m in world.municipalities:
        add_municipality(ctx, OPERATOR, m.code, m.name, m.insurer_number, m.encoding)
    world.write_full(tmp_path / "in")
    world.write_hits(tmp_path / "in", "202609")
    world.write_day(tmp_path / "in", 20)
    ingest_paths(ctx, OPERATOR, [tmp_path / "in"])
    for m in world.municipalities:
        for kind in ("KKKK", "IDTB", "KZKH"):
            export(ctx, OPERATOR, m.code, kind, tmp_path / "out")
    person = world.households[0].members[0]
    lookup_person(ctx, OPERATOR, person.municipality.code, person.atena_no)
    logged = "\n".join("\t".join(map(str, e)) for e in events(ctx))
    assert len(events(ctx)) > 10
    assert [n for n in world.used_numbers if n in logged] == []


def test_status_warns_when_the_log_passes_its_configured_size(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.setup import change_setting
    from shuyaku.status import status

    _activity(ctx, tmp_path)
    quiet = status(ctx, OPERATOR)
    assert quiet.audit_events >= 5 and quiet.audit_bytes > 0 and quiet.warnings == []
    change_setting(ctx, Actor("adm", "admin"), "audit_warn_bytes", "100")
    loud = status(ctx, OPERATOR)
    assert len(loud.warnings) == 1 and "アクセス記録の容量" in loud.warnings[0]


def test_verification_in_runs_and_worker_processes_joins_the_runs_and_still_finds_a_deletion(
    ctx, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.audit import verify as verifying

    monkeypatch.setattr(verifying, "SEGMENT", 3)
    monkeypatch.setattr(verifying, "PARALLEL_FROM", 6)  # PostgreSQL: worker processes from 6 events on
    _logged_and_checkpointed(ctx, tmp_path)
    assert verify(ctx, AUDITOR).ok
    with ctx.engine.begin() as conn:
        conn.execute(audit_event.delete().where(audit_event.c.seq == 7))  # the first of a run
    problems = _problems(ctx)
    assert any("連番 7 の次が 8" in p for p in problems) and any(p.startswith("連番 8: 直前の記録") for p in problems)

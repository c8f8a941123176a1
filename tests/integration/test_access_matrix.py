"""Every role against every operation, for its own municipality and another one, through
the real service functions. Allowed means the service did not refuse (it may still fail
for a reason of its own); every refusal is in the access log as ``denied``.

The expected table is written out here, separately from ``access/policy.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shuyaku import accounts
from shuyaku.access import policy
from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit.guard import Concealed
from shuyaku.audit.verify import checkpoint, verify
from shuyaku.backup import backup
from shuyaku.context import Context
from shuyaku.db.schema import audit_event, ingest_result
from shuyaku.exchange.retention import purge_expired
from shuyaku.ingest.returns import export, purge_delivered
from shuyaku.ingest.service import inbox
from shuyaku.kogaku import tasuukai
from shuyaku.kogaku.service import run_month
from shuyaku.kogaku.service import runs as kogaku_runs
from shuyaku.qualification.erasure import purge_numbers
from shuyaku.qualification.service import check_number, lookup_person
from shuyaku.register import service as register
from shuyaku.reports import service as reports
from shuyaku.review import continuity, quarantine
from shuyaku.setup import add_municipality, change_setting, rotate_index_key
from shuyaku.status import status
from tests.builders import MUNI_A, MUNI_B, exchange_file, kggt, kggt_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, rows

ROLES = {
    "municipal_clerk": Actor("m-clerk", "municipal_clerk", frozenset({MUNI_A})),
    "municipal_supervisor": Actor("m-super", "municipal_supervisor", frozenset({MUNI_A})),
    "municipal_system": Actor("m-sys", "municipal_system", frozenset({MUNI_A})),
    "federation_operator": Actor("f-op", "federation_operator"),
    "auditor": Actor("aud", "auditor"),
    "admin": Actor("adm", "admin"),
    "register_clerk": Actor("reg", "register_clerk"),
    "department_staff": Actor("dept", "department_staff", unit="kokuho"),
}
C, S, SY, OP, AU, AD, RC, DS = (
    "municipal_clerk",
    "municipal_supervisor",
    "municipal_system",
    "federation_operator",
    "auditor",
    "admin",
    "register_clerk",
    "department_staff",
)
# operation → roles allowed for municipality A (the municipal roles' own) and for B (another one).
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "ingest": ({OP, SY}, {OP}),
    "export": ({OP, C, S, SY}, {OP}),
    "person.read": ({OP, C, S, SY}, {OP}),
    "person.check_number": ({OP, C, S, SY}, {OP}),
    "continuity.read": ({OP, C, S, SY}, {OP}),
    "continuity.decide": ({OP, S}, {OP}),
    "tasuukai.explain": ({OP, C, S, SY}, {OP}),
    "inbox.read": ({OP, C, S, SY}, {OP}),
    "quarantine.read": ({OP, C, S}, {OP}),
    "quarantine.review": ({OP, C, S}, {OP}),
    "kogaku.read": ({OP, C, S}, {OP}),
    "tasuukai.run": ({OP}, {OP}),
    "kogaku.run": ({OP}, {OP}),
    "status": ({OP, C, S, AU, AD}, {OP, C, S, AU, AD}),
    "vault.rotate": ({OP}, {OP}),
    "vault.purge": ({OP}, {OP}),
    "archive.purge": ({OP}, {OP}),
    "outbox.purge": ({OP}, {OP}),
    "municipality.manage": ({OP, AD}, {OP, AD}),
    "setting.change": ({AD}, {AD}),
    "user.manage": ({AD}, {AD}),
    "token.manage": ({AD}, {AD}),
    "user.read": ({AD, AU}, {AD, AU}),
    "audit.read": ({AU, AD}, {AU, AD}),
    "audit.checkpoint": ({OP, AD, AU}, {OP, AD, AU}),
    "report.permissions": ({AU, AD}, {AU, AD}),
    "report.access_review": ({AU}, {AU}),
    "report.erasures": ({AU, AD}, {AU, AD}),
    "backup": ({OP, AD}, {OP, AD}),
    "register.read": ({RC, AU, DS}, {RC, AU, DS}),
    "register.edit": ({RC}, {RC}),
}


def _world(ctx: Context) -> dict[str, str]:
    """A person and a household in A and in B."""
    households = {}
    for muni, atena, seed in ((MUNI_A, "1000000001", 1), (MUNI_B, "3000000001", 2)):
        ingest(ctx, exchange_file("SKKS", [skks(atena, muni=muni, individual_number=number(seed))], muni=muni))
        ingest(ctx, kggt_file([kggt("2000000001", "202609", muni=muni)], muni=muni))
        from shuyaku.db.schema import household_key

        [key] = rows(ctx, household_key, household_key.c.municipality_code == muni)
        households[muni] = key.pref_household_id
        # A file with one record quarantined (the rest applied), for the review.
        first = 5000000000 if muni == MUNI_A else 6000000000
        sent = [skks(str(first + i), muni=muni, individual_number=number(seed * 100 + i)) for i in range(30)]
        sent.append(skks(str(first + 99), muni=muni, individual_number=number(seed * 100 + 99), birth="20261399"))
        ingest(ctx, exchange_file("SKKS", sent, muni=muni, seq=2))
        [bad] = rows(ctx, ingest_result, ingest_result.c.record_key == str(first + 99))
        households[f"quarantined {muni}"] = str(bad.result_id)
    return households


def _calls(ctx: Context, tmp: Path, households: dict[str, str], muni: str) -> dict[str, Callable[[Actor], Any]]:
    atena = "1000000001" if muni == MUNI_A else "3000000001"
    counter = iter(range(1000))
    return {
        "ingest": lambda a: ingest_as(ctx, a, muni),
        "export": lambda a: export(ctx, a, muni, "IDTB", tmp / "out"),
        "person.read": lambda a: lookup_person(ctx, a, muni, atena),
        "person.check_number": lambda a: check_number(ctx, a, muni, atena, number(1), "資格確認"),
        "inbox.read": lambda a: inbox(ctx, a, municipality_code=muni),
        "quarantine.read": lambda a: quarantine.quarantined(ctx, a, muni),
        "quarantine.review": lambda a: quarantine.review(
            ctx, a, int(households[f"quarantined {muni}"]), "resent", "連番 3 で再送"
        ),
        "kogaku.read": lambda a: kogaku_runs(ctx, a, muni),
        "continuity.read": lambda a: continuity.list_candidates(ctx, a, municipality_code=muni),
        "continuity.decide": lambda a: continuity.confirm_all_proposed(ctx, a, muni),
        "tasuukai.explain": lambda a: tasuukai.explain(ctx, a, households[muni], "202610"),
        "tasuukai.run": lambda a: tasuukai.run_month(ctx, a, "202610"),
        "kogaku.run": lambda a: run_month(ctx, a, "202609", tmp / "kogaku"),
        "status": lambda a: status(ctx, a),
        "vault.rotate": lambda a: rotate_index_key(ctx, a),
        "vault.purge": lambda a: purge_numbers(ctx, a, date(2026, 11, 28), dry_run=True),
        "archive.purge": lambda a: purge_expired(ctx, a, date(2026, 11, 27)),
        "outbox.purge": lambda a: purge_delivered(ctx, a, date(2026, 11, 27)),
        "municipality.manage": lambda a: add_municipality(ctx, a, "111112", "試験村", "111112"),
        "setting.change": lambda a: change_setting(ctx, a, "continuity_auto_confirm_k1", "1"),
        "user.manage": lambda a: accounts.add_user(
            ctx, a, f"new-{next(counter)}", "新人 職員", "架空市", "municipal_clerk", [MUNI_A]
        ),
        "token.manage": lambda a: accounts.create_token(ctx, a, "sys-a"),
        "user.read": lambda a: accounts.list_users(ctx, a),
        "audit.read": lambda a: verify(ctx, a),
        "audit.checkpoint": lambda a: checkpoint(ctx, a),
        "report.permissions": lambda a: reports.permissions(
            ctx, a, date(2026, 11, 1), date(2026, 11, 30), csv_path=tmp / "p.csv"
        ),
        "report.access_review": lambda a: reports.access_review(
            ctx, a, date(2026, 11, 1), date(2026, 11, 30), csv_path=tmp / "r.csv"
        ),
        "report.erasures": lambda a: reports.erasures(
            ctx, a, date(2026, 11, 1), date(2026, 11, 30), csv_path=tmp / "e.csv"
        ),
        # Into a folder that is not empty: an allowed role gets past the policy and is then
        # refused for the folder (nothing is copied).
        "backup": lambda a: backup(ctx, a, _occupied(tmp)),
        "register.read": lambda a: register.entries(ctx, a),
        "register.edit": lambda a: register.add_unit(ctx, a, f"unit-{next(counter)}", "架空課", date(2026, 4, 1)),
    }


def _occupied(tmp: Path) -> Path:
    folder = tmp / "occupied"
    folder.mkdir(exist_ok=True)
    (folder / "something").write_text("x")
    return folder


def ingest_as(ctx: Context, actor: Actor, muni: str) -> Any:
    from shuyaku.ingest.inbound import ingest_bytes

    return ingest_bytes(ctx, actor, exchange_file("SKKS", [], muni=muni, seq=99), f"{actor.login_id}.csv")


def test_every_role_against_every_operation_and_municipality(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    households = _world(ctx)
    accounts.add_user(ctx, ROLES["admin"], "sys-a", "架空市 国保システム", "架空市", "municipal_system", [MUNI_A])
    assert set(EXPECTED) == set(_calls(ctx, tmp_path, households, MUNI_A)) == set(policy.OPERATIONS)
    found: dict[tuple[str, str, str], bool] = {}
    for muni in (MUNI_A, MUNI_B):
        calls = _calls(ctx, tmp_path, households, muni)
        for operation, call in calls.items():
            for role, actor in ROLES.items():
                try:
                    call(actor)
                    allowed = True
                except (AccessDenied, Concealed):  # refused; another municipality's thing "does not exist"
                    allowed = False
                except Exception:  # noqa: BLE001 — allowed, then failed for its own reason
                    allowed = True
                found[(operation, role, muni)] = allowed
    expected = {
        (op, role, muni): role in EXPECTED[op][col]
        for op in EXPECTED
        for role in ROLES
        for muni, col in ((MUNI_A, 0), (MUNI_B, 1))
    }
    wrong = sorted(k for k in expected if expected[k] != found[k])
    assert wrong == [], f"(operation, role, municipality) allowed ≠ expected: {wrong}"
    with ctx.engine.connect() as conn:
        denied = conn.execute(
            select(audit_event.c.actor, audit_event.c.action).where(audit_event.c.outcome == "denied")
        ).all()
    assert len(denied) == sum(not allowed for allowed in found.values())


@pytest.mark.parametrize("role", [C, S])
def test_a_municipal_role_sees_only_its_municipalitys_candidates_without_naming_one(ctx, role: str) -> None:  # type: ignore[no-untyped-def]
    _world(ctx)
    assert all(c.to_municipality_code == MUNI_A for c in continuity.list_candidates(ctx, ROLES[role]))
    with pytest.raises(AccessDenied):
        tasuukai.run_month(ctx, ROLES[role], "202610")
    assert OPERATOR.role == OP

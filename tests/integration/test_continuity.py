"""Household continuity and the 多数回 count, scenario by scenario (continuity.md, kogaku.md).

A household lives in municipality A (架空市) with hit months reported in KGGT, then
moves, splits or merges; the count for a later month in the new household is what the
rules say, and only confirmed candidates carry months across.
"""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import func, insert, select

from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit.guard import Concealed
from shuyaku.config import Settings
from shuyaku.context import Context, open_context
from shuyaku.db.schema import audit_event, continuity_candidate, continuity_pending, setting, tasuukai_count
from shuyaku.ingest.returns import export
from shuyaku.ingest.service import ingest_paths
from shuyaku.kogaku import tasuukai
from shuyaku.review import continuity
from shuyaku.setup import add_municipality, init
from tests.builders import (
    INSURER_A,
    INSURER_B,
    MUNI_A,
    MUNI_B,
    exchange_file,
    kggt,
    kggt_file,
    number,
    skks,
)
from tests.conftest import OPERATOR, Clock, _reset_postgres
from tests.integration.helpers import AtOnce, ingest, person_id, recount_changes, results, rows

SINCE = {"change_date": "20250101", "qualified_from": "20250101", "applied_from": "20250101"}
MOVE = "20260410"
HEAD, SPOUSE = "1000000001", "1000000002"
HOME = "2000000001"  # the household's 世帯番号 in A
NEW_HOME = "4000000001"  # its 世帯番号 in B
SUPERVISOR_B = Actor("sv-b", "municipal_supervisor", frozenset({MUNI_B}))
SUPERVISOR_A = Actor("sv-a", "municipal_supervisor", frozenset({MUNI_A}))


class Prefecture:
    """Sends files with the next 連番 of each sender and kind."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seq: dict[tuple[str, str], int] = defaultdict(int)

    def send(self, kind: str, records: list[list[str]], muni: str = MUNI_A) -> Any:
        self.seq[(muni, kind)] += 1
        seq = self.seq[(muni, kind)]
        raw = (
            kggt_file(records, muni=muni, seq=seq)
            if kind == "KGGT"
            else exchange_file(kind, records, muni=muni, seq=seq)
        )
        outcome = ingest(self.ctx, raw, f"{muni}_{kind}_{seq}.csv")
        assert outcome.status == "applied", outcome.message
        if kind == "KGGT":  # recounted for its households and their successors only: exactly
            assert recount_changes(self.ctx) == 0
        return outcome

    def household_of(self, muni: str, atena: str) -> str:
        from shuyaku.db.schema import qualification_period as q

        found = rows(self.ctx, q, q.c.municipality_code == muni, q.c.atena_no == atena, q.c.superseded_at.is_(None))
        return str(max(found, key=lambda r: r.history_no).pref_household_id)


def family_in_a(pref: Prefecture, hits: tuple[str, ...] = ("202601", "202602", "202603")) -> None:
    pref.send(
        "SKKS",
        [
            skks(HEAD, individual_number=number(11), setai=HOME, **SINCE),
            skks(SPOUSE, individual_number=number(12), setai=HOME, head=False, **SINCE),
        ],
    )
    if hits:
        pref.send("KGGT", [kggt(HOME, m) for m in hits])


def leave_a(atena: str, *, head: bool, history: int = 2) -> list[str]:
    """A's 県内転出 record: 適用 ends the day before the move, 資格 continues."""
    return skks(
        atena,
        history=history,
        setai=HOME,
        head=head,
        change_date=MOVE,
        reason="12",
        qualified_from="20250101",
        applied_from="20250101",
        applied_to="20260409",
    )


def arrive_b(atena: str, seed: int, *, setai: str = NEW_HOME, head: bool = True) -> list[str]:
    return skks(
        atena,
        muni=MUNI_B,
        individual_number=number(seed),
        setai=setai,
        head=head,
        change_date=MOVE,
        reason="11",
        qualified_from="20250101",
        applied_from=MOVE,
    )


def move_whole_family(pref: Prefecture) -> None:
    pref.send("SKKS", [leave_a(HEAD, head=True), leave_a(SPOUSE, head=False)])
    pref.send("SKKS", [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)], MUNI_B)


def count(ctx: Context, household: str, month: str) -> int:
    with ctx.engine.connect() as conn:
        found = tasuukai.counts(conn, month, [household])
    return int(found["hit_count"][0]) if found.height else 0


def candidates(ctx: Context) -> list[Any]:
    return sorted(rows(ctx, continuity_candidate), key=lambda r: r.candidate_id)


def test_a_simple_move_k1_carries_three_months_so_the_4th_is_tasuukai_once_confirmed(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)
    # The same person, the same 県被保険者ID, the prefecture-level 資格取得日 kept.
    assert person_id(ctx, MUNI_B, "3000000001") == person_id(ctx, MUNI_A, HEAD)
    old, new = pref.household_of(MUNI_A, HEAD), pref.household_of(MUNI_B, "3000000001")
    [candidate] = candidates(ctx)
    assert (
        candidate.from_household,
        candidate.to_household,
        candidate.rule,
        candidate.continuous,
        candidate.status,
    ) == (old, new, "K1", True, "proposed")
    assert candidate.change_date.isoformat() == "2026-04-10" and candidate.to_municipality_code == MUNI_B
    # Not confirmed: the move carries nothing, and B's own 多数回 flag would be wrong.
    assert count(ctx, new, "202605") == 0
    unconfirmed = pref.send("KGGT", [kggt(NEW_HOME, "202605", muni=MUNI_B, tasuukai="1")], MUNI_B)
    assert results(ctx, unconfirmed.file_id) == [(2, "W301", "1")]  # line 2: the first data line

    continuity.confirm(ctx, SUPERVISOR_B, candidate.candidate_id)
    [decided] = candidates(ctx)
    assert (decided.status, decided.decided_by) == ("confirmed", "sv-b") and decided.decided_at is not None
    assert count(ctx, new, "202605") == 3  # 202601–202603 from A: May is the 4th hit month → 多数回
    assert count(ctx, old, "202605") == 3  # A's household itself still has them
    agreeing = pref.send("KGGT", [kggt(NEW_HOME, "202605", muni=MUNI_B, op="2", tasuukai="1")], MUNI_B)
    assert results(ctx, agreeing.file_id) == []


def test_the_destination_alone_decides_and_only_a_supervisor_or_the_federation(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)
    [candidate] = candidates(ctx)
    with pytest.raises(AccessDenied):
        continuity.confirm(ctx, SUPERVISOR_A, candidate.candidate_id)  # A is where they left
    with pytest.raises(AccessDenied):
        continuity.confirm(ctx, Actor("clerk-b", "municipal_clerk", frozenset({MUNI_B})), candidate.candidate_id)
    assert [c.candidate_id for c in continuity.list_candidates(ctx, SUPERVISOR_A)] == []
    assert [c.candidate_id for c in continuity.list_candidates(ctx, SUPERVISOR_B, status="proposed")] == [
        candidate.candidate_id
    ]
    with pytest.raises(continuity.DecisionError):
        continuity.reject(ctx, SUPERVISOR_B, candidate.candidate_id, "  ")


def test_k1_is_confirmed_automatically_when_the_prefecture_says_so(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        conn.execute(insert(setting).values(key="continuity_auto_confirm_k1", value="1"))
    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)
    [candidate] = candidates(ctx)
    assert (candidate.rule, candidate.status, candidate.decided_by) == ("K1", "confirmed", "system(K1自動確定)")
    assert count(ctx, pref.household_of(MUNI_B, "3000000001"), "202605") == 3


def test_the_head_leaving_alone_k5_keeps_the_count_with_the_head_only(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    # The head moves to B alone; the spouse stays and becomes head in A.
    pref.send(
        "SKKS",
        [
            leave_a(HEAD, head=True),
            skks(
                SPOUSE,
                history=2,
                setai=HOME,
                head=True,
                change_date=MOVE,
                reason="22",
                qualified_from="20250101",
                applied_from="20250101",
            ),
        ],
    )
    pref.send("SKKS", [arrive_b("3000000001", 11)], MUNI_B)
    old, heads_new = pref.household_of(MUNI_A, SPOUSE), pref.household_of(MUNI_B, "3000000001")
    found = {(c.from_household, c.to_household): (c.rule, c.continuous) for c in candidates(ctx)}
    assert found == {(old, heads_new): ("K5", True), (old, old): ("K5", False)}
    continuity.confirm_all_proposed(ctx, SUPERVISOR_B, MUNI_B)
    continuity.confirm_all_proposed(ctx, SUPERVISOR_A, MUNI_A)
    assert count(ctx, heads_new, "202605") == 3
    assert count(ctx, old, "202605") == 0  # the spouse's household starts again
    pref.send("KGGT", [kggt(HOME, "202605")])
    assert count(ctx, old, "202606") == 1


def test_a_merge_k6_keeps_one_households_months_and_not_the_others(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)  # household X: three hit months
    other = "2000000009"
    pref.send("SKKS", [skks("1000000009", individual_number=number(19), setai=other, **SINCE)])
    pref.send("KGGT", [kggt(other, "202511"), kggt(other, "202512")])
    # Y's head joins X (same municipality), X's head stays head.
    pref.send(
        "SKKS",
        [
            skks(
                "1000000009",
                history=2,
                setai=HOME,
                head=False,
                change_date=MOVE,
                reason="24",
                qualified_from="20250101",
                applied_from="20250101",
            )
        ],
    )
    x, y = pref.household_of(MUNI_A, HEAD), pref.household_of(MUNI_A, "1000000009")
    assert x == y
    [merge] = candidates(ctx)
    assert (merge.to_household, merge.rule, merge.continuous) == (x, "K6", False)
    continuity.confirm(ctx, SUPERVISOR_A, merge.candidate_id)
    with ctx.engine.connect() as conn:
        found = tasuukai.counts(conn, "202605", [x])
    assert found.row(0, named=True)["months"] == "202601;202602;202603"  # not 202511, 202512


def test_the_head_joining_another_household_k7_resets(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    pref.send(
        "SKKS", [skks("3000000009", muni=MUNI_B, individual_number=number(29), setai="4000000009", **SINCE)], MUNI_B
    )
    pref.send("SKKS", [leave_a(HEAD, head=True), leave_a(SPOUSE, head=False)])
    pref.send(
        "SKKS",
        [
            arrive_b("3000000001", 11, setai="4000000009", head=False),
            arrive_b("3000000002", 12, setai="4000000009", head=False),
        ],
        MUNI_B,
    )
    joined = pref.household_of(MUNI_B, "3000000009")
    [k7] = candidates(ctx)
    assert (k7.to_household, k7.rule, k7.continuous) == (joined, "K7", False)
    continuity.confirm(ctx, Actor("sv-b", "municipal_supervisor", frozenset({MUNI_B})), k7.candidate_id)
    assert count(ctx, joined, "202605") == 0


def test_a_move_out_of_the_prefecture_and_back_resets(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    pref.send("SKKS", [skks(HEAD, individual_number=number(11), setai=HOME, **SINCE)])
    pref.send("KGGT", [kggt(HOME, m) for m in ("202601", "202602", "202603")])
    pref.send(
        "SKKS",
        [
            skks(
                HEAD,
                history=2,
                setai=HOME,
                change_date=MOVE,
                reason="01",
                qualified_from="20250101",
                applied_from="20250101",
                qualified_until=MOVE,
                until_reason="01",
                applied_to="20260409",
            )
        ],
    )
    pref.send(
        "SKKS",
        [
            skks(
                "3000000001",
                muni=MUNI_B,
                individual_number=number(11),
                setai=NEW_HOME,
                change_date="20260501",
                reason="01",
                qualified_from="20260501",
                applied_from="20260501",
            )
        ],
        MUNI_B,
    )
    back = pref.household_of(MUNI_B, "3000000001")
    assert person_id(ctx, MUNI_B, "3000000001") == person_id(ctx, MUNI_A, HEAD)
    [k8] = candidates(ctx)
    assert (k8.to_household, k8.rule, k8.continuous) == (back, "K8", False)
    continuity.confirm(ctx, SUPERVISOR_B, k8.candidate_id)
    assert count(ctx, back, "202606") == 0


def test_months_before_2018_04_never_count_and_the_window_is_m_minus_11_to_m_minus_1(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref, hits=("201801", "201802", "201803", "201804"))
    home = pref.household_of(MUNI_A, HEAD)
    assert count(ctx, home, "201806") == 1  # K9: only 2018-04
    pref.send("KGGT", [kggt(HOME, "202501"), kggt(HOME, "202502"), kggt(HOME, "202601", kind="2")])
    assert count(ctx, home, "202601") == 1  # m−12 = 202501 out, m−11 = 202502 in
    assert count(ctx, home, "202602") == 0  # 外来特例 only never counts


def test_one_household_month_counts_once_however_many_report_it(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref, hits=("202602", "202603", "202604"))
    move_whole_family(pref)
    new = pref.household_of(MUNI_B, "3000000001")
    pref.send("KGGT", [kggt(NEW_HOME, "202604", muni=MUNI_B, move_month="1")], MUNI_B)  # the move month, from both
    continuity.confirm_all_proposed(ctx, SUPERVISOR_B, MUNI_B)
    with ctx.engine.connect() as conn:
        found = tasuukai.counts(conn, "202605", [new]).row(0, named=True)
    assert (found["hit_count"], found["months"]) == (3, "202602;202603;202604")
    assert found["predecessors"] == pref.household_of(MUNI_A, HEAD)


def test_a_late_kggt_a_deletion_and_a_rejection_recompute_the_stored_counts_and_reach_tsk(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref, hits=("202601", "202602"))
    move_whole_family(pref)
    new = pref.household_of(MUNI_B, "3000000001")
    [candidate] = candidates(ctx)
    continuity.confirm(ctx, SUPERVISOR_B, candidate.candidate_id)
    summary = tasuukai.run_month(ctx, OPERATOR, "202605")
    assert (summary.households, summary.tasuukai) == (2, 0)

    def stored() -> int:
        [row] = rows(
            ctx, tasuukai_count, tasuukai_count.c.pref_household_id == new, tasuukai_count.c.superseded_at.is_(None)
        )
        return int(row.hit_count)

    assert stored() == 2
    pref.send("KGGT", [kggt(HOME, "202603")])  # late
    assert stored() == 3
    [first] = export(ctx, OPERATOR, MUNI_B, "TSKG", tmp_path)
    body = [r for r in csv.reader(first.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    assert body == [
        ["2", MUNI_B, NEW_HOME, new, "202605", "3", "1", "202601;202602;202603", pref.household_of(MUNI_A, HEAD), "0"]
    ]  # every month from a KGGT: not 暫定
    pref.send("KGGT", [kggt(HOME, "202602", op="3")])  # a deletion
    assert stored() == 2
    continuity.reject(ctx, SUPERVISOR_B, candidate.candidate_id, "世帯の実態が異なるため")
    assert stored() == 0
    [second] = export(ctx, OPERATOR, MUNI_B, "TSKG", tmp_path)
    body = [r for r in csv.reader(second.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    assert body == [["2", MUNI_B, NEW_HOME, new, "202605", "0", "0", "", "", "0"]]
    [kzkh] = export(ctx, OPERATOR, MUNI_B, "KZKH", tmp_path)
    lines = [r for r in csv.reader(kzkh.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    assert [(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]) for r in lines] == [
        (
            str(candidate.candidate_id),
            MUNI_B,
            NEW_HOME,
            new,
            MUNI_A,
            pref.household_of(MUNI_A, HEAD),
            MOVE,
            "K1",
            "1",
            "rejected",
        )
    ]
    assert "世帯の実態が異なるため" in lines[0][11]


def test_explain_names_each_month_its_file_and_the_candidate_and_what_was_left_out(ctx) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref, hits=("201803", "202503", "202601", "202602"))
    pref.send("KGGT", [kggt(HOME, "202603", kind="2")])
    move_whole_family(pref)
    new = pref.household_of(MUNI_B, "3000000001")
    before = tasuukai.explain(ctx, SUPERVISOR_B, new, "202605")
    assert before.hit_count == 0
    assert {ln.month: ln.note for ln in before.lines}["202601"].endswith("が未確定のため引き継ぎません")
    continuity.confirm_all_proposed(ctx, SUPERVISOR_B, MUNI_B)
    after = tasuukai.explain(ctx, SUPERVISOR_B, new, "202605")
    assert (after.hit_count, after.tasuukai, after.first, after.last) == (2, False, "202506", "202604")
    by_month = {ln.month: ln for ln in after.lines}
    assert (
        by_month["202601"].counted
        and by_month["202601"].source == MUNI_A
        and by_month["202601"].filename == f"{MUNI_A}_KGGT_1.csv"
    )
    assert by_month["202601"].via == str(after.candidates[0][0])
    assert not by_month["202603"].counted and "外来特例" in by_month["202603"].note
    assert not by_month["202503"].counted and "より前" in by_month["202503"].note
    assert all(ln.month != "201803" for ln in after.lines)  # outside the 24 months shown
    with pytest.raises(Concealed):  # another municipality's household does not exist for A (logged as denied)
        tasuukai.explain(ctx, SUPERVISOR_A, new, "202605")


# --- files of different municipalities in any order ------------------------------------

FILES_A = [
    (
        "SKKS",
        [
            skks(HEAD, individual_number=number(11), setai=HOME, **SINCE),
            skks(SPOUSE, individual_number=number(12), setai=HOME, head=False, **SINCE),
        ],
    ),
    ("KGGT", [kggt(HOME, "202601"), kggt(HOME, "202602")]),
    ("SKKS", [leave_a(HEAD, head=True), leave_a(SPOUSE, head=False)]),
    ("KGGT", [kggt(HOME, "202603"), kggt(HOME, "202604", move_month="1")]),
]
FILES_B = [
    ("SKKS", [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)]),
    ("KGGT", [kggt(NEW_HOME, "202604", muni=MUNI_B, move_month="1"), kggt(NEW_HOME, "202605", muni=MUNI_B)]),
]


def _fresh(database_url: str, home: Path) -> Context:
    if database_url.startswith("postgresql"):
        _reset_postgres(database_url)
    settings = Settings(home=home, database_url=database_url)
    init(settings, "11", Clock()())
    context = open_context(settings, clock=Clock())
    add_municipality(context, OPERATOR, MUNI_A, "架空市", INSURER_A)
    add_municipality(context, OPERATOR, MUNI_B, "仮想町", INSURER_B)
    with context.engine.begin() as conn:
        conn.execute(insert(setting).values(key="continuity_auto_confirm_k1", value="1"))
    return context


def _interleavings() -> list[tuple[str, ...]]:
    """Every order of A's and B's files that keeps each municipality's own 連番 order."""
    slots = len(FILES_A) + len(FILES_B)
    orders = []
    for b_at in itertools.combinations(range(slots), len(FILES_B)):
        orders.append(tuple("B" if i in b_at else "A" for i in range(slots)))
    return orders


def test_counts_and_ids_never_depend_on_the_order_in_which_municipalities_files_arrive(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path}/o.db"
    outcomes = set()
    orders = _interleavings()
    assert len(orders) == 15
    for n, order in enumerate(orders):
        url = database_url.replace("o.db", f"o{n}.db")
        ctx = _fresh(url, tmp_path / f"home{n}")
        pref = Prefecture(ctx)
        queues = {"A": list(FILES_A), "B": list(FILES_B)}
        for who in order:
            kind, records = queues[who].pop(0)
            pref.send(kind, records, MUNI_A if who == "A" else MUNI_B)
        new = pref.household_of(MUNI_B, "3000000001")
        live = [(c.rule, c.continuous, c.status) for c in candidates(ctx) if c.status != "withdrawn"]
        with ctx.engine.connect() as conn:
            found = tasuukai.counts(conn, "202606", [new]).row(0, named=True)
        same_person = person_id(ctx, MUNI_B, "3000000001") == person_id(ctx, MUNI_A, HEAD)
        outcomes.add((tuple(live), found["hit_count"], found["months"], same_person))
        ctx.engine.dispose()
    assert outcomes == {((("K1", True, "confirmed"),), 5, "202601;202602;202603;202604;202605", True)}


def test_kogaku_run_uses_the_lineage_count_and_halves_caps_in_the_move_month(ctx) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.kogaku.service import load_month
    from tests.builders import amount_trailer, rece

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)
    claims = [rece("3000000001", muni=MUNI_B, month="202604"), rece("3000000001", muni=MUNI_B, month="202605")]
    ingest(ctx, exchange_file("RECE", claims, muni=MUNI_B, trailer=amount_trailer(claims, 8)))
    new = pref.household_of(MUNI_B, "3000000001")

    def inputs(month: str) -> dict[str, Any]:
        with ctx.engine.connect() as conn:
            households = load_month(conn, month).households  # IDs as their numbers in the batch
            return households.filter(pl.col("household_id") == int(new)).row(0, named=True)

    assert (inputs("202604")["in_prefecture_move"], inputs("202605")["prior_hits"]) == (False, 0)  # not confirmed yet
    continuity.confirm_all_proposed(ctx, SUPERVISOR_B, MUNI_B)
    assert (inputs("202604")["in_prefecture_move"], inputs("202604")["prior_hits"]) == (True, 3)
    assert (inputs("202605")["in_prefecture_move"], inputs("202605")["prior_hits"]) == (False, 3)


def test_a_move_deleted_by_the_municipality_withdraws_its_proposed_candidate(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    pref.send("SKKS", [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)], MUNI_B)
    [candidate] = candidates(ctx)
    assert (candidate.rule, candidate.status) == ("K1", "proposed")
    # Sent for the wrong family: B deletes both records.
    wrong = [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)]
    for row in wrong:
        row[4], row[7] = "3", ""
    pref.send("SKKS", wrong, MUNI_B)
    [withdrawn] = candidates(ctx)
    assert withdrawn.status == "withdrawn" and "取り下げ" in withdrawn.decision_note
    [kzkh] = export(ctx, OPERATOR, MUNI_B, "KZKH", tmp_path)
    assert [
        r for r in kzkh.read_text(encoding="utf-8").splitlines() if r.startswith("2,")
    ] == []  # never sent: nothing to take back


def _run(
    ctx: Context, folder: Path, files: list[tuple[str, str, list[list[str]]]], seqs: dict[tuple[str, str], int]
) -> list[Any]:
    """One `shuyaku ingest` run over these files (municipality, kind, records), each
    sender's 連番 following on from ``seqs``."""
    folder.mkdir()
    for muni, kind, records in files:
        seqs[(muni, kind)] += 1
        seq = seqs[(muni, kind)]
        (folder / f"{muni}_{kind}_{seq}.csv").write_bytes(exchange_file(kind, records, muni=muni, seq=seq))
    outcomes = ingest_paths(ctx, OPERATOR, [folder])
    assert [o.status for o in outcomes] == ["applied"] * len(files), [o.message for o in outcomes]
    return outcomes


def _judgement_events(ctx: Context) -> list[Any]:
    return [r for r in rows(ctx, audit_event) if r.action == "ingest.continuity"]


def test_a_run_judges_its_files_together_once_at_its_end(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A's family and its arrival in B in one run: one K1, judged once (one access event)
    after both files and named after the later of them (the last to queue its persons);
    nothing left queued."""
    family = [
        skks(HEAD, individual_number=number(11), setai=HOME, **SINCE),
        skks(SPOUSE, individual_number=number(12), setai=HOME, head=False, **SINCE),
    ]
    arrival = [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)]
    seqs: dict[tuple[str, str], int] = defaultdict(int)
    outcomes = _run(ctx, tmp_path / "day", [(MUNI_A, "SKKS", family), (MUNI_B, "SKKS", arrival)], seqs)
    [candidate] = candidates(ctx)
    assert (candidate.rule, candidate.status, candidate.file_id) == ("K1", "proposed", outcomes[-1].file_id)
    [event] = _judgement_events(ctx)
    assert (event.actor, event.row_count, event.detail) == (OPERATOR.login_id, 1, "persons=2 candidates=1")
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(continuity_pending)).scalar_one() == 0
    # A run with nothing queued judges nothing and logs no judgement.
    _run(ctx, tmp_path / "next", [(MUNI_A, "SKKS", [skks("1000000009", individual_number=number(19))])], seqs)
    assert len(_judgement_events(ctx)) == 1 and len(candidates(ctx)) == 1


def test_a_move_taken_back_within_the_run_proposes_nothing(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The arrival and B's deletion of it in one run: judged file by file, a K1 would be
    proposed and withdrawn (the test above this one); judged at the run's end, the data
    never shows a move, so no candidate is written at all."""
    family = [
        skks(HEAD, individual_number=number(11), setai=HOME, **SINCE),
        skks(SPOUSE, individual_number=number(12), setai=HOME, head=False, **SINCE),
    ]
    arrival = [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)]
    wrong = [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)]
    for row in wrong:
        row[4], row[7] = "3", ""
    files = [(MUNI_A, "SKKS", family), (MUNI_B, "SKKS", arrival), (MUNI_B, "SKKS", wrong)]
    _run(ctx, tmp_path / "day", files, defaultdict(int))
    assert candidates(ctx) == []
    [event] = _judgement_events(ctx)
    assert event.detail == "persons=2 candidates=0"


def test_a_decision_made_while_another_is_under_way_comes_after_it(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """「すべて確定」 by one supervisor and a rejection by another at the same moment end as
    one after the other would: rejected (a confirmed candidate may still be rejected; a
    rejected one is not confirmed). Before, the confirmation read the candidate as proposed,
    the rejection committed meanwhile, and the confirmation then wrote over it."""
    import threading
    import time

    from shuyaku.household import candidates as store

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)
    [candidate] = candidates(ctx)
    read, go_on = threading.Event(), threading.Event()
    real_decide = store.decide

    def held_decide(conn, chosen, status, *args):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "confirming":
            read.set()  # it has read the candidate as proposed
            go_on.wait(10)
        return real_decide(conn, chosen, status, *args)

    monkeypatch.setattr(store, "decide", held_decide)
    together = AtOnce()
    together.start(lambda: continuity.confirm_all_proposed(ctx, SUPERVISOR_B, MUNI_B), name="confirming")
    assert read.wait(10)
    together.start(lambda: continuity.reject(ctx, SUPERVISOR_B, candidate.candidate_id, "別世帯"))
    time.sleep(0.5)  # the rejection would be done by now, were it not waiting
    assert candidates(ctx)[0].status == "proposed"
    go_on.set()
    together.join()
    assert together.failures == []
    [decided] = candidates(ctx)
    assert (decided.status, decided.decision_note) == ("rejected", "別世帯")

"""The continuity rules K1–K8 as a pure function (continuity.md), one case per rule."""

from __future__ import annotations

from datetime import date

from shuyaku.household.rules import Change, Household, Member, judge, returned_after_loss

DAY = date(2026, 4, 10)
A, B = "112038", "111007"


def hh(household: str, muni: str, before: list[tuple[str, bool]], after: list[tuple[str, bool]]) -> Household:
    return Household(household, muni, tuple(Member(p, h) for p, h in before), tuple(Member(p, h) for p, h in after))


def rules_of(change: Change) -> set[tuple[str, str, str, bool]]:
    return {(j.source, j.target, j.rule, j.continuous) for j in judge(change)}


def test_k1_same_head_and_members_new_address() -> None:
    src = hh("P", A, [("h", True), ("w", False)], [])
    dst = hh("S", B, [], [("h", True), ("w", False)])
    assert rules_of(Change(src, DAY, (dst,))) == {("P", "S", "K1", True)}


def test_k2_head_change_inside_the_household_and_with_a_move() -> None:
    same = hh("P", A, [("h", True), ("w", False)], [("h", False), ("w", True)])
    assert rules_of(Change(same, DAY, ())) == {("P", "P", "K2", True)}
    moved = Change(hh("P", A, [("h", True), ("w", False)], []), DAY, (hh("S", B, [], [("h", False), ("w", True)]),))
    [j] = judge(moved)
    assert (j.rule, j.continuous) == ("K2", True) and "必ず確認" in j.reason


def test_k3_a_birth_and_k4_a_death_do_not_break_the_household_on_a_move() -> None:
    src = hh("P", A, [("h", True), ("w", False)], [])
    born = hh("S", B, [], [("h", True), ("w", False), ("baby", False)])
    assert rules_of(Change(src, DAY, (born,))) == {("P", "S", "K3", True)}
    alone = hh("S", B, [], [("h", True)])
    assert rules_of(Change(src, DAY, (alone,), lost=frozenset({"w"}))) == {("P", "S", "K4", True)}


def test_k4_the_head_dies_and_the_others_continue() -> None:
    src = hh("P", A, [("h", True), ("w", False)], [("w", True)])
    assert rules_of(Change(src, DAY, (), lost=frozenset({"h"}))) == {("P", "P", "K4", True)}


def test_k5_split_the_heads_part_continues_the_other_is_new() -> None:
    stays = hh("P", A, [("h", True), ("c", False)], [("h", True)])
    child = hh("Q", A, [], [("c", True)])
    assert rules_of(Change(stays, DAY, (child,))) == {("P", "P", "K5", True), ("P", "Q", "K5", False)}
    head_leaves = hh("P", A, [("h", True), ("w", False)], [("w", True)])
    heads = hh("S", B, [], [("h", True)])
    assert rules_of(Change(head_leaves, DAY, (heads,))) == {("P", "P", "K5", False), ("P", "S", "K5", True)}


def test_k6_merge_continues_the_household_of_the_head_after_the_merge() -> None:
    x = hh("X", A, [("x", True)], [])
    y = hh("Y", A, [("y", True)], [("x", True), ("y", False)])
    assert rules_of(Change(x, DAY, (y,))) == {("X", "Y", "K6", True)}
    assert rules_of(Change(y, DAY, ())) == {("Y", "Y", "K6", False)}  # Y's own months are not added


def test_k7_the_head_moves_into_another_household_not_as_head() -> None:
    src = hh("P", A, [("h", True)], [])
    other = hh("Z", B, [("z", True)], [("z", True), ("h", False)])
    assert rules_of(Change(src, DAY, (other,))) == {("P", "Z", "K7", False)}


def test_k8_a_return_after_nhi_ended_is_never_continuous() -> None:
    j = returned_after_loss("P", "S", "h")
    assert (j.rule, j.continuous) == ("K8", False)


def test_k4_the_head_dies_and_the_rest_move_together() -> None:
    src = hh("P", A, [("h", True), ("w", False)], [])
    moved = hh("S", B, [], [("w", True)])
    [j] = judge(Change(src, DAY, (moved,), lost=frozenset({"h"})))
    assert (j.source, j.target, j.rule, j.continuous) == ("P", "S", "K4", True)
    assert "県内転居" in j.reason and "要確認" in j.reason
    assert j.persons == {"w": "移動", "h": "元の世帯主:喪失"}


def test_each_person_is_labelled_with_their_part() -> None:
    [moved] = judge(
        Change(hh("P", A, [("h", True), ("w", False)], []), DAY, (hh("S", B, [], [("h", True), ("w", False)]),))
    )
    assert moved.persons == {"h": "元の世帯主:移動", "w": "移動"}
    [stayed] = judge(Change(hh("P", A, [("h", True), ("w", False)], [("h", False), ("w", True)]), DAY, ()))
    assert stayed.persons == {"h": "元の世帯主:残留", "w": "残留"}
    src = hh("P", A, [("h", True), ("c", False)], [("h", True)])
    [split, *_] = sorted(judge(Change(src, DAY, (hh("Q", A, [], [("c", True)]),))), key=lambda j: j.target)
    assert split.persons == {"h": "元の世帯主:残留", "c": "他の世帯へ"}

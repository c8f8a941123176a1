"""Household continuity (``shared/reference/continuity.md``): the rules K1–K8 as one pure
function over a household change.

A change is seen from the household the people came from (``source``) on the day the
change took effect: who was in it the day before and who was head, where each of them is
on the day, and who else is in the households they are in now. ``judge`` returns one
judgement per resulting household. Nothing here reads the database or the clock.

A judgement from a household to another (``source != target``) that says *continuous*
becomes, once confirmed, a lineage edge: the target's 多数回 count includes the source's
hit months up to the month of the change. A judgement of a household about itself that
says *not continuous* starts its count again from the month of the change (the members
who stayed behind when the head left, or a household whose head after a merge came from
the other household).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

AUTO_CONFIRMABLE = "K1"


@dataclass(frozen=True)
class Member:
    person: str  # 県被保険者ID
    head: bool


@dataclass(frozen=True)
class Household:
    household: str  # 県世帯ID
    municipality_code: str
    before: tuple[Member, ...]  # members the day before the change
    after: tuple[Member, ...]  # members on the day of the change


@dataclass(frozen=True)
class Change:
    """One household's change on one day, with every household its members are in now."""

    source: Household
    day: date
    elsewhere: tuple[Household, ...]  # the other households the source's members are in now
    lost: frozenset[str] = frozenset()  # members whose NHI ended (death, 社保, 後期 …)


@dataclass(frozen=True)
class Judgement:
    source: str
    target: str
    rule: str
    continuous: bool
    reason: str
    persons: dict[str, str] = field(default_factory=dict)  # person → their part: 世帯主, 移動, 残留, 既存, 追加, 喪失
    households: tuple[str, ...] = ()


def _head(members: tuple[Member, ...]) -> str | None:
    return next((m.person for m in members if m.head), None)


def judge(change: Change) -> list[Judgement]:
    """The judgements for every household the source's members are in after the change."""
    source = change.source
    before = {m.person for m in source.before}
    old_head = _head(source.before)
    out: list[Judgement] = []
    for target in (source, *change.elsewhere):
        after = {m.person for m in target.after}
        movers = after & before
        if not movers:
            continue
        new_head = _head(target.after)
        existing = {m.person for m in target.before} - before if target is not source else set()
        added = after - before - existing
        others = before - after - change.lost
        found = _rule(change, target, movers, existing, added, others, old_head, new_head)
        if found is None:
            continue
        rule, continuous, reason = found
        persons = {p: "移動" if target is not source else "残留" for p in sorted(movers)}
        persons |= {p: "既存" for p in sorted(existing)} | {p: "追加" for p in sorted(added)}
        persons |= {p: "喪失" for p in sorted(change.lost & before)}
        persons |= {p: "他の世帯へ" for p in sorted(others)}
        if old_head:
            persons[old_head] = "元の世帯主:" + persons.get(old_head, "不明")
        households = tuple(
            dict.fromkeys([source.household, target.household, *(h.household for h in change.elsewhere)])
        )
        out.append(Judgement(source.household, target.household, rule, continuous, reason, persons, households))
    return out


def _rule(
    change: Change,
    target: Household,
    movers: set[str],
    existing: set[str],
    added: set[str],
    others: set[str],
    old_head: str | None,
    new_head: str | None,
) -> tuple[str, bool, str] | None:
    source = change.source
    moved = target.municipality_code != source.municipality_code
    where = "県内転居" if moved else "市町村内の異動"
    if target is source:
        if old_head in movers:
            if new_head == old_head:
                if others:
                    return "K5", True, "世帯分離: 元の世帯主が残る世帯が継続します(分離した世帯員は新しい世帯)"
                return None  # additions and losses only: the household simply continues (K3/K4)
            if new_head in movers:
                return "K2", True, "世帯主の変更: 世帯員は同じで世帯主だけが変わりました。世帯は継続します"
            return "K6", False, "世帯合併: 合併後の世帯主が他の世帯から来たため、この世帯の該当月は引き継ぎません"
        if old_head in change.lost:
            return "K4", True, "世帯主の資格喪失(死亡・社保加入等): 残る世帯員で世帯は継続します"
        if old_head is None:
            return None
        return "K5", False, "世帯主が世帯を離れました: 残る世帯員は新しい世帯として数えます(要確認)"
    if not existing:
        if old_head in movers:
            if new_head != old_head:
                return "K2", True, f"{where}と同時の世帯主変更: 継続として提案します(必ず確認が必要)"
            if others:
                return "K5", True, f"世帯分離({where}): 元の世帯主の側が継続します"
            if added:
                return "K3", True, f"{where}: 出生・国保加入による世帯員の追加があっても世帯は継続します"
            if change.lost & {m.person for m in source.before}:
                return "K4", True, f"{where}: 死亡・社保加入等による世帯員の減少があっても世帯は継続します"
            return "K1", True, f"{where}: 世帯主・世帯員が同じで住所だけが変わりました"
        if old_head in change.lost and not others:
            return "K4", True, f"世帯主の資格喪失と{where}: 残る世帯員で世帯は継続します(要確認)"
        return "K5", False, f"世帯分離({where}): 元の世帯主がいない側は新しい世帯です"
    if old_head in movers and new_head == old_head:
        return "K6", True, "世帯合併: 合併後の世帯主の世帯が継続します(相手の世帯の該当月は加算しません)"
    if old_head in movers and moved:
        return "K7", False, "世帯主が転居先で他の世帯に加わり、世帯主ではなくなりました: 継続しません"
    return "K6", False, "世帯合併: 他の世帯に加わったため、元の世帯の該当月は引き継ぎません"


def returned_after_loss(source: str, target: str, person: str) -> Judgement:
    """K8: NHI ended (県外転出, 社保加入 …) and began again: the household starts from zero."""
    return Judgement(
        source,
        target,
        "K8",
        False,
        "資格喪失(県外転出・社保加入等)の後の再取得: 継続しません(新たに数えます)",
        {person: "再取得"},
        (source, target),
    )

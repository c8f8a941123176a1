"""The ``shuyaku kogaku calc`` JSON contract (``shared/spec/kogaku-calc.md``): in, check, out."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from shuyaku.kogaku import rules, tables
from shuyaku.kogaku.rules import CaseError

UNDER70_ALIASES = {"a": "ア", "i": "イ", "u": "ウ", "e": "エ", "o": "オ"}
OVER70_ALIASES = {
    "genekiIII": "現役並みⅢ",
    "genekiII": "現役並みⅡ",
    "genekiI": "現役並みⅠ",
    "ippan": "一般",
    "teishotokuII": "低所得Ⅱ",
    "teishotokuI": "低所得Ⅰ",
}
_MONTH = re.compile(r"^([0-9]{4})-?(0[1-9]|1[0-2])$")


def _require(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise CaseError(f"{path}{key}", "必須項目です")
    return obj[key]


def _month(value: Any, path: str) -> str:
    """``YYYY-MM`` (the contract's form) or ``YYYYMM`` (the files'), as ``YYYY-MM``."""
    found = _MONTH.match(value) if isinstance(value, str) else None
    if found is None:
        raise CaseError(path, f"YYYY-MM(または YYYYMM)形式の年月にしてください({value!r})")
    return f"{found.group(1)}-{found.group(2)}"


def _yen(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CaseError(path, f"0以上の整数(円)にしてください({value!r})")
    return value


def _class(value: Any, path: str, allowed: tuple[str, ...], aliases: dict[str, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in aliases:
        return aliases[value]
    if isinstance(value, str) and value in allowed:
        return value
    raise CaseError(path, f"未定義の所得区分です({value!r}; {' '.join(allowed)} または {' '.join(aliases)})")


def parse_case(data: Any) -> rules.HouseholdMonth:
    if not isinstance(data, dict):
        raise CaseError("(root)", "JSON のオブジェクトにしてください")
    month = _month(_require(data, "month", ""), "month")
    classes = _require(data, "income_class", "")
    if not isinstance(classes, dict):
        raise CaseError("income_class", '{"under70": …, "over70": …} のオブジェクトにしてください')
    under70 = _class(classes.get("under70"), "income_class.under70", tables.UNDER70_CLASSES, UNDER70_ALIASES)
    over70 = _class(classes.get("over70"), "income_class.over70", tables.OVER70_CLASSES, OVER70_ALIASES)
    prior = data.get("prior_hit_months", [])
    if not isinstance(prior, list):
        raise CaseError("prior_hit_months", "年月(YYYY-MM)の配列にしてください")
    prior_months = tuple(_month(m, f"prior_hit_months[{i}]") for i, m in enumerate(prior))
    move = data.get("in_prefecture_move", False)
    if not isinstance(move, bool):
        raise CaseError("in_prefecture_move", "true または false にしてください")
    raw_members = _require(data, "members", "")
    if not isinstance(raw_members, list) or not raw_members:
        raise CaseError("members", "被保険者を1人以上含む配列にしてください")
    members: list[rules.Member] = []
    for i, m in enumerate(raw_members):
        path = f"members[{i}]"
        if not isinstance(m, dict):
            raise CaseError(path, "オブジェクトにしてください")
        member_id = _require(m, "id", path + ".")
        if not isinstance(member_id, str) or not member_id:
            raise CaseError(path + ".id", "空でない文字列にしてください")
        try:
            birth = date.fromisoformat(_require(m, "birth_date", path + "."))
        except (TypeError, ValueError):
            raise CaseError(path + ".birth_date", f"YYYY-MM-DD の日付にしてください({m.get('birth_date')!r})") from None
        if birth >= rules.first_of(rules.add_months(month, 1)):
            raise CaseError(path + ".birth_date", f"{month} より後の生年月日です")
        if any(x.id == member_id for x in members):
            raise CaseError(path + ".id", f"{member_id} が重複しています")
        members.append(rules.Member(member_id, birth))
    ids = {m.id for m in members}
    claims: list[rules.Claim] = []
    for i, c in enumerate(data.get("claims", [])):
        path = f"claims[{i}]"
        if not isinstance(c, dict):
            raise CaseError(path, "オブジェクトにしてください")
        member = _require(c, "member", path + ".")
        if member not in ids:
            raise CaseError(path + ".member", f"members にない被保険者です({member!r})")
        setting = _require(c, "setting", path + ".")
        if setting not in rules.SETTINGS:
            raise CaseError(path + ".setting", f"{' / '.join(rules.SETTINGS)} のいずれかにしてください({setting!r})")
        institution = _require(c, "institution", path + ".")
        if not isinstance(institution, str) or not institution:
            raise CaseError(path + ".institution", "医療機関コード(文字列)にしてください")
        total = _yen(_require(c, "total_cost", path + "."), path + ".total_cost")
        copay = _yen(_require(c, "copay", path + "."), path + ".copay")
        if copay > total:
            raise CaseError(path + ".copay", f"一部負担金 {copay:,} が医療費 {total:,} を超えています")
        disease = c.get("specified_disease", 0)
        if disease not in (0, 1, 2) or isinstance(disease, bool):
            raise CaseError(path + ".specified_disease", f"0, 1, 2 のいずれかにしてください({disease!r})")
        claims.append(rules.Claim(member, institution, setting, total, copay, disease))
    return rules.HouseholdMonth(month, under70, over70, prior_months, move, tuple(members), tuple(claims))


def calculate_json(text: str) -> dict[str, Any]:
    """JSON text in, the contract's result out. Raises CaseError (with the field) on bad input."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError("(json)", f"JSON として読めません: 行{exc.lineno} 列{exc.colno} {exc.msg}") from None
    case = parse_case(data)
    try:
        table = tables.table_for(case.month)
    except tables.NoTableInForce as exc:
        raise CaseError("month", str(exc).removeprefix("month: ")) from None
    result = rules.calculate(case, table)
    return {
        "month": result.month,
        "cap_table": result.cap_table,
        "prior_hits_in_window": len(result.prior_hits_in_window),
        "tasuukai": result.tasuukai,
        "hit": result.hit,
        "payment": result.payment,
        "steps": result.steps,
        "members": result.members,
        "trace": result.trace,
    }

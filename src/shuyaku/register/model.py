"""A registration of personal-information work (個人情報取扱業務登録), as data (pure).

One ``Registration`` is the whole entry as it reads at one version. ``changes`` says, item
by item, what a 修正 changed — the yearly report to the council prints exactly that.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

from shuyaku.errors import InvalidRequest
from shuyaku.text import typed_text

# The maintained vocabulary of 個人情報の項目; items outside it are allowed (and kept as typed).
ITEM_VOCABULARY = (
    "氏名",
    "住所",
    "生年月日",
    "性別",
    "個人番号",
    "世帯構成・続柄",
    "家族関係",
    "被保険者番号等",
    "資格(取得・喪失)",
    "所得・課税",
    "健康・医療",
    "給付",
    "連絡先",
    "職業・勤務先",
    "口座",
)
# 要配慮個人情報 (個人情報保護法 2条3項) among the vocabulary: an entry holding one must say so.
SENSITIVE_ITEMS = frozenset({"健康・医療"})
KINDS = ("追加", "修正", "廃止", "移管")


class RegisterError(InvalidRequest, ValueError):
    pass


@dataclass(frozen=True)
class Approval:
    """目的外利用 or 外部提供: to whom / what, on which basis, approved when."""

    party: str  # 提供先 (外部提供) or the use (目的外利用)
    content: str
    basis: str
    approved_on: str  # YYYY-MM-DD


@dataclass(frozen=True)
class Entrustment:
    contractor: str  # 委託先
    subcontracting: bool = False  # 再委託の有無


@dataclass(frozen=True)
class Registration:
    name: str  # 業務の名称
    purpose: str  # 目的
    basis: str  # 根拠(法令・条例)
    subjects: str  # 対象者の範囲
    items: tuple[str, ...]  # 個人情報の項目
    sources: tuple[str, ...]  # 収集先(本人、他の機関 …)
    retention_years: int  # 保存年限
    started_on: str  # 開始日 YYYY-MM-DD
    sensitive: bool = False  # 要配慮個人情報の有無
    outside_uses: tuple[Approval, ...] = ()  # 目的外利用
    provisions: tuple[Approval, ...] = ()  # 外部提供
    computer: bool = True  # 電子計算機処理
    online: bool = False  # オンライン結合
    entrustments: tuple[Entrustment, ...] = ()  # 委託
    abolished_on: str | None = None  # 廃止日
    extra: dict[str, str] = field(default_factory=dict)  # 備考 and anything the form adds

    def __post_init__(self) -> None:
        for label, value in (("業務の名称", self.name), ("目的", self.purpose), ("根拠", self.basis)):
            if not value.strip():
                raise RegisterError(f"{label}は必須です")
        if not self.items:
            raise RegisterError("個人情報の項目を1つ以上挙げてください")
        if not self.sources:
            raise RegisterError("収集先を1つ以上挙げてください(本人、○○市 など)")
        if not 0 < self.retention_years <= 100:
            raise RegisterError(f"保存年限は1〜100年で指定してください(指定: {self.retention_years})")
        if SENSITIVE_ITEMS & set(self.items) and not self.sensitive:
            raise RegisterError("要配慮個人情報(健康・医療)を含む項目があります: sensitive を true にしてください")
        _day("開始日", self.started_on)
        for approval in (*self.outside_uses, *self.provisions):
            _day("承認日", approval.approved_on)
        if self.abolished_on is not None:
            _day("廃止日", self.abolished_on)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Registration:
        """From a JSON object (the file `register add --file` reads); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RegisterError(f"知らない項目があります: {', '.join(unknown)}(使える項目: {', '.join(sorted(known))})")
        try:
            # Typed by people and published: no individual number (masked) and no control character.
            values: dict[str, Any] = {k: typed_text(v) if isinstance(v, str) else v for k, v in data.items()}
            values["items"] = tuple(typed_text(str(i)) for i in data.get("items", ()) if str(i).strip())
            values["sources"] = tuple(typed_text(str(i)) for i in data.get("sources", ()) if str(i).strip())
            values["outside_uses"] = tuple(Approval(**_typed(a)) for a in data.get("outside_uses", ()))
            values["provisions"] = tuple(Approval(**_typed(a)) for a in data.get("provisions", ()))
            values["entrustments"] = tuple(Entrustment(**e) for e in data.get("entrustments", ()))
            values["retention_years"] = int(data.get("retention_years", 0))
            return cls(**values)
        except TypeError as exc:
            missing = sorted(known - set(data))
            raise RegisterError(f"項目が足りないか形が違います(足りない項目: {', '.join(missing) or 'なし'})") from exc

    @classmethod
    def from_json(cls, text: str) -> Registration:
        return cls.from_mapping(json.loads(text))


LABELS = {
    "name": "業務の名称",
    "purpose": "目的",
    "basis": "根拠",
    "subjects": "対象者の範囲",
    "items": "個人情報の項目",
    "sources": "収集先",
    "retention_years": "保存年限",
    "started_on": "開始日",
    "sensitive": "要配慮個人情報",
    "outside_uses": "目的外利用",
    "provisions": "外部提供",
    "computer": "電子計算機処理",
    "online": "オンライン結合",
    "entrustments": "委託",
    "abolished_on": "廃止日",
    "extra": "備考",
}


def shown(key: str, value: Any) -> str:
    """One item as the register prints it."""
    if isinstance(value, bool):
        return "有" if value else "無"
    if key == "retention_years":
        return f"{value}年"
    if isinstance(value, tuple | list):
        parts = []
        for v in value:
            if isinstance(v, Approval):
                parts.append(f"{v.party}: {v.content}(根拠 {v.basis}、承認 {v.approved_on})")
            elif isinstance(v, Entrustment):
                parts.append(f"{v.contractor}(再委託{'有' if v.subcontracting else '無'})")
            else:
                parts.append(str(v))
        return "、".join(parts) or "なし"
    if isinstance(value, dict):
        return "、".join(f"{k}: {v}" for k, v in value.items()) or "なし"
    return "" if value is None else str(value)


def changes(before: Registration, after: Registration) -> list[tuple[str, str, str]]:
    """(項目, 変更前, 変更後) for every item a 修正 changed; for 個人情報の項目 the items added
    and removed rather than the whole list."""
    out = []
    for f in fields(Registration):
        old, new = getattr(before, f.name), getattr(after, f.name)
        if old == new:
            continue
        if f.name == "items":
            removed = [i for i in old if i not in new]
            added = [i for i in new if i not in old]
            out.append(
                (LABELS[f.name], "削除: " + ("、".join(removed) or "なし"), "追加: " + ("、".join(added) or "なし"))
            )
        else:
            out.append((LABELS[f.name], shown(f.name, old), shown(f.name, new)))
    return out


def _typed(approval: dict[str, Any]) -> dict[str, Any]:
    return {k: typed_text(v) if isinstance(v, str) else v for k, v in approval.items()}


def _day(label: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise RegisterError(f"{label}は YYYY-MM-DD で指定してください(指定: {text})") from None

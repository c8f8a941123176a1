"""shuyaku's own registration of personal-information work, made from its data inventory.

``PERSONAL_STORES`` is the machine-readable half of ``docs/data-inventory.md`` (sections 1
and 2: the stores that hold data about insured persons) — which categories of personal
information each holds. The registration's 個人情報の項目 are their union, so a store added
with a new kind of item changes the registration; ``tests/test_register_own.py`` fails when
the document and this table name different stores.
"""

from __future__ import annotations

from shuyaku.register.model import Approval, Entrustment, Registration

# store (as docs/data-inventory.md names it) → categories of personal information it holds
PERSONAL_STORES: dict[str, tuple[str, ...]] = {
    "vault_entry": ("個人番号",),
    "seen_number": (),  # a keyed hash of a number never enrolled: nothing readable
    "person": (),
    "person_key": ("被保険者番号等",),
    "qualification_period": ("氏名", "生年月日", "性別", "世帯構成・続柄", "被保険者番号等", "資格(取得・喪失)"),
    "household": (),
    "household_key": ("世帯構成・続柄",),
    "household_record": ("住所", "世帯構成・続柄"),
    "id_assignment": ("被保険者番号等",),
    "claim_unit": ("健康・医療",),
    "income_class": ("所得・課税",),
    "hit_month": ("給付",),
    "hit_report": ("給付",),
    "tasuukai_count": ("給付",),
    "kogaku_run": (),
    "continuity_candidate": ("世帯構成・続柄",),
    "continuity_pending": (),  # 県被保険者ID queued for the judgement at the end of a run
    "ingest_result": ("氏名", "生年月日", "被保険者番号等"),
    "inbound_file": (),
    "outbound_file": (),
    "outbound_fetch": (),
    "number_erasure": ("個人番号",),  # the fact of an erasure, keyed by the 県被保険者ID (never the number)
}

REG_NO = "SHUYAKU-1"


def items() -> tuple[str, ...]:
    """The union of the stores' categories, in the order the vocabulary lists them."""
    from shuyaku.register.model import ITEM_VOCABULARY

    held = {c for categories in PERSONAL_STORES.values() for c in categories}
    return tuple(i for i in ITEM_VOCABULARY if i in held) + tuple(sorted(held - set(ITEM_VOCABULARY)))


def registration(municipalities: list[str], started_on: str, contractor: str | None = None) -> Registration:
    """The registration of 国保情報集約 as this installation runs it: sources are the
    registered municipalities, provision is the return files to each of them (never the
    個人番号), 委託 the operator named by the federation, if any."""
    return Registration(
        name="国民健康保険 情報集約(国保情報集約システム)",
        purpose=(
            "県内市町村の国民健康保険の被保険者を個人番号により県単位で同一人と確認して県被保険者ID・県世帯IDを付番し、"
            "県内転居時の世帯の継続性を判定して高額療養費の多数回該当を引き継ぐため"
        ),
        basis="国民健康保険法、行政手続における特定の個人を識別するための番号の利用等に関する法律(番号法)第9条、同法別表",
        subjects="県内市町村の国民健康保険の被保険者であった者及びその世帯",
        items=items(),
        sources=tuple(municipalities) or ("県内市町村",),
        retention_years=5,
        started_on=started_on,
        sensitive=True,  # 健康・医療 (RECE) is 要配慮個人情報
        provisions=tuple(
            Approval(
                m,
                "取込結果・県ID対応表・世帯継続性候補・多数回該当回数(個人番号を含まない)",
                "国民健康保険法",
                started_on,
            )
            for m in municipalities
        ),
        computer=True,
        online=True,
        entrustments=(Entrustment(contractor),) if contractor else (),
    )

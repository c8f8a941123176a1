"""Small literal exchange files for tests (synthetic numbers only, made by the generator)."""

from __future__ import annotations

from typing import Any

from shuyaku import ids

PREF = "11"
MUNI_A = ids.with_municipality_check_digit("11203")  # 112038
MUNI_B = ids.with_municipality_check_digit("11100")  # 111007
INSURER_A = ids.with_insurer_check_digit("11203")
INSURER_B = ids.with_insurer_check_digit("11100")
INSURERS = {MUNI_A: INSURER_A, MUNI_B: INSURER_B}


def number(seed: int) -> str:
    """A deterministic synthetic individual number with a valid check digit."""
    body = f"{(seed * 7_919_191 + 12_345) % 10**11:011d}"
    return body + str(ids.individual_number_check_digit(body))


def skks(
    atena: str,
    *,
    muni: str = MUNI_A,
    history: int = 1,
    op: str = "1",
    individual_number: str | None = "",
    setai: str = "2000000001",
    head: bool = True,
    name: str = "試験　太郎",
    kana: str = "シケン　タロウ",
    change_date: str = "20261001",
    reason: str = "02",
    qualified_from: str = "20261001",
    qualified_until: str = "",
    until_reason: str = "",
    applied_from: str = "20261001",
    applied_to: str = "",
    birth: str = "19700101",
    **overrides: str,
) -> list[str]:
    row = [
        "2",
        muni,
        atena,
        str(history),
        op,
        change_date,
        reason,
        individual_number or "",
        setai,
        "1" if head else "0",
        "世帯主" if head else "子",
        "",
        "12345678",
        "01",
        name,
        kana,
        birth,
        "1",
        qualified_from,
        "02",
        qualified_until,
        until_reason,
        applied_from,
        applied_to,
        "",
        "20261001090000",
    ]
    for index, value in overrides.items():
        row[int(index.removeprefix("i"))] = value
    return row


def skse(
    setai: str,
    *,
    muni: str = MUNI_A,
    history: int = 1,
    op: str = "1",
    head_atena: str = "1000000001",
    address: str = "架空市緑町1丁目2番3号",
    change_date: str = "20261001",
    reason: str = "21",
    applied_from: str = "20261001",
    applied_to: str = "",
) -> list[str]:
    return [
        "2",
        muni,
        setai,
        str(history),
        op,
        change_date,
        reason,
        head_atena,
        "0",
        "3300001",
        address,
        applied_from,
        applied_to,
        "20261001090000",
    ]


def csv_line(values: list[str]) -> str:
    out = []
    for v in values:
        out.append('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v)
    return ",".join(out)


def exchange_file(
    kind: str,
    rows: list[list[str]],
    *,
    muni: str = MUNI_A,
    seq: int = 1,
    data_kind: str = "2",
    encoding: str = "utf-8",
    insurer: str | None = None,
    trailer: list[str] | None = None,
    header: list[str] | None = None,
) -> bytes:
    head = header or [
        "1",
        kind,
        muni,
        insurer or INSURERS.get(muni, INSURER_A),
        data_kind,
        "20261001",
        "20261001180000",
        str(seq),
        "1.0",
    ]
    ops = [r[4] for r in rows]
    tail = trailer or ["3", str(len(rows)), str(ops.count("1")), str(ops.count("2")), str(ops.count("3")), ""]
    text = "".join(csv_line(line) + "\r\n" for line in [head, *rows, tail])
    return text.encode(encoding)


def rece(
    atena: str,
    *,
    muni: str = MUNI_A,
    month: str = "202607",
    institution: str = "1310000001",
    setting: str = "1",
    detail: str = "1",
    op: str = "1",
    total: int = 1_000_000,
    copay: int = 300_000,
    disease: str = "0",
) -> list[str]:
    return ["2", muni, atena, month, institution, setting, detail, op, str(total), str(copay), disease]


def skbn(
    setai: str,
    *,
    muni: str = MUNI_A,
    op: str = "1",
    start: str = "202608",
    end: str = "",
    under70: str = "03",
    over70: str = "",
    year: str = "2026",
) -> list[str]:
    return ["2", muni, setai, op, start, end, under70, over70, year, "20260801090000"]


def amount_trailer(rows: list[list[str]], amount_index: int, op_index: int = 7) -> list[str]:
    ops = [r[op_index] for r in rows]
    return [
        "3",
        str(len(rows)),
        str(ops.count("1")),
        str(ops.count("2")),
        str(ops.count("3")),
        str(sum(int(r[amount_index]) for r in rows)),
    ]


def kggt(
    setai: str,
    month: str,
    *,
    muni: str = MUNI_A,
    op: str = "1",
    kind: str = "1",
    income: str = "03",
    tasuukai: str = "0",
    move_month: str = "0",
    payment: int = 50_000,
) -> list[str]:
    return ["2", muni, setai, month, op, kind, income, tasuukai, move_month, str(payment), "20261001090000"]


def kggt_file(rows: list[list[str]], *, muni: str = MUNI_A, seq: int = 1) -> bytes:
    return exchange_file("KGGT", rows, muni=muni, seq=seq, trailer=amount_trailer(rows, 9, op_index=4))


REGISTRATION = {
    "name": "国民健康保険の資格管理",
    "purpose": "国民健康保険の被保険者の資格を管理するため",
    "basis": "国民健康保険法",
    "subjects": "被保険者",
    "items": ["氏名", "住所", "生年月日"],
    "sources": ["本人"],
    "retention_years": 5,
    "started_on": "2016-04-01",
}


def two_units_with_alike_registrations(ctx: Any) -> None:
    """国保課 (kokuho) registers K-001; 福祉課 (fukushi) registers nearly the same work as
    F-001 with fewer items — the council's question, for the register's screens."""
    from datetime import date

    from shuyaku.access.actor import Actor
    from shuyaku.register import service as register
    from shuyaku.register.model import Registration

    clerk = Actor("jimu", "register_clerk")
    for code, name in (("kokuho", "国保課"), ("fukushi", "福祉課")):
        register.add_unit(ctx, clerk, code, name, date(2016, 4, 1))
    register.add(ctx, clerk, "K-001", "kokuho", Registration.from_mapping(REGISTRATION), date(2016, 4, 1), "新規登録")
    alike = Registration.from_mapping({**REGISTRATION, "name": "国民健康保険資格の管理", "items": ["氏名"]})
    register.add(ctx, clerk, "F-001", "fukushi", alike, date(2020, 4, 1), "新規登録")

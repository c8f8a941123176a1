"""docs/interface.md — the vendors' guide in this repository — agrees with the shared
contract it retells and with the reader: its example is a file shuyaku accepts, and no
code, kind or code-table entry of the contract is missing from it."""

from __future__ import annotations

import re
from pathlib import Path

from shuyaku.exchange import envelope
from shuyaku.exchange.layouts import INBOUND
from shuyaku.exchange.validate import validate
from shuyaku.ingest.inbound import _frame

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "interface.md").read_text(encoding="utf-8")
CONTRACT = (ROOT / "docs" / "shared" / "spec" / "files.md").read_text(encoding="utf-8")


def test_the_example_is_a_file_the_reader_accepts() -> None:
    example = re.search(r"Example — an SKKS delta.*?```\n(.*?)```", GUIDE, flags=re.DOTALL)
    assert example is not None
    raw = example.group(1).replace("\n", "\r\n").encode("utf-8")
    parsed = envelope.parse(raw, "utf-8")
    assert parsed.header.kind == "SKKS"
    layout = INBOUND["SKKS"]
    records, width = _frame(layout, parsed)
    problems = validate(layout, records, width)
    assert records.height == 1 and problems.height == 0, problems.to_dicts()


def test_every_code_kind_and_table_entry_of_the_contract_is_in_the_guide() -> None:
    codes = set(re.findall(r"\b[EW][0-9]{3}\b", CONTRACT))
    assert len(codes) >= 19 and codes <= set(re.findall(r"\b[EW][0-9]{3}\b", GUIDE))
    kinds = {"SKKS", "SKSE", "KGGT", "SKBN", "RECE", "KKKK", "IDTB", "KZKH", "TSKG"}
    assert all(f"**{k} —" in GUIDE or f"### {k} —" in GUIDE for k in kinds)
    tables = CONTRACT.partition("## Code tables")[2]
    entries = re.findall(r"\b([0-9]{2}) ([^,(\n]+?)(?=[,(\n]| \()", tables)
    assert len(entries) > 40
    for code, label in entries:
        assert f"{code} {label.strip().split(' ')[0]}" in GUIDE, (code, label)

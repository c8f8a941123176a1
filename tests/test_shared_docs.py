"""The copies of the shared contracts in docs/shared/ are the texts the project works to."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPIES = sorted((ROOT / "docs" / "shared").glob("*/*.md"))
ORIGINALS = ROOT.parent / "shared"


def test_the_copies_cover_the_contracts_the_docs_link_to() -> None:
    names = {f"{p.parent.name}/{p.name}" for p in COPIES}
    assert {"spec/files.md", "spec/kogaku-calc.md", "reference/kogaku.md", "reference/continuity.md"} <= names


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="../shared is not beside this clone: nothing to compare with")
@pytest.mark.parametrize("copy", COPIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_copy_equals_its_original(copy: Path) -> None:
    original = ORIGINALS / copy.parent.name / copy.name
    assert original.exists(), f"{original} is gone: remove the copy or restore the original"
    assert copy.read_bytes() == original.read_bytes(), "docs/shared is stale: run `make shared-docs`"

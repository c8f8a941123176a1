"""A decided continuity candidate reaches both ends of the move: the destination in its KZKH
as always, and the 転出元 municipality too, so it knows where the household's count went —
without the destination's 世帯番号 (the origin's file names only the origin's own keys)."""

from __future__ import annotations

import csv
from pathlib import Path

from shuyaku.ingest.returns import export
from shuyaku.review import continuity
from tests.builders import MUNI_A, MUNI_B
from tests.conftest import OPERATOR
from tests.integration.test_continuity import SUPERVISOR_B, Prefecture, candidates, family_in_a, move_whole_family


def _kzkh(ctx, muni: str, folder: Path) -> list[list[str]]:  # type: ignore[no-untyped-def]
    files = export(ctx, OPERATOR, muni, "KZKH", folder)
    return [r for f in files for r in csv.reader(f.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]


def test_the_origin_hears_of_a_confirmation_and_of_a_rejection_once_each(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)  # A → B
    [candidate] = candidates(ctx)
    assert _kzkh(ctx, MUNI_A, tmp_path / "a0") == []  # proposed: the destination decides; A waits

    continuity.confirm(ctx, SUPERVISOR_B, candidate.candidate_id, "転入届で確認")
    [row] = _kzkh(ctx, MUNI_A, tmp_path / "a1")
    # Items: レコード区分, 候補番号, 転入先市町村コード, 世帯番号, 県世帯ID, 転出元市町村コード, 転出元県世帯ID, 異動年月日, 規則, 判定, 状態, 理由
    assert (row[1], row[2], row[3], row[4], row[5], row[10]) == (
        str(candidate.candidate_id),
        MUNI_B,
        "",  # the destination's 世帯番号 is not the origin's to know
        candidate.to_household,
        MUNI_A,
        "confirmed",
    )
    assert _kzkh(ctx, MUNI_A, tmp_path / "a2") == []  # said once
    [at_b] = _kzkh(ctx, MUNI_B, tmp_path / "b1")
    assert at_b[3] == candidate.to_setai_no and at_b[10] == "confirmed"
    assert _kzkh(ctx, MUNI_B, tmp_path / "b2") == []  # the destination too hears it once

    continuity.reject(ctx, SUPERVISOR_B, candidate.candidate_id, "別世帯と判明")
    [row] = _kzkh(ctx, MUNI_A, tmp_path / "a3")
    assert row[10] == "rejected" and "別世帯と判明" in row[11]

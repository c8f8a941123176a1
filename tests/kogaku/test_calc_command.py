"""`shuyaku kogaku calc` as a clerk runs it: no database, JSON out, exit 2 with the field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASE = {
    "month": "2026-07",
    "income_class": {"under70": "ウ", "over70": "一般"},
    "prior_hit_months": ["2025-09", "2026-01", "2026-03"],
    "in_prefecture_move": False,
    "members": [{"id": "A", "birth_date": "1979-05-10"}, {"id": "B", "birth_date": "1954-11-02"}],
    "claims": [
        {
            "member": "A",
            "institution": "1310000001",
            "setting": "inpatient",
            "total_cost": 1000000,
            "copay": 300000,
            "specified_disease": 0,
        }
    ],
}


def run(args: list[str], stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuyaku.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "SHUYAKU_HOME": str(cwd or ".") + "/nowhere"},
        check=False,
    )


def test_the_spec_example_from_a_file_on_a_fresh_install(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(CASE, ensure_ascii=False), encoding="utf-8")
    done = run(["kogaku", "calc", str(path)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["payment"], result["tasuukai"], result["hit"], result["cap_table"]) == (
        255600,
        True,
        "household",
        "2018-08",
    )
    assert result["steps"] == {"outpatient_special": 0, "over70_household": 0, "household": 255600}
    assert list(result) == [
        "month",
        "cap_table",
        "prior_hits_in_window",
        "tasuukai",
        "hit",
        "payment",
        "steps",
        "members",
        "trace",
    ]
    assert not (tmp_path / "nowhere").exists()  # no `shuyaku init`, no database


def test_stdin_and_an_invalid_case_exits_2_with_one_line(tmp_path: Path) -> None:
    assert json.loads(run(["kogaku", "calc", "-"], json.dumps(CASE), cwd=tmp_path).stdout)["payment"] == 255600
    bad = {**CASE, "income_class": {"under70": "カ", "over70": "一般"}}
    done = run(["kogaku", "calc", "-"], json.dumps(bad), cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("income_class.under70:")


def test_a_month_may_be_written_as_in_the_files(tmp_path: Path) -> None:
    compact = {**CASE, "month": "202607", "prior_hit_months": ["202509", "2026-01", "202603"]}
    done = run(["kogaku", "calc", "-"], stdin=json.dumps(compact), cwd=tmp_path)
    same = run(["kogaku", "calc", "-"], stdin=json.dumps(CASE), cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout) == json.loads(same.stdout)
    assert json.loads(done.stdout)["month"] == "2026-07"  # the contract's form on the way out

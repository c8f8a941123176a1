"""The README's command reference is the commands' own: none missing, none stale."""

from __future__ import annotations

from pathlib import Path

from shuyaku.cli_reference import END, START, reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_command_and_option_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    documented = START + text.partition(START)[2].partition(END)[0] + END
    assert documented == reference(), "run: .venv/bin/python -m shuyaku.cli_reference --write README.md"
    rows = [line for line in reference().splitlines() if line.startswith("| `shuyaku ")]
    assert len(rows) > 40 and all(line.count("|") == 5 for line in rows)  # a row for every command
    assert all(line.endswith(("| 0/2/3 |", "| 0/1/2/3 |")) for line in rows)  # with its exit codes
    assert "| 0/1/2/3 |" in next(line for line in rows if line.startswith("| `shuyaku ingest "))
    assert "`shuyaku backup FOLDER`" in documented and "`--against`" in documented

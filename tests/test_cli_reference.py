"""The README's command reference is the commands' own: none missing, none stale."""

from __future__ import annotations

from pathlib import Path

from shuyaku.cli_reference import END, START, reference

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_command_and_option_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    documented = START + text.partition(START)[2].partition(END)[0] + END
    assert documented == reference(), "run: .venv/bin/python -m shuyaku.cli_reference --write README.md"
    for line in reference().splitlines()[4:-2]:
        assert line.startswith("| `shuyaku ") and line.count("|") == 4  # a row for every command
    assert "`shuyaku backup FOLDER`" in documented and "`--against`" in documented

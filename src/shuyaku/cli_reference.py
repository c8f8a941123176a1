"""The command reference in the README, made from the commands themselves.

``python -m shuyaku.cli_reference`` prints it; ``--write README.md`` replaces the text
between the ``commands`` markers. A test fails when the README's reference differs from
the commands (as sqlite-utils keeps its documentation honest), so a new command or option
cannot ship undocumented.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

START, END = "<!-- commands:start -->", "<!-- commands:end -->"


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            yield from _walk(sub, [*path, name])
    else:
        yield path, command


def reference() -> str:
    from shuyaku.cli import app
    from shuyaku.cli.japanese import EXIT_CODES, EXIT_ONE, exit_codes

    lines = [START, "", "| command | what it does | options | exit codes |", "|---|---|---|---|"]
    for path, command in _walk(typer.main.get_command(app), ["shuyaku"]):
        arguments = [p.name.upper() for p in command.params if p.param_type_name == "argument"]
        options = [
            "/".join(o for o in p.opts if o.startswith("--"))
            for p in command.params
            if p.param_type_name == "option" and p.name != "help"
        ]
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        usage = " ".join([*path, *arguments])
        codes = "/".join(str(c) for c in exit_codes(" ".join(path[1:])) if c != 130)
        flags = " ".join(f"`{o}`" for o in options if o)
        lines.append(f"| `{usage}` | {summary.replace('|', '／')} | {flags} | {codes} |")
    lines += ["", "Exit codes (every command's `--help` lists its own):", ""]
    lines += [f"- `{code}`: {meaning}" for code, meaning in EXIT_CODES.items()]
    lines += ["- `1`: what it means for the commands that use it —"]
    lines += [
        f"  `{path}`: {meaning}" + (";" if i < len(EXIT_ONE) - 1 else "")
        for i, (path, meaning) in enumerate(EXIT_ONE.items())
    ]
    return "\n".join([*lines, "", END])


def replace_in(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    path.write_text(before + reference() + after, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        replace_in(Path(sys.argv[2]))
    else:
        sys.stdout.write(reference() + "\n")

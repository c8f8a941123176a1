"""Which files, in which order: each sender's files by kind and 連番, read from the header."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shuyaku.exchange import envelope
from shuyaku.exchange.envelope import EnvelopeError
from shuyaku.exchange.layouts import KNOWN_KINDS


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files and folders (their ``*.csv``) in ingest order: by sender, kind, then 連番.
    Inside a folder, symbolic links are listed too (and refused with a reason), never followed."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            out.extend(sorted(p for p in _walk(path) if p.suffix.lower() == ".csv"))
        else:
            out.append(path)
    return sorted(out, key=_order_key)


def _walk(folder: Path) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        found += [Path(root) / n for n in names]
        found += [Path(root) / d for d in dirs if (Path(root) / d).is_symlink()]
    return found


def sender_of(path: Path) -> str:
    """The sender's 市町村コード from the header ("" when the header cannot be read)."""
    return str(_order_key(path)[1])


def _order_key(path: Path) -> tuple[Any, ...]:
    try:
        if path.is_symlink() or not path.is_file():
            raise OSError
        with path.open("rb") as handle:
            header = envelope.peek_header(handle.readline(4096))
        return (0, header.municipality_code, KNOWN_KINDS.index(header.kind), header.seq, path.name)
    except (EnvelopeError, OSError):
        return (1, "", 0, 0, path.name)

"""Files the system writes: owner-only, whatever the umask, and never half-written.

Everything under SHUYAKU_HOME (database, keys, archive, outbox, reports, log) holds
personal data or the keys to it, so it is created 0600 (directories 0700).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """From here on this process creates files 0600 and directories 0700."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write_private(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` (0600), flushed to disk before this returns."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def replace_private(target: Path, payload: bytes) -> None:
    """Write ``payload`` under a temporary name beside ``target``, then rename: a reader
    sees the old file or the new one, never half of it."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")  # two writers never share one
    try:
        write_private(tmp, payload)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)

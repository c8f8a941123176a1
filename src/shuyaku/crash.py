"""Named crash points for the crash harness (tests/integration/test_crash.py).

``SHUYAKU_CRASH_AT=name[:n]`` makes the process SIGKILL itself the n-th time (default the
first) it passes the point ``name``. Unset — always, outside the harness — a crash point
costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

_passed: dict[str, int] = {}


def crash_point(name: str) -> None:
    target = os.environ.get("SHUYAKU_CRASH_AT")
    if not target:
        return
    point, _, nth = target.partition(":")
    if point != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)

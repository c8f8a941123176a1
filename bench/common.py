"""What the benchmarks share: child processes, their peak memory, a database to wipe."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path


def peak_mb() -> float:
    """Peak resident memory of this process or of its largest worker process, whichever is
    larger. (ru_maxrss of this process would carry the parent's peak over fork and exec;
    VmHWM belongs to this program alone.)"""
    own = next(
        (
            int(line.split()[1]) / 1024
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        ),
        0.0,
    )
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def run_child(script: str, **kwargs: str) -> dict[str, object]:
    """Run ``script --child --k=v …`` and return the JSON of its last output line."""
    command = [sys.executable, script, "--child"] + [f"--{k}={v}" for k, v in kwargs.items()]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"step failed: {kwargs}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reset_postgres(url: str) -> None:
    """Empty the benchmark's own database (created on first use; never the tests' one)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": target.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()

"""``polars_pool.run_in_pool``: the work runs once, on a Polars pool thread where that is
safe, with its result or exception handed back; never two works holding the pool at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from shuyaku.polars_pool import run_in_pool


def _in_subprocess(threads: int, code: str) -> str:
    """``code`` run by a fresh interpreter whose Polars pool has ``threads`` threads."""
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


WHERE = """
    import threading
    from shuyaku import polars_pool
    {setup}
    here = threading.get_ident()
    print("pool" if polars_pool.run_in_pool(threading.get_ident) != here else "caller")
"""


def test_work_runs_on_a_pool_thread_when_one_stays_free() -> None:
    assert _in_subprocess(2, WHERE.format(setup="")) == "pool"


def test_a_pool_of_one_thread_is_held_only_by_a_process_alone() -> None:
    assert _in_subprocess(1, WHERE.format(setup="")) == "caller"
    assert _in_subprocess(1, WHERE.format(setup="polars_pool.alone()")) == "pool"


def test_result_and_exception_come_back_to_the_caller() -> None:
    calls = []

    def work() -> int:
        calls.append(1)
        return 42

    assert run_in_pool(work) == 42
    assert calls == [1]
    assert run_in_pool(lambda: None) is None  # a file another run took: no outcome, not an error

    class Refused(Exception):
        pass

    error = Refused("one file's failure")

    def failing() -> None:
        raise error

    with pytest.raises(Refused) as caught:
        run_in_pool(failing)
    assert caught.value is error
    with pytest.raises(SystemExit):
        run_in_pool(lambda: sys.exit(3))


def test_a_work_inside_a_work_runs_where_it_is() -> None:
    def outer() -> tuple[int, int]:
        return threading.get_ident(), run_in_pool(threading.get_ident)

    first, second = run_in_pool(outer)
    assert first == second


STARVED = """
    import threading
    import polars as pl
    from shuyaku import polars_pool
    {setup}
    lock, holding = threading.Lock(), threading.Event()
    frame = pl.DataFrame({{"a": list(range(100)), "b": list(range(100))}})
    sums = []

    def other():
        with lock:
            holding.set()
            for _ in range(20):
                sums.append(int(frame.select(pl.col("a").sum(), pl.col("b").max())["a"][0]))

    def work():
        holding.wait(10)
        with lock:
            return "done"

    results = []
    waiting = threading.Thread(target=lambda: results.append(polars_pool.run_in_pool(work)), daemon=True)
    waiting.start()
    b = threading.Thread(target=other, daemon=True)
    b.start()
    b.join(10)
    waiting.join(10)
    print(results, sums == [4950] * 20)
"""


def test_a_thread_that_needs_polars_while_a_work_waits_on_it_is_not_starved() -> None:
    """Thread B holds a lock and makes Polars operations; the work waits for that lock. With
    a pool thread held by the work, B's operations must still find one — and where the
    pool has only that one, the work runs on its own thread instead."""
    for threads in (2, 1):
        assert _in_subprocess(threads, STARVED.format(setup="")) == "['done'] True"

"""Validation benchmark: the checks of one file (``exchange.validate``) against reading it.

On the files `bench/intake.py` generated (run it first; default 400,000 persons): the
largest full SKKS and SKSE file and the largest SKKS and SKSE file of the daily delta. For
each, the milliseconds of ``envelope.parse`` (the baseline: reading the file into columns)
and of ``validate``, both run as an ingest runs them — on a Polars pool thread
(``polars_pool``) — best of seven.

    .venv/bin/python bench/validate.py
    .venv/bin/python bench/validate.py --persons 30000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


def best_ms(step: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    from shuyaku.exchange import envelope
    from shuyaku.exchange.layouts import INBOUND
    from shuyaku.exchange.validate import validate
    from shuyaku.ingest.inbound import _frame
    from shuyaku.polars_pool import run_in_pool

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=400_000)
    args = parser.parse_args()
    data = ROOT / "out" / f"intake-m63-p{args.persons}-d20000-s11"
    if not data.exists():
        raise SystemExit(f"{data} is missing: run bench/intake.py --persons {args.persons} first")
    encodings = {m["code"]: m["encoding"] for m in json.loads((data / "municipalities.json").read_text())}
    picks = [
        (folder, kind, max((data / folder).glob(f"*_{kind}_*.csv"), key=lambda p: p.stat().st_size))
        for folder in ("full", "delta")
        for kind in ("SKKS", "SKSE")
    ]
    print(f"{'file':34} {'records':>8} {'parse ms':>9} {'validate ms':>12} {'× parse':>8} {'problems':>9}")
    for _folder, kind, path in picks:
        raw, layout, encoding = path.read_bytes(), INBOUND[kind], encodings[path.name[:6]]

        def measure(raw: bytes = raw, layout: Any = layout, encoding: str = encoding) -> tuple[float, float, int, int]:
            parse = best_ms(lambda: envelope.parse(raw, encoding, max_columns=1000))
            records, width = _frame(layout, envelope.parse(raw, encoding, max_columns=1000))
            checks = best_ms(lambda: validate(layout, records, width))
            return parse, checks, records.height, validate(layout, records, width).height

        parse, checks, records, problems = run_in_pool(measure)
        print(f"{path.name:34} {records:>8,} {parse:>9.1f} {checks:>12.1f} {checks / parse:>8.2f} {problems:>9,}")


if __name__ == "__main__":
    main()

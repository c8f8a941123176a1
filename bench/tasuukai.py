"""多数回 benchmark: `tasuukai run` for one month over a prefecture's hit history.

    .venv/bin/python bench/tasuukai.py                       # 600,000 households, PostgreSQL
    .venv/bin/python bench/tasuukai.py --households 60000    # a quicker look
    .venv/bin/python bench/tasuukai.py --sqlite              # the embedded default instead

The data goes straight into the tables (no files): 600,000 households with 24 months of
KGGT hit months (2025-01 … 2026-12; about 1% of households hit a month: 0.5% of households
are repeat hitters at 75% of months, the rest at about 0.6%; one hit in ten of those is
外来特例 only), 2% of households moved to another municipality with a confirmed K1 candidate
(one in ten of them moved again; both municipalities report the move month), and 0.2%
restarted by a confirmed K5. Prints, in the same run:
- `tasuukai run --month 202612` end to end, first run (every count written) and a re-run
  (nothing changed): seconds, peak memory;
- the count alone (`tasuukai.counts`, Polars) on data already read;
- the baseline: the same counts as one recursive DuckDB SQL query over the same rows, and
  whether both agree for every household.
The database is `shuyaku_bench_tasuukai` (created if missing, emptied before a load).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_mb, reset_postgres, run_child  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench_tasuukai"
MONTHS = [f"{y}{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
RUN_MONTH = "202612"

DUCKDB_SQL = """
WITH RECURSIVE
own AS (SELECT DISTINCT household, month, household AS origin, month AS arrived FROM hits),
contrib(household, month, origin, arrived) AS (
  SELECT * FROM own
  UNION
  SELECT e.dst, c.month, c.origin, e.cutoff
  FROM contrib c JOIN edges e ON e.src = c.household
  WHERE c.month <= e.cutoff AND e.cutoff >= $first
    AND NOT EXISTS (SELECT 1 FROM restarts r WHERE r.household = c.household AND c.arrived < r.restart AND r.restart < e.cutoff)
),
latest AS (SELECT household, max(restart) AS restart FROM restarts GROUP BY household)
SELECT c.household, count(DISTINCT c.month) AS hit_count
FROM contrib c LEFT JOIN latest l USING (household)
WHERE l.restart IS NULL OR c.arrived >= l.restart
GROUP BY c.household
"""


def load(settings: object, households: int, seed: int) -> dict[str, object]:
    """Households, hit months and confirmed candidates, written with the store's bulk path."""
    from datetime import UTC, date, datetime

    import numpy as np
    import polars as pl

    from shuyaku import ids
    from shuyaku.context import open_context
    from shuyaku.db.engine import bulk_insert
    from shuyaku.db.schema import continuity_candidate, hit_report, household_key
    from shuyaku.setup import init

    rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    init(settings, "11", now)  # type: ignore[arg-type]
    ctx = open_context(settings)  # type: ignore[arg-type]
    munis = [ids.with_municipality_check_digit(f"11{(i * 7 + 101) % 1000:03d}") for i in range(63)]
    n_moved = households * 2 // 100
    n_again = n_moved // 10
    total = households + n_moved + n_again
    hh_ids = ids.new_pref_id_batch("11", ids.HOUSEHOLD_KIND, total)
    muni_of = rng.integers(0, len(munis), total)
    keys = pl.DataFrame(
        {
            "municipality_code": [munis[i] for i in muni_of],
            "setai_no": [f"{i + 1:010d}" for i in range(total)],
            "pref_household_id": hh_ids,
        }
    ).with_columns(pl.lit(now).alias("bound_at"), pl.lit(0).alias("file_id"))
    # Lineages: household i; the first n_moved also have a successor, the first n_again a second one.
    first_move = rng.integers(1, len(MONTHS) - 1, n_moved)
    second_move = np.minimum(first_move[:n_again] + rng.integers(1, 6, n_again), len(MONTHS) - 1)
    chronic = rng.random(households) < 0.005
    p_hit = np.where(chronic, 0.75, 0.0063)
    draws = rng.random((households, len(MONTHS))) < p_hit[:, None]
    outpatient_only = (rng.random((households, len(MONTHS))) < 0.1) & ~chronic[:, None]
    lineage, month_idx = np.nonzero(draws)
    # Which household of its lineage reported the month: before the move the first, after it the next.
    owner = lineage.copy()
    moved = lineage < n_moved
    after_first = moved & (month_idx >= first_move[np.minimum(lineage, n_moved - 1)])
    owner[after_first] = households + lineage[after_first]
    again = lineage < n_again
    after_second = again & (month_idx >= second_move[np.minimum(lineage, n_again - 1)])
    owner[after_second] = households + n_moved + lineage[after_second]
    # The move month is reported by both municipalities (半額特例の月).
    at_move = moved & (month_idx == first_move[np.minimum(lineage, n_moved - 1)])
    rows = pl.DataFrame(
        {
            "h": np.concatenate([owner, lineage[at_move]]),
            "m": np.concatenate([month_idx, month_idx[at_move]]),
            "k": np.concatenate(
                [outpatient_only[lineage, month_idx], outpatient_only[lineage[at_move], month_idx[at_move]]]
            ),
        }
    )
    hh = keys.with_row_index("h").select(
        pl.col("h").cast(pl.Int64), "municipality_code", "setai_no", "pref_household_id"
    )
    hits = (
        rows.with_columns(pl.col("h").cast(pl.Int64))
        .join(hh, on="h")
        .select(
            "municipality_code",
            "setai_no",
            pl.col("m").replace_strict(dict(enumerate(MONTHS)), return_dtype=pl.String).alias("month"),
            "pref_household_id",
            pl.when(pl.col("k")).then(pl.lit("2")).otherwise(pl.lit("1")).alias("kind"),
            pl.lit("03").alias("income_code"),
            pl.lit("0").alias("municipal_tasuukai"),
            pl.lit("0").alias("move_month"),
            pl.lit(80_000).alias("payment"),
            pl.lit("20261231090000").alias("source_updated"),
            pl.lit(0).alias("file_id"),
            pl.int_range(pl.len()).alias("line_no"),
            pl.lit(now).alias("recorded_at"),
        )
        .unique(["municipality_code", "setai_no", "month"])
    )

    def day(index: int) -> date:
        month = MONTHS[index]
        return date(int(month[:4]), int(month[4:]), 10)

    def candidate(src: list[int], dst: list[int], days: list[date], rule: str, continuous: bool) -> pl.DataFrame:
        s, d = hh[src], hh[dst]
        return pl.DataFrame(
            {
                "from_household": s["pref_household_id"],
                "from_municipality_code": s["municipality_code"],
                "from_setai_no": s["setai_no"],
                "to_household": d["pref_household_id"],
                "to_municipality_code": d["municipality_code"],
                "to_setai_no": d["setai_no"],
                "change_date": days,
                "rule": [rule] * len(src),
                "continuous": [continuous] * len(src),
                "status": ["confirmed"] * len(src),
                "reason": ["bench"] * len(src),
                "persons": ["{}"] * len(src),
                "households": ["[]"] * len(src),
                "proposed_at": [now] * len(src),
                "file_id": [0] * len(src),
                "decided_by": ["bench"] * len(src),
                "decided_at": [now] * len(src),
            }
        )

    moves = candidate(
        list(range(n_moved)), [households + i for i in range(n_moved)], [day(int(i)) for i in first_move], "K1", True
    )
    agains = candidate(
        [households + i for i in range(n_again)],
        [households + n_moved + i for i in range(n_again)],
        [day(int(i)) for i in second_move],
        "K1",
        True,
    )
    restarted = rng.choice(np.arange(n_moved, households), households // 500, replace=False).tolist()
    restarts = candidate(
        restarted, restarted, [day(int(i)) for i in rng.integers(0, len(MONTHS), len(restarted))], "K5", False
    )
    started = time.perf_counter()
    with ctx.engine.begin() as conn:
        bulk_insert(conn, household_key, keys)
        bulk_insert(conn, hit_report, hits)
        bulk_insert(conn, continuity_candidate, pl.concat([moves, agains, restarts]))
    ctx.note_bulk_write(10**9, ["household_key", "hit_report", "continuity_candidate"])
    return {
        "households": total,
        "hit_rows": hits.height,
        "household_hits_per_month": round(hits.filter(pl.col("kind") == "1").height / 24),
        "edges": n_moved + n_again,
        "restarts": len(restarted),
        "load_seconds": round(time.perf_counter() - started, 1),
    }


def child(args: argparse.Namespace) -> None:
    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.kogaku import tasuukai

    settings = Settings(home=Path(args.home), database_url=args.url)
    figures: dict[str, object] = {}
    if args.step == "load":
        figures = load(settings, int(args.households), int(args.seed))
    elif args.step in ("run", "rerun"):
        ctx = open_context(settings)
        started = time.perf_counter()
        summary = tasuukai.run_month(ctx, Actor("bench", "federation_operator"), RUN_MONTH)
        figures = {
            "seconds": time.perf_counter() - started,
            "households": summary.households,
            "tasuukai": summary.tasuukai,
            "changed": summary.changed,
            "peak_mb": peak_mb(),
        }
    elif args.step == "compare":
        import duckdb
        import polars as pl

        ctx = open_context(settings)
        first, last = tasuukai.window(RUN_MONTH)
        with ctx.engine.connect() as conn:
            started = time.perf_counter()
            hits = tasuukai.hit_rows(conn, first, last)
            edges, restarts = tasuukai.lineage(conn, RUN_MONTH)
            figures["read_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        found = tasuukai.contributions(hits, edges, restarts, first)
        ours = found.group_by("household").agg(pl.col("month").n_unique().cast(pl.Int64).alias("hit_count"))
        figures["polars_seconds"] = time.perf_counter() - started
        db = duckdb.connect()
        db.register("hits", hits.select("household", "month").to_arrow())
        db.register("edges", edges.to_arrow())
        db.register("restarts", restarts.to_arrow())
        started = time.perf_counter()
        theirs_rows = db.execute(DUCKDB_SQL, {"first": first}).fetchall()
        figures["duckdb_seconds"] = time.perf_counter() - started
        theirs = pl.DataFrame(theirs_rows, schema={"household": pl.String, "hit_count": pl.Int64}, orient="row")
        joined = ours.join(theirs, on="household", how="full", suffix="_duckdb")
        figures["households_with_months"] = ours.height
        figures["same_count_every_household"] = bool(
            joined.height == ours.height == theirs.height and (joined["hit_count"] == joined["hit_count_duckdb"]).all()
        )
        figures["carried_households"] = found.filter(pl.col("origin") != pl.col("household"))["household"].n_unique()
        figures["peak_mb"] = peak_mb()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database the benchmark may wipe")
    parser.add_argument("--sqlite", action="store_true", help="measure on SQLite (a file under bench/out)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("step", "url", "home"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    home = ROOT / "out" / "home-tasuukai"
    shutil.rmtree(home, ignore_errors=True)
    if args.sqlite:
        home.mkdir(parents=True)
        url = f"sqlite:///{home / 'shuyaku.db'}"
    else:
        url = args.pg_url
        reset_postgres(url)
    common = {"url": url, "home": str(home)}
    loaded = run_child(__file__, step="load", households=str(args.households), seed=str(args.seed), **common)
    print(f"loaded: {loaded}")
    first = run_child(__file__, step="run", **common)
    again = run_child(__file__, step="rerun", **common)
    compare = run_child(__file__, step="compare", **common)
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"\n多数回 for {RUN_MONTH} — {loaded['households']:,} households, {loaded['hit_rows']:,} KGGT rows "
        f"(≈{loaded['household_hits_per_month']:,} household hits a month), {loaded['edges']:,} lineage edges, "
        f"{loaded['restarts']:,} restarts; {backend}"
    )
    print("| what | seconds | peak MB |\n|---|---|---|")
    print(
        f"| `tasuukai run`, first run ({first['households']:,} households counted, {first['tasuukai']:,} 多数回, "
        f"{first['changed']:,} rows written) | {first['seconds']:.2f} | {first['peak_mb']:.0f} |"
    )
    print(
        f"| `tasuukai run`, re-run (nothing changed: {again['changed']:,} rows written) | {again['seconds']:.2f} | {again['peak_mb']:.0f} |"
    )
    print(f"| read the window's hits and the lineage from the store | {compare['read_seconds']:.2f} | |")
    print(f"| count, Polars (`tasuukai.contributions`) | {compare['polars_seconds']:.2f} | |")
    print(f"| count, DuckDB recursive SQL (baseline) | {compare['duckdb_seconds']:.2f} | {compare['peak_mb']:.0f} |")
    ratio = compare["polars_seconds"] / max(compare["duckdb_seconds"], 1e-9)  # type: ignore[operator]
    print(
        f"Polars / DuckDB = {ratio:.2f}×; same count for every household: {compare['same_count_every_household']} "
        f"({compare['households_with_months']:,} households with months, {compare['carried_households']:,} with months carried over a move)"
    )


if __name__ == "__main__":
    main()

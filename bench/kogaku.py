"""高額療養費 benchmark: one Saitama month (≈3 million claim units over 1.4 million persons).

    .venv/bin/python bench/kogaku.py                    # generate, load into PostgreSQL, measure
    .venv/bin/python bench/kogaku.py --skip-load        # measure again on the loaded database
    .venv/bin/python bench/kogaku.py --persons 100000   # a quicker look
    .venv/bin/python bench/kogaku.py --history-months 11   # a store with a year of claims
    .venv/bin/python bench/kogaku.py --earlier-records 4   # and four earlier records a person

Prints, measured in the same run:
- `kogaku run` end to end (store → calculation → hit months → 支給 lists): seconds, peak memory —
  after a load once straight away (the first reader of fresh rows also sets their hint bits)
  and again after `VACUUM (ANALYZE)`, the state autovacuum leaves the store in before a month
  is run;
- the calculation alone, Polars (`batch.calculate_month`) on the month's inputs;
- the baseline: the same steps hand-written in DuckDB SQL on the same inputs, and whether
  both give the same payment for every household;
- after a load, the next month's RECE files (about as many claim units) ingested on two
  workers: a month's claims should cost what they cost, whatever months the store holds.

``--history-months N`` gives the store, after the load, N earlier months of claims (copies
of the month's claim units, by SQL), as a store has after N months in service.
``--earlier-records N`` gives every person N earlier qualification records (a 異動 every
200 days before the one loaded, each ended the day before the next; by SQL, and their
``overtaken_on`` as migration 0013 fills it), as a store has after some years: the records in
force are the same, but there are N + 1 times as many records to choose them from.
The database is `shuyaku_bench_kogaku` (created if missing, emptied before a load).
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
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench_kogaku"


def generate(data: Path, municipalities: int, persons: int, month: str, seed: int) -> None:
    from shuyaku.synth.claims import write_claims, write_income_classes
    from shuyaku.synth.prefecture import SyntheticPrefecture

    if (data / "done.json").exists() and (data / "claims-next").exists():
        return
    shutil.rmtree(data, ignore_errors=True)
    world = SyntheticPrefecture(prefecture="11", municipalities=municipalities, persons=persons, seed=seed)
    world.write_full(data / "full")
    write_income_classes(world, data / "classes", month[:4] + "08")
    write_claims(world, data / "claims", month, seed)
    write_claims(world, data / "claims-next", _next_month(month), seed + 1)  # 連番 2
    register = [
        {"code": m.code, "name": m.name, "insurer": m.insurer_number, "encoding": m.encoding}
        for m in world.municipalities
    ]
    (data / "municipalities.json").write_text(json.dumps(register, ensure_ascii=False))
    (data / "done.json").write_text("{}")


def _next_month(month: str) -> str:
    from shuyaku.kogaku.rules import add_months

    return str(add_months(f"{month[:4]}-{month[4:]}", 1)).replace("-", "")


def add_claim_history(url: str, month: str, months: int) -> dict[str, object]:
    """Copy the claim units of ``month`` into each of the ``months`` months before it."""
    from sqlalchemy import create_engine, text

    from shuyaku.db.schema import claim_unit
    from shuyaku.kogaku.rules import add_months

    columns = [c.name for c in claim_unit.columns if c.name != "row_id"]
    listed = ", ".join(columns)
    chosen = ", ".join(":earlier" if name == "month" else name for name in columns)
    engine = create_engine(url)
    started, rows = time.perf_counter(), 0
    for back in range(1, months + 1):
        earlier = add_months(f"{month[:4]}-{month[4:]}", -back).replace("-", "")
        with engine.begin() as conn:
            rows += conn.execute(
                text(f"INSERT INTO claim_unit ({listed}) SELECT {chosen} FROM claim_unit WHERE month = :month"),
                {"earlier": earlier, "month": month},
            ).rowcount
    engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def add_earlier_records(url: str, records: int) -> dict[str, object]:
    """Give every person ``records`` earlier qualification records (copies of the one loaded,
    a 異動 every 200 days before it, each ended the day before the next), then fill their
    ``overtaken_on``."""
    from sqlalchemy import create_engine, text

    from shuyaku.db.schema import qualification_period

    kept = [c.name for c in qualification_period.columns if c.name not in ("row_id", "overtaken_on")]
    shifted = {
        "history_no": "history_no - k",
        "change_date": "change_date - k * 200",
        "applied_from": "applied_from - k * 200",
        "applied_to": "applied_from - (k - 1) * 200 - 1",
    }
    chosen = ", ".join(shifted.get(name, name) for name in kept)
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE qualification_period SET history_no = history_no + :n"), {"n": records})
        rows = conn.execute(
            text(
                f"INSERT INTO qualification_period ({', '.join(kept)}) SELECT {chosen} "
                "FROM qualification_period, generate_series(1, :n) AS k"
            ),
            {"n": records},
        ).rowcount
        conn.execute(
            text(
                "UPDATE qualification_period AS q SET overtaken_on = later.overtaken_on "
                "FROM (SELECT row_id, min(change_date) OVER (PARTITION BY municipality_code, atena_no "
                "ORDER BY history_no DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS overtaken_on "
                "FROM qualification_period WHERE superseded_at IS NULL) AS later "
                "WHERE q.row_id = later.row_id AND later.overtaken_on IS NOT NULL"
            )
        )
    engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _cap_sql(prefix: str, medical: str, den: str) -> str:
    base, threshold, tasuukai = f"{prefix}_base", f"{prefix}_thr", f"{prefix}_tas"
    return (
        f"(CASE WHEN tasuukai AND {tasuukai} IS NOT NULL THEN {tasuukai} // {den} ELSE {base} // {den} + "
        f"CASE WHEN {threshold} IS NOT NULL AND {medical} > {threshold} // {den} "
        f"THEN ({medical} - {threshold} // {den} + 50) // 100 ELSE 0 END END)"
    )


def _birthday_sql(years: int) -> str:
    y = f"(year(birth_date) + {years})"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    return (
        f"CASE WHEN month(birth_date) = 2 AND day(birth_date) = 29 AND NOT {leap} THEN make_date({y}, 3, 1) "
        f"ELSE make_date({y}, month(birth_date), day(birth_date)) END"
    )


def duckdb_sql(first: str, next_first: str, unit_threshold: int) -> str:
    """kogaku.md steps 1–3 as one DuckDB query over households, members, claims, u70, o70."""
    return f"""
WITH hh AS (
  SELECT h.household_id, h.prior_hits >= 3 AS tasuukai, CASE WHEN h.in_prefecture_move THEN 2 ELSE 1 END AS den,
         u.base AS u_base, u.threshold AS u_thr, u.tasuukai AS u_tas,
         o.base AS o_base, o.threshold AS o_thr, o.tasuukai AS o_tas, o.outpatient AS o_out
  FROM households h LEFT JOIN u70 u ON u.class = h.under70_class LEFT JOIN o70 o ON o.class = h.over70_class),
bd AS (SELECT household_id, member_id, {_birthday_sql(70)} AS b70, {_birthday_sql(75)} AS b75 FROM members),
mem AS (
  SELECT household_id, member_id,
         DATE '{first}' >= CAST(date_trunc('month', b70 - INTERVAL 1 DAY) + INTERVAL 1 MONTH AS DATE) AS over70,
         b75 < DATE '{next_first}' AS before_next, b75 <= DATE '{first}' AS late
  FROM bd),
c AS (SELECT c.*, m.over70, m.over70 AND m.before_next AS turns75
      FROM claims c JOIN mem m USING (household_id, member_id) WHERE NOT m.late),
older AS (
  SELECT household_id, member_id, bool_or(turns75) AS turns75,
         coalesce(sum(copay) FILTER (WHERE setting <> 'inpatient'), 0) AS outpatient,
         coalesce(sum(copay) FILTER (WHERE setting = 'inpatient'), 0) AS inpatient, sum(total_cost) AS medical
  FROM c WHERE over70 GROUP BY household_id, member_id),
o1 AS (SELECT o.*, hh.*, CASE WHEN o.turns75 THEN hh.den * 2 ELSE hh.den END AS own_den FROM older o JOIN hh USING (household_id)),
o2 AS (SELECT *, CASE WHEN o_out IS NOT NULL AND outpatient > 0 THEN greatest(outpatient - o_out // own_den, 0) ELSE 0 END AS paid1 FROM o1),
o3 AS (SELECT *, outpatient - paid1 + inpatient AS after1 FROM o2),
o4 AS (SELECT *, CASE WHEN turns75 THEN greatest(after1 - {_cap_sql("o", "medical", "own_den")}, 0) ELSE 0 END AS own_paid FROM o3),
step1 AS (SELECT household_id, sum(paid1) AS paid1, sum(own_paid) AS own_paid, sum(after1 - own_paid) AS s2, sum(medical) AS m2
          FROM o4 GROUP BY household_id),
units AS (SELECT household_id, sum(copay) AS copay, sum(total_cost) AS total_cost FROM c WHERE NOT over70
          GROUP BY household_id, member_id, institution, setting),
u3 AS (SELECT u.household_id, sum(u.copay) AS c3, sum(u.total_cost) AS m3u FROM units u JOIN hh USING (household_id)
       WHERE u.copay >= {unit_threshold} // hh.den GROUP BY u.household_id),
s AS (SELECT hh.*, coalesce(paid1, 0) AS paid1, coalesce(own_paid, 0) AS own_paid, coalesce(s2, 0) AS s2, coalesce(m2, 0) AS m2,
             coalesce(c3, 0) AS c3, coalesce(m3u, 0) AS m3u
      FROM hh LEFT JOIN step1 USING (household_id) LEFT JOIN u3 USING (household_id)),
t2 AS (SELECT *, CASE WHEN s2 > 0 THEN greatest(s2 - {_cap_sql("o", "m2", "den")}, 0) ELSE 0 END AS paid2 FROM s),
t3 AS (SELECT *, m2 + m3u AS m3 FROM t2),
t4 AS (SELECT *, CASE WHEN c3 > 0 AND u_base IS NOT NULL THEN greatest(s2 - paid2 + c3 - {_cap_sql("u", "m3", "den")}, 0)
                 ELSE 0 END AS household FROM t3)
SELECT household_id, paid1 AS outpatient_special, own_paid + paid2 AS over70_household, household,
       paid1 + own_paid + paid2 + household AS payment FROM t4
"""


def child(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    import polars as pl

    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.ingest.service import ingest_paths
    from shuyaku.kogaku import batch, rules, tables
    from shuyaku.kogaku.service import load_month, run_month
    from shuyaku.setup import add_municipality, init

    data, home = Path(args.data), Path(args.home)
    settings = Settings(home=home, database_url=args.url)
    operator = Actor("bench", "federation_operator")
    figures: dict[str, object] = {}
    if args.step == "load":
        init(settings, "11", datetime.now(UTC))
        ctx = open_context(settings)
        for m in json.loads((data / "municipalities.json").read_text()):
            add_municipality(ctx, operator, m["code"], m["name"], m["insurer"], m["encoding"])
        for folder in ("full", "classes", "claims"):
            started = time.perf_counter()
            outcomes = ingest_paths(ctx, operator, [data / folder], jobs=2)
            figures[folder] = {
                "seconds": time.perf_counter() - started,
                "records": sum(o.records for o in outcomes),
                "statuses": sorted({o.status for o in outcomes}),
            }
    elif args.step == "next":  # the next month's RECE files
        ctx = open_context(settings)
        started = time.perf_counter()
        outcomes = ingest_paths(ctx, operator, [data / "claims-next"], jobs=2)
        figures = {
            "seconds": time.perf_counter() - started,
            "records": sum(o.records for o in outcomes),
            "statuses": sorted({o.status for o in outcomes}),
            "peak_mb": peak_mb(),
        }
    elif args.step == "history":
        figures = add_claim_history(args.url, args.month, int(args.months))
    elif args.step == "records":
        figures = add_earlier_records(args.url, int(args.records))
    elif args.step == "settle":
        from sqlalchemy import create_engine, text

        engine = create_engine(args.url, isolation_level="AUTOCOMMIT")
        started = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
        figures = {"seconds": time.perf_counter() - started}
        engine.dispose()
    elif args.step == "run":
        ctx = open_context(settings)
        started = time.perf_counter()
        summary = run_month(ctx, operator, args.month, home / "lists")
        figures = {
            "seconds": time.perf_counter() - started,
            "households": summary.households,
            "paid": summary.paid_households,
            "total": summary.payment_total,
            "peak_mb": peak_mb(),
        }
    elif args.step == "compare":
        import duckdb

        ctx = open_context(settings)
        dashed = f"{args.month[:4]}-{args.month[4:]}"
        table = tables.table_for(dashed)
        with ctx.engine.connect() as conn:
            started = time.perf_counter()
            inputs = load_month(conn, args.month)
            figures["load_seconds"] = time.perf_counter() - started
        households, members, claims = inputs.households, inputs.members, inputs.claims
        figures["claims"], figures["households"] = claims.height, households.height
        started = time.perf_counter()
        ours = batch.calculate_month(dashed, table, households, members, claims)
        figures["polars_seconds"] = time.perf_counter() - started
        u70 = pl.DataFrame(
            {
                "class": list(table.under70),
                "base": [c.base for c in table.under70.values()],
                "threshold": [c.threshold for c in table.under70.values()],
                "tasuukai": [c.tasuukai for c in table.under70.values()],
            },
            schema={"class": pl.String, "base": pl.Int64, "threshold": pl.Int64, "tasuukai": pl.Int64},
        )
        o70 = pl.DataFrame(
            {
                "class": list(table.over70),
                "base": [c.household.base for c in table.over70.values()],
                "threshold": [c.household.threshold for c in table.over70.values()],
                "tasuukai": [c.household.tasuukai for c in table.over70.values()],
                "outpatient": [c.outpatient for c in table.over70.values()],
            },
            schema={
                "class": pl.String,
                "base": pl.Int64,
                "threshold": pl.Int64,
                "tasuukai": pl.Int64,
                "outpatient": pl.Int64,
            },
        )
        db = duckdb.connect()
        for name, frame in (
            ("households", households),
            ("members", members),
            ("claims", claims),
            ("u70", u70),
            ("o70", o70),
        ):
            db.register(name, frame.to_arrow())
        sql = duckdb_sql(
            str(rules.first_of(dashed)), str(rules.first_of(rules.add_months(dashed, 1))), table.unit_threshold
        )
        started = time.perf_counter()
        db.execute(f"CREATE TABLE result AS {sql}")
        figures["duckdb_seconds"] = time.perf_counter() - started
        theirs = pl.DataFrame(
            db.execute("SELECT household_id, payment FROM result").fetchall(),
            schema={"household_id": pl.Int64, "payment": pl.Int64},
            orient="row",
        )
        joined = ours.join(theirs, on="household_id", how="full", suffix="_duckdb")
        figures["same_payment_every_household"] = bool(
            joined.height == ours.height and (joined["payment"] == joined["payment_duckdb"]).all()
        )
        figures["payment_total"] = int(ours["payment"].sum())
        figures["peak_mb"] = peak_mb()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--municipalities", type=int, default=63)
    parser.add_argument("--persons", type=int, default=1_400_000)
    parser.add_argument("--month", default="202609", help="treatment month YYYYMM")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database the benchmark may wipe")
    parser.add_argument("--skip-load", action="store_true", help="measure on the database loaded by an earlier run")
    parser.add_argument(
        "--history-months", type=int, default=0, help="after the load, this many earlier months of claims (copies)"
    )
    parser.add_argument(
        "--earlier-records", type=int, default=0, help="after the load, this many earlier records a person"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("step", "url", "home", "data", "months", "records"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    data = ROOT / "out" / f"kogaku-m{args.municipalities}-p{args.persons}-{args.month}-s{args.seed}"
    home = ROOT / "out" / "home-kogaku"
    started = time.perf_counter()
    generate(data, args.municipalities, args.persons, args.month, args.seed)
    print(f"data ready in {time.perf_counter() - started:.0f} s ({data})")
    common = {"url": args.pg_url, "home": str(home), "data": str(data), "month": args.month}
    if not args.skip_load:
        shutil.rmtree(home, ignore_errors=True)
        reset_postgres(args.pg_url)
        loaded = run_child(__file__, step="load", **common)
        for folder, f in loaded.items():
            print(f"load {folder:8} {f['records']:>10,} records {f['seconds']:>7.1f} s  {f['statuses']}")  # type: ignore[index]
        if args.history_months:
            added = run_child(__file__, step="history", months=str(args.history_months), **common)
            print(
                f"history: {args.history_months} earlier months, {added['rows']:,} claim units in {added['seconds']:.0f} s"
            )
        if args.earlier_records:
            added = run_child(__file__, step="records", records=str(args.earlier_records), **common)
            print(
                f"history: {args.earlier_records} earlier records a person, "
                f"{added['rows']:,} records in {added['seconds']:.0f} s"
            )
    runs = []
    if not args.skip_load:  # the first reader of fresh rows also writes their hint bits
        runs.append(("kogaku run, straight after the load", run_child(__file__, step="run", **common)))
        settle = run_child(__file__, step="settle", **common)
        print(f"VACUUM (ANALYZE), as autovacuum leaves the store later: {settle['seconds']:.1f} s")
    runs.append(("kogaku run (store → calculation → hit months → lists)", run_child(__file__, step="run", **common)))
    run = runs[-1][1]
    compare = run_child(__file__, step="compare", **common)
    print(f"\nmonth {args.month}: {compare['claims']:,} claim units, {compare['households']:,} households with claims")
    print(f"{'what':58} {'seconds':>8} {'peak MB':>8}")
    for what, figures in runs:
        print(f"{what:58} {figures['seconds']:>8.1f} {figures['peak_mb']:>8.0f}")
    print(f"{'  of which reading the month from the store':58} {compare['load_seconds']:>8.1f}")
    print(f"{'calculation, Polars (batch.calculate_month)':58} {compare['polars_seconds']:>8.2f}")
    print(f"{'baseline: the same steps in DuckDB SQL':58} {compare['duckdb_seconds']:>8.2f}")
    ratio = float(compare["polars_seconds"]) / float(compare["duckdb_seconds"])  # type: ignore[arg-type]
    print(
        f"Polars / DuckDB: {ratio:.2f}×; same payment for every household: {compare['same_payment_every_household']}; "
        f"total {compare['payment_total']:,} yen to {run['paid']:,} households"
    )
    if not args.skip_load:  # after the month's run, which it must not change
        first = loaded["claims"]
        following = run_child(__file__, step="next", **common)
        held = f"{args.history_months + 1} months" if args.history_months else "one month"
        print(
            f"the next month's RECE, {following['records']:,} claim units, into a store of {held}: "
            f"{following['seconds']:.1f} s, {following['seconds'] / first['seconds']:.2f}× the first month's "  # type: ignore[index]
            f"{first['seconds']:.1f} s {following['statuses']}"  # type: ignore[index]
        )


if __name__ == "__main__":
    main()

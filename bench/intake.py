"""Intake benchmark: a Saitama-sized full load and a daily delta, on PostgreSQL and SQLite.

Prints wall time, records/s and peak memory of each ingest next to a baseline measured in
the same run: PostgreSQL COPY of the same data records into an unindexed table of text
columns (what any loader must at least pay to get the rows into the server).

    .venv/bin/python bench/intake.py                      # 63 municipalities, 1.4 M persons, 20,000-record delta
    .venv/bin/python bench/intake.py --persons 100000     # a quicker look
    .venv/bin/python bench/intake.py --persons 400000 --backends postgresql --profile   # and where the time goes
    .venv/bin/python bench/intake.py --persons 400000 --history-years 4   # the delta of a store in its fifth year

After each delta, every kind of return file is exported once for every municipality
(`shuyaku export`): the first IDTB after a load holds every person's binding, so its line
counts the data lines written and its ratio is against the COPY of the full load, for scale.

After the first PostgreSQL full load and its delta, a second baseline: the rows they left in the
store (every table it writes, same columns, same indexes) COPYed back into empty copies of
those tables over two connections — what PostgreSQL alone takes to store this data model,
the floor under any loader of it.

A freshly loaded store has no past: ``--history-years N`` gives it, between the load and the
delta, N years of what every year adds (files received and sent, their problems, access-log
events), so that a daily delta and its return files are measured against the tables a
prefecture has in its Nth year (no floor is measured then: it would copy the history too).

Each measured step runs in a child process, so its peak memory (ru_maxrss) is its own.
Generated files are cached under bench/out/ by their parameters.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import time
from datetime import UTC
from pathlib import Path
from typing import Any

from common import peak_mb, reset_postgres, run_child

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench"


def generate(out: Path, municipalities: int, persons: int, delta_records: int, seed: int) -> None:
    from shuyaku.synth.prefecture import SyntheticPrefecture

    if (out / "done.json").exists():
        return
    shutil.rmtree(out, ignore_errors=True)
    world = SyntheticPrefecture(prefecture="11", municipalities=municipalities, persons=persons, seed=seed)
    world.write_full(out / "full")
    # One business day whose delta files hold about `delta_records` records in all.
    events = max(1, delta_records * 10 // 27)  # an event writes 2.7 records on average here
    world.write_day(out / "delta", events)
    register = [
        {"code": m.code, "name": m.name, "insurer": m.insurer_number, "encoding": m.encoding}
        for m in world.municipalities
    ]
    (out / "municipalities.json").write_text(json.dumps(register, ensure_ascii=False))
    (out / "done.json").write_text("{}")


def data_records(folder: Path) -> int:
    return sum(max(0, len(p.read_bytes().splitlines()) - 2) for p in folder.glob("*.csv"))


def child(args: argparse.Namespace) -> None:
    """Run one measured step and print a JSON line with its figures."""
    from datetime import datetime

    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.ingest.service import ingest_paths
    from shuyaku.setup import add_municipality, init

    data = Path(args.data)
    settings = Settings(home=Path(args.home), database_url=args.url)
    operator = Actor("bench", "federation_operator")
    if args.step == "setup":
        init(settings, "11", datetime.now(UTC))
        ctx = open_context(settings)
        for m in json.loads((data / "municipalities.json").read_text()):
            add_municipality(ctx, operator, m["code"], m["name"], m["insurer"], m["encoding"])
        print(json.dumps({}))
        return
    if args.step == "copy":
        seconds = copy_baseline(args.url, data / args.folder)
        print(json.dumps({"seconds": seconds, "peak_mb": peak_mb()}))
        return
    if args.step == "history":
        print(json.dumps(add_history(args.url, int(args.years))))
        return
    if args.step == "floor":
        seconds, rows = store_floor(args.url) if args.url.startswith("postgresql") else sqlite_floor(args.url)
        print(json.dumps({"seconds": seconds, "records": rows, "peak_mb": peak_mb()}))
        return
    ctx = open_context(settings)
    if args.step == "export":
        print(json.dumps(export_returns(ctx, operator, Path(args.home) / "bench-outbox")))
        return
    profiler = cProfile.Profile() if args.profile_out else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    initial = args.folder == "full" and args.initial_mode == "1"
    outcomes = ingest_paths(ctx, operator, [data / args.folder], jobs=int(args.jobs), initial=initial)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile_out)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "records": sum(o.records for o in outcomes),
                "statuses": sorted({o.status for o in outcomes}),
                "peak_mb": peak_mb(),
            }
        )
    )


def export_returns(ctx: Any, operator: Any, out: Path) -> dict[str, object]:
    """Every kind of return file for every municipality (``shuyaku export``), once: after
    the full load and its delta the IDTB holds every person's binding."""
    from shuyaku.ingest.returns import KINDS, export_all

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    written = [path for kind in KINDS for path in export_all(ctx, operator, kind, out).written]
    seconds = time.perf_counter() - started
    lines = sum(max(0, len(path.read_bytes().splitlines()) - 2) for path in written)
    return {"seconds": seconds, "records": lines, "files": len(written), "peak_mb": peak_mb()}


def copy_baseline(url: str, folder: Path) -> float:
    """COPY every data record of the folder's files into unindexed text tables (one per kind)."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.perf_counter()
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for kind, width in (("skse", 14), ("skks", 26)):
            cur.execute(f"DROP TABLE IF EXISTS copy_baseline_{kind}")
            cur.execute(f"CREATE TABLE copy_baseline_{kind} ({', '.join(f'c{i} text' for i in range(width))})")
        for path in sorted(folder.glob("*.csv")):
            kind = "skks" if "_SKKS_" in path.name else "skse"
            lines = path.read_bytes().split(b"\r\n")
            body = b"\n".join(line for line in lines[1:] if line and not line.startswith(b"3,"))
            with cur.copy(f"COPY copy_baseline_{kind} FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(body)
        conn.commit()
        elapsed = time.perf_counter() - started
        for kind in ("skse", "skks"):
            cur.execute(f"DROP TABLE copy_baseline_{kind}")
        conn.commit()
    return elapsed


def store_floor(url: str) -> tuple[float, int]:
    """COPY every row the ingest left in the tables it writes into empty copies of them (same
    indexes), two connections at once, each with every other row: (seconds, rows)."""
    import threading

    import psycopg

    from shuyaku.ingest.inbound import WRITTEN_TABLES

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    dumps: dict[str, list[bytes]] = {}
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for table in WRITTEN_TABLES:
            buffer = bytearray()
            with cur.copy(f'COPY "{table}" TO STDOUT') as copy:
                for chunk in copy:
                    buffer += chunk
            dumps[table] = bytes(buffer).splitlines(keepends=True)
            cur.execute(f'DROP TABLE IF EXISTS "floor_{table}"')
            cur.execute(f'CREATE TABLE "floor_{table}" (LIKE "{table}" INCLUDING INDEXES)')

    def half(start: int) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
            for table, lines in dumps.items():
                with conn.transaction(), cur.copy(f'COPY "floor_{table}" FROM STDIN') as copy:
                    copy.write(b"".join(lines[start::2]))

    started = time.perf_counter()
    threads = [threading.Thread(target=half, args=(start,)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for table in WRITTEN_TABLES:
            cur.execute(f'DROP TABLE "floor_{table}"')
    return elapsed, sum(len(lines) for lines in dumps.values())


def sqlite_floor(url: str) -> tuple[float, int]:
    """The same floor on SQLite: every row the ingest left in the tables it writes, copied by
    SQLite itself (``INSERT … SELECT``, no Python value in between) into a fresh database
    with the same tables and indexes and the settings of an ingest run: (seconds, rows).

    In the order the ingest wrote them (``ORDER BY rowid``), which also keeps SQLite from its
    transfer optimisation: a bare ``INSERT INTO t SELECT * FROM u`` between tables of one
    shape copies each index whole in its sorted order, a few times faster than any loader's
    inserts can be, and no floor under them."""
    import sqlite3

    from shuyaku.db.engine import RUN_WAL_PAGES
    from shuyaku.ingest.inbound import WRITTEN_TABLES

    source = Path(url.removeprefix("sqlite:///"))
    target = source.with_name("floor.db")
    files = [target.with_name(target.name + suffix) for suffix in ("", "-wal", "-shm")]
    for leftover in files:
        leftover.unlink(missing_ok=True)
    con = sqlite3.connect(target, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-262144", f"wal_autocheckpoint={RUN_WAL_PAGES}"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("ATTACH DATABASE ? AS loaded", (str(source),))
    for table in WRITTEN_TABLES:  # the table first, then its indexes, as the loaded store has them
        ddl = con.execute(
            "SELECT sql FROM loaded.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type DESC", (table,)
        ).fetchall()
        for (statement,) in ddl:
            con.execute(statement)
    rows = 0
    started = time.perf_counter()
    for table in WRITTEN_TABLES:
        con.execute("BEGIN")
        rows += con.execute(f'INSERT INTO main."{table}" SELECT * FROM loaded."{table}" ORDER BY rowid').rowcount
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elapsed = time.perf_counter() - started
    con.close()
    for leftover in files:
        leftover.unlink(missing_ok=True)
    return elapsed, rows


FILES_A_YEAR = 800  # a municipality's files of a year besides the daily ones (monthly, resends, held…)
PROBLEMS_A_FILE = 10
EVENTS_A_YEAR = 1_250_000  # access-log events


def add_history(url: str, years: int) -> dict[str, object]:
    """Years of a prefecture's history in the tables every year adds to, as a store has them
    after those years and a freshly loaded one does not: inbound files (RECE / SKBN, so that
    the SKKS / SKSE 連番 stay as the load left them) each with its KKKK sent, their problems
    (a warning or an error, one in fifty a review item withdrawn and reported long ago, every
    error reviewed), and access-log events. Only what a file's work may read is there; the
    events' hash chain is not a real one (`audit verify` would say so)."""
    from datetime import datetime

    import polars as pl
    from sqlalchemy import func, select

    from shuyaku.db.engine import bulk_insert, make_engine
    from shuyaku.db.schema import audit_event, inbound_file, ingest_result, municipality, outbound_file

    engine = make_engine(url)
    then = datetime(2022, 4, 1, tzinfo=UTC)
    started = time.perf_counter()
    rows = 0
    with engine.begin() as conn:
        codes = sorted(conn.execute(select(municipality.c.municipality_code)).scalars())
        next_file = int(conn.execute(select(func.max(inbound_file.c.file_id))).scalar() or 0) + 1
        next_event = int(conn.execute(select(func.max(audit_event.c.seq))).scalar() or 0) + 1
        count = len(codes) * FILES_A_YEAR * years
        n = pl.int_range(0, count, eager=True)
        files = pl.DataFrame({"file_id": n + next_file}).with_columns(
            municipality_code=pl.Series(codes).gather(n % len(codes)),
            kind=pl.when(n % 2 == 0).then(pl.lit("RECE")).otherwise(pl.lit("SKBN")),
            seq=(n // (2 * len(codes)) + 1).cast(pl.Int32),
        )
        stamp = pl.lit(then)
        inbound = files.with_columns(
            data_kind=pl.lit("2"),
            filename=pl.format("{}_{}_D_{}.csv", "municipality_code", "kind", "seq"),
            sha256=pl.format("{}", pl.col("file_id")).str.pad_start(64, "0"),
            size_bytes=pl.lit(10_000),
            status=pl.lit("applied"),
            record_count=pl.lit(100),
            applied_count=pl.lit(100),
            warning_count=pl.lit(PROBLEMS_A_FILE),
            error_count=pl.lit(0),
            received_at=stamp,
            decided_at=stamp,
            actor=pl.lit("history"),
        )
        rows += bulk_insert(conn, inbound_file, inbound)
        rows += bulk_insert(
            conn,
            outbound_file,
            files.select(
                "municipality_code",
                pl.lit("KKKK").alias("kind"),
                (pl.int_range(pl.len()).over("municipality_code") + 1).cast(pl.Int32).alias("seq"),
                pl.format("{}_KKKK_history_{}.csv", "municipality_code", "file_id").alias("filename"),
                pl.lit(PROBLEMS_A_FILE + 1).alias("row_count"),
                pl.lit("released").alias("status"),
                stamp.alias("created_at"),
                pl.lit("history").alias("actor"),
                pl.col("file_id").alias("inbound_file_id"),
            ),
        )
        k = pl.int_range(0, count * PROBLEMS_A_FILE, eager=True)
        review = k % 50 == 0
        error = ~review & (k % 3 == 0)
        problems = pl.DataFrame({"k": k}).select(
            file_id=k // PROBLEMS_A_FILE + next_file,
            line_no=(k % PROBLEMS_A_FILE + 1).cast(pl.Int32),
            record_key=pl.format("{}", k).str.pad_start(10, "0"),
            history_no=pl.lit("1"),
            result=pl.when(error).then(pl.lit("9")).otherwise(pl.lit("1")),
            code=pl.when(review).then(pl.lit("E102")).when(error).then(pl.lit("E031")).otherwise(pl.lit("W201")),
            field=pl.lit("適用開始年月日"),
            message=pl.lit("履歴の問題(ベンチマークの合成データ)"),
            reviewed_at=pl.when(error).then(stamp),
            reviewed_by=pl.when(error).then(pl.lit("history")),
            withdrawn_at=pl.when(review).then(stamp),
            withdrawal_reported=pl.when(review).then(pl.lit(1)),
        )
        rows += bulk_insert(conn, ingest_result, problems)
        e = pl.int_range(0, EVENTS_A_YEAR * years, eager=True)
        events = pl.DataFrame({"seq": e + next_event}).with_columns(
            at_utc=(pl.lit(then) + pl.duration(seconds=pl.lit(e * 100))).dt.strftime("%Y-%m-%dT%H:%M:%S.%6fZ"),
            actor=pl.format("clerk{}", e % 500),
            role=pl.lit("municipal_clerk"),
            scope=pl.Series(codes).gather(e % len(codes)),
            action=pl.lit("person.read"),
            target=pl.lit("県個人ID 1100000000000"),
            purpose=pl.lit("資格確認"),
            row_count=pl.lit(1),
            outcome=pl.lit("ok"),
            detail=pl.lit(""),
            prev_hash=pl.lit("0" * 64),
            hash=pl.lit("0" * 64),
        )
        rows += bulk_insert(conn, audit_event, events)
        if conn.dialect.name == "postgresql":  # the files' IDs were given, not drawn
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('inbound_file', 'file_id'), max(file_id)) FROM inbound_file"
            )
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"seconds": time.perf_counter() - started, "records": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--municipalities", type=int, default=63)
    parser.add_argument("--persons", type=int, default=1_400_000)
    parser.add_argument("--delta", type=int, default=20_000, help="records in the daily delta (about)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SHUYAKU_BENCH_POSTGRES_URL", DEFAULT_PG),
        help="a database the benchmark may wipe (schema public is dropped)",
    )
    parser.add_argument("--jobs", default="1,2", help="worker processes to measure on PostgreSQL, e.g. 1,2")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also load once more in one process on PostgreSQL under cProfile and print where the time goes",
    )
    parser.add_argument(
        "--initial",
        action="store_const",
        const="1",
        default="0",
        help="full loads in 初期移行モード (shuyaku ingest --initial)",
    )
    parser.add_argument(
        "--history-years",
        type=int,
        default=0,
        help="before the delta, give the store this many years of files, problems and access-log events "
        f"({FILES_A_YEAR} files, {FILES_A_YEAR * PROBLEMS_A_FILE:,} problems a municipality a year; "
        f"{EVENTS_A_YEAR:,} events a year)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--years", help=argparse.SUPPRESS)
    parser.add_argument("--initial_mode", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--profile_out", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    data = ROOT / "out" / f"intake-m{args.municipalities}-p{args.persons}-d{args.delta}-s{args.seed}"
    started = time.perf_counter()
    generate(data, args.municipalities, args.persons, args.delta, args.seed)
    full_records, delta_records = data_records(data / "full"), data_records(data / "delta")
    print(
        f"data: {args.municipalities} municipalities, {full_records:,} full records, {delta_records:,} delta records "
        f"(generated or cached in {time.perf_counter() - started:.0f} s)"
    )

    rows = []
    baseline: dict[str, float] = {}
    for folder in ("full", "delta"):
        reset_postgres(args.pg_url)
        figures = run_child(__file__, step="copy", url=args.pg_url, home=str(data), data=str(data), folder=folder)
        baseline[folder] = float(figures["seconds"])  # type: ignore[arg-type]
        records = full_records if folder == "full" else delta_records
        rows.append(("baseline: PostgreSQL COPY, unindexed", folder, records, baseline[folder], figures["peak_mb"]))
    runs = [("postgresql", int(j)) for j in args.jobs.split(",") if "postgresql" in args.backends]
    runs += [("sqlite", 1)] if "sqlite" in args.backends else []
    floors: set[str] = set()  # the backends whose floor is measured (after their first load and delta)
    for backend, jobs in runs:
        home = ROOT / "out" / f"home-{backend}"
        shutil.rmtree(home, ignore_errors=True)
        if backend == "postgresql":
            url = args.pg_url
            reset_postgres(url)
        else:
            url = f"sqlite:///{home / 'shuyaku.db'}"
        run_child(__file__, step="setup", url=url, home=str(home), data=str(data))
        history = f", {args.history_years} years of history" if args.history_years else ""
        for folder in ("full", "delta"):
            if folder == "delta" and args.history_years:
                added = run_child(
                    __file__, step="history", url=url, home=str(home), data=str(data), years=str(args.history_years)
                )
                print(
                    f"{backend}: {args.history_years} years of history, {added['records']:,} rows in {added['seconds']:.0f} s"
                )
            figures = run_child(
                __file__,
                step="ingest",
                url=url,
                home=str(home),
                data=str(data),
                folder=folder,
                jobs=str(jobs),
                initial_mode=args.initial,
            )
            if figures["statuses"] != ["applied"]:
                raise SystemExit(f"{backend} {folder}: not every file applied: {figures['statuses']}")
            label = f"shuyaku ingest, {backend}" + (f", {jobs} workers" if jobs > 1 else "")
            label += ", 初期移行" if folder == "full" and args.initial == "1" else ""
            label += history if folder == "delta" else ""
            rows.append((label, folder, figures["records"], figures["seconds"], figures["peak_mb"]))
        figures = run_child(__file__, step="export", url=url, home=str(home), data=str(data))
        rows.append(
            (
                f"shuyaku export ({figures['files']} files), {backend}{history}",
                "full",
                figures["records"],
                figures["seconds"],
                figures["peak_mb"],
            )
        )
        # After the delta, so that writing and dropping the copies does not empty the caches
        # the delta is measured on; its rows are then in the store too (well under 1%).
        if backend not in floors and not args.history_years:  # the floor of the load's own rows
            floor = run_child(__file__, step="floor", url=url, home=str(home), data=str(data))
            floors.add(backend)
            what = (
                "floor: stored rows, COPY, indexed, 2 conn."
                if backend == "postgresql"
                else "floor: stored rows, SQLite INSERT…SELECT"
            )
            rows.append((what, "full", floor["records"], floor["seconds"], floor["peak_mb"]))

    print(f"\n{'what':60} {'load':6} {'records':>10} {'seconds':>8} {'records/s':>10} {'peak MB':>8} {'× COPY':>7}")
    for what, folder, records, seconds, peak in rows:
        ratio = float(seconds) / baseline[folder]  # type: ignore[arg-type]
        print(
            f"{what:60} {folder:6} {records:>10,} {seconds:>8.1f} {records / seconds:>10,.0f} {peak:>8.0f} {ratio:>7.1f}"
        )
    if args.profile:
        profile(args, data)


def profile(args: argparse.Namespace, data: Path) -> None:
    """The full load and the delta once more, in one process under cProfile: the functions of
    shuyaku that take the most time (with what they call), and the most time spent in any one
    function. The profiles stay in bench/out/ for pstats or snakeviz."""
    import pstats

    home = ROOT / "out" / "home-profile"
    shutil.rmtree(home, ignore_errors=True)
    reset_postgres(args.pg_url)
    run_child(__file__, step="setup", url=args.pg_url, home=str(home), data=str(data))
    for folder in ("full", "delta"):
        out = ROOT / "out" / f"profile-{folder}.prof"
        figures = run_child(
            __file__,
            step="ingest",
            url=args.pg_url,
            home=str(home),
            data=str(data),
            folder=folder,
            jobs="1",
            initial_mode=args.initial,
            profile_out=str(out),
        )
        print(f"\n{folder}: {figures['seconds']:.1f} s in one process under cProfile ({out})")
        stats = pstats.Stats(str(out))
        stats.sort_stats("cumulative").print_stats(r"src/shuyaku/(?!cli)", 25)
        stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()

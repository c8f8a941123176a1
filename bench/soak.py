"""Soak: 30 simulated business days of deltas with malformed records and random SIGKILLs.

A synthetic prefecture (63 municipalities, 200,000 persons by default) is loaded in full,
then every day's delta files go through `shuyaku ingest` in a child process. 1% of the
delta records are malformed (an impossible date, a wrong check digit, an item inserted
before the 個人番号, a number in the 宛名番号). On some days the ingest is killed with
SIGKILL at a random moment and simply run again. At the end every record sent must be
applied, quarantined or in a held file — the figure "lost" must be 0 — and the access log
must verify. Then the worst hostile files are ingested alone, and their peak memory is
printed per MB of input next to a well-formed file of the same size (a ratio).

    .venv/bin/python bench/soak.py                          # PostgreSQL (shuyaku_bench_soak)
    .venv/bin/python bench/soak.py --persons 20000 --days 5  # a quicker look
    .venv/bin/python bench/soak.py --sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import reset_postgres

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench_soak"


def generate(
    out: Path, municipalities: int, persons: int, days: int, events: int, malformed: float, seed: int
) -> list[dict[str, str]]:
    from shuyaku.synth.prefecture import SyntheticPrefecture

    world = SyntheticPrefecture(prefecture="11", municipalities=municipalities, persons=persons, seed=seed)
    world.write_full(out / "full")
    rng = random.Random(seed)
    for day in range(1, days + 1):
        folder = out / f"day{day:02d}"
        world.write_day(folder, events)
        clean = out / f"day{day:02d}-corrected"
        clean.mkdir()
        for path in folder.glob("*.csv"):
            shutil.copy(path, clean / path.name)  # what the municipality sends when a file is held
            path.write_bytes(_malform(path.read_bytes(), malformed, rng))
    return [
        {"code": m.code, "name": m.name, "insurer": m.insurer_number, "encoding": m.encoding}
        for m in world.municipalities
    ]


def _malform(raw: bytes, share: float, rng: random.Random) -> bytes:
    """Spoil about ``share`` of the data records in ways that are each one record's error."""
    encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "cp932"
        text = raw.decode(encoding)
    lines = text.split("\r\n")
    for i in range(1, len(lines) - 2):
        if rng.random() >= share:
            continue
        items = lines[i].split(",")
        choice = rng.randrange(4)
        if choice == 0:
            items[5] = "20261399"  # no such date (E020)
        elif choice == 1 and len(items) == 26 and len(items[7]) == 12:
            items[7] = items[7][:11] + str((int(items[7][11]) + 1) % 10)  # wrong check digit (E010)
        elif choice == 2:
            items.insert(6, "99")  # an item inserted before the number: everything shifts (E011)
        elif len(items) == 26 and len(items[7]) == 12:
            items[2] = items[7]  # the number in the 宛名番号 (E011, never stored)
        else:
            items[5] = "20260230"
        lines[i] = ",".join(items)
    return "\r\n".join(lines).encode(encoding)


def data_records(folder: Path) -> int:
    return sum(max(0, len(p.read_bytes().split(b"\r\n")) - 3) for p in folder.glob("*.csv"))


def shuyaku(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "shuyaku.cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def ledger_totals(settings: object) -> dict[str, int]:
    from sqlalchemy import func, select

    from shuyaku.context import open_context
    from shuyaku.db.schema import inbound_file

    ctx = open_context(settings)  # type: ignore[arg-type]
    f = inbound_file.c
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(f.status, func.sum(f.record_count), func.sum(f.applied_count), func.sum(f.error_count), func.count())
            .where(f.data_kind == "2")
            .group_by(f.status)
        ).all()
    ctx.engine.dispose()
    out: dict[str, int] = {}
    for status, records, applied, errors, files in rows:
        out[f"{status}_records"], out[f"{status}_applied"], out[f"{status}_errors"], out[f"{status}_files"] = (
            int(records or 0),
            int(applied or 0),
            int(errors or 0),
            int(files),
        )
    return out


def held_for_errors(settings: object, day_files: list[str]) -> list[str]:
    """The day's files held because too many of their records failed (not for a gap)."""
    from sqlalchemy import select

    from shuyaku.context import open_context
    from shuyaku.db.schema import inbound_file

    ctx = open_context(settings)  # type: ignore[arg-type]
    f = inbound_file.c
    with ctx.engine.connect() as conn:
        names = set(conn.execute(select(f.filename).where(f.status == "held", f.error_code.is_(None))).scalars())
    ctx.engine.dispose()
    return sorted(names & set(day_files))


def hostile_memory(env: dict[str, str], work: Path, municipality: dict[str, str]) -> list[tuple[str, float, float]]:
    """(case, input MB, peak MB) for each hostile file and a well-formed one, each alone."""
    code, insurer = municipality["code"], municipality["insurer"]
    header = f"1,SKKS,{code},{insurer},2,20261001,20261001180000,9999,1.0\r\n"
    good_line = f"2,{code},1000000001,1,1,20261001,02,,2000000001,1,世帯主,,12345678,01,試験　太郎,シケン　タロウ,19700101,1,20261001,02,,,20261001,,,20261001090000\r\n"
    cases = {
        "well-formed, 8 MB": header + good_line * (8 * 2**20 // len(good_line.encode())),
        "one record of a million items, 2 MB": header + "2," + ",".join(["1"] * 1_000_000) + "\r\n",
        "8 MB in one quoted item": header + '2,"' + "x" * (8 * 2**20) + '"\r\n',
        "8 MB of records of 1,000 items": header + ("2," + ",".join(["12"] * 1000) + "\r\n") * (8 * 2**20 // 3000),
    }
    results = []
    for name, text in cases.items():
        count = text.count("\r\n") - 1
        payload = (text + f"3,{count},{count},0,0,\r\n").encode("utf-8")
        folder = work / f"hostile-{len(results)}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "h.csv").write_bytes(payload)
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import resource, subprocess, sys;"
                    "subprocess.run([sys.executable, '-m', 'shuyaku.cli', 'ingest', sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
                ),
                str(folder),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        results.append((name, len(payload) / 2**20, int(probe.stdout.strip()) / 1024))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--municipalities", type=int, default=63)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--events", type=int, default=400, help="household events a day across the prefecture")
    parser.add_argument("--malformed", type=float, default=0.01)
    parser.add_argument("--kill-share", type=float, default=0.3, help="share of days whose ingest is killed once")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgres-url", default=os.environ.get("SHUYAKU_BENCH_POSTGRES_URL", DEFAULT_PG))
    args = parser.parse_args()

    from datetime import UTC, datetime

    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.setup import add_municipality, init

    work = ROOT / "out" / "soak"
    shutil.rmtree(work, ignore_errors=True)
    data = work / "data"
    started = time.perf_counter()
    register = generate(data, args.municipalities, args.persons, args.days, args.events, args.malformed, args.seed)
    print(
        f"generated {args.days} days for {args.municipalities} municipalities, {args.persons:,} persons "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    home = work / "home"
    url = f"sqlite:///{home / 'shuyaku.db'}" if args.sqlite else args.postgres_url
    if not args.sqlite:
        reset_postgres(url)
    settings = Settings(home=home, database_url=url)
    init(settings, "11", datetime.now(UTC))
    ctx = open_context(settings)
    setup = Actor("setup:soak", "system")
    for m in register:
        add_municipality(ctx, setup, m["code"], m["name"], m["insurer"], m["encoding"])
    ctx.engine.dispose()
    env = {**os.environ, "SHUYAKU_HOME": str(home), "SHUYAKU_DATABASE_URL": url, "SHUYAKU_ACTOR": "soak"}
    env.pop("SHUYAKU_CRASH_AT", None)

    t0 = time.perf_counter()
    full = shuyaku(env, "ingest", "--keep-source", str(data / "full"))
    full.wait()
    print(
        f"full load: {data_records(data / 'full'):,} records in {time.perf_counter() - t0:.1f} s (exit {full.returncode})",
        flush=True,
    )

    rng = random.Random(args.seed + 1)
    sent, kills, day_seconds = 0, 0, []
    for day in range(1, args.days + 1):
        folder = data / f"day{day:02d}"
        sent += data_records(folder)
        t0 = time.perf_counter()
        if rng.random() < args.kill_share:
            run = shuyaku(env, "ingest", "--keep-source", str(folder))
            time.sleep(rng.uniform(0.5, 4.0))
            if run.poll() is None:
                run.kill()
                kills += 1
            run.wait()
        while True:  # run (again) until it finishes: exit 0, or 1 when a file was held or refused
            run = shuyaku(env, "ingest", "--keep-source", str(folder))
            _, err = run.communicate()
            if run.returncode in (0, 1):
                break
            sys.stderr.write(err.decode("utf-8", "replace")[-2000:])
            raise SystemExit(f"day {day}: ingest exited {run.returncode}")
        resend = work / f"resend{day:02d}"
        resend.mkdir()
        for name in held_for_errors(settings, day_files=[p.name for p in folder.glob("*.csv")]):
            shutil.copy(data / f"day{day:02d}-corrected" / name, resend / name)  # corrected, same 連番
        if any(resend.iterdir()):
            sent += data_records(resend)
            shuyaku(env, "ingest", "--keep-source", str(resend)).wait()
        day_seconds.append(time.perf_counter() - t0)
        print(
            f"day {day:2d}: {data_records(folder):,} records in {day_seconds[-1]:.1f} s "
            f"({len(list(resend.iterdir()))} held files sent again corrected)",
            flush=True,
        )

    totals = ledger_totals(settings)  # before the hostile files below add theirs
    applied = totals.get("applied_applied", 0)
    quarantined = totals.get("applied_errors", 0)
    held = totals.get("held_records", 0) + totals.get("rejected_records", 0)
    lost = sent - applied - quarantined - held
    verify = subprocess.run(
        [sys.executable, "-m", "shuyaku.cli", "audit", "verify"], env=env, capture_output=True, text=True
    )
    print()
    print(
        f"days {args.days}, killed {kills} ingests; records sent {sent:,} / applied {applied:,} / quarantined {quarantined:,} / "
        f"in held or refused files {held:,} / lost {lost:,}"
    )
    print(
        f"time per simulated day: median {sorted(day_seconds)[len(day_seconds) // 2]:.1f} s, worst {max(day_seconds):.1f} s"
    )
    print(
        f"audit verify: exit {verify.returncode} — {verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip()[-200:]}"
    )
    print()
    print("| input | MB | peak MB | peak MB per input MB |")
    print("|---|---|---|---|")
    for name, size, peak in hostile_memory(env, work, register[0]):
        print(f"| {name} | {size:.1f} | {peak:.0f} | {peak / size:.1f} |")
    print(
        json.dumps(
            {"sent": sent, "applied": applied, "quarantined": quarantined, "held": held, "lost": lost, "kills": kills}
        )
    )
    if lost != 0 or verify.returncode != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""API benchmark: latency under a steady load, and a daily delta over the API against the inbox.

On PostgreSQL with a full synthetic prefecture (default 400,000 persons, 63 municipalities):

1. the full load is ingested once, and the database copied (``CREATE DATABASE … TEMPLATE``)
   so that both halves of step 2 start from the same store;
2. the same daily delta (about 20,000 records in ~150 files) is ingested through the inbox
   (``ingest_paths``, one process) on one copy and uploaded file by file over the API
   (``POST /api/v1/files``, each municipality with its own token, in 連番 order) to
   ``shuyaku serve`` on the other — the ratio is the API's overhead (target ≤ 1.2×);
3. a load generator sends 200 requests/s for 60 s on a fixed schedule (40 senders; 20
   municipal systems at 10/s each, under their rate limit) mixing person look-ups (POST), candidate lists and file
   statuses, and prints p50/p99 latency and errors per endpoint (target p99 ≤ 50 ms).

The load generator runs on the same 2-core machine as the server and the database, so its
figures include that contention.

    .venv/bin/python bench/api.py                      # 400,000 persons, 60 s at 200/s
    .venv/bin/python bench/api.py --persons 100000 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import reset_postgres
from intake import generate

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench"


def clone_database(url: str, copy: str) -> str:
    """A copy of the benchmark database (it must have no other connection)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    source = make_url(url)
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}"'))
        conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{source.database}"'))
    admin.dispose()
    return source.set(database=copy).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, url: str, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """`shuyaku serve` on a free port, once it answers."""
    import httpx

    port = free_port()
    env = {**os.environ, "SHUYAKU_HOME": str(home), "SHUYAKU_DATABASE_URL": url}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "shuyaku"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1.0)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, port


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime of every thread


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server's processes (the supervisor and its workers) and of
    every PostgreSQL process (Linux /proc; 0 elsewhere), and of this load generator."""
    server, postgres = 0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        name = next(line.split()[1] for line in status.splitlines() if line.startswith("Name:"))
        if int(entry.name) == server_pid or ppid == server_pid:
            server += _ticks(int(entry.name))
        elif name.startswith("postgres"):
            postgres += _ticks(int(entry.name))
    tick = os.sysconf("SC_CLK_TCK")
    return {"server": server / tick, "postgres": postgres / tick, "generator": time.process_time()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def steady_load(
    port: int, systems: list[dict[str, Any]], rate: float, seconds: float, threads: int = 40
) -> dict[str, list[tuple[float, int]]]:
    """``threads`` senders on kept-alive connections, each sending at ``rate / threads`` per
    second on a fixed schedule (request j of sender k leaves at t0 + (j·threads + k)/rate),
    so a slow answer delays only its own sender's next request. (httpx's async pool spends
    more CPU per request than the server does at this rate; http.client does not.)"""
    results: dict[str, list[tuple[float, int]]] = {"person lookup": [], "candidate list": [], "file status": []}
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5
    total = int(rate * seconds)

    def sender(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random(k)
        for i in range(k, total, threads):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            system = systems[i % len(systems)]
            headers = {"Authorization": f"Bearer {system['token']}", "Content-Type": "application/json"}
            kind = ("person lookup", "candidate list", "file status")[(i // len(systems)) % 3]
            started = time.perf_counter()
            try:
                if kind == "person lookup":
                    body = json.dumps({"municipality_code": system["code"], "atena_no": rng.choice(system["atenas"])})
                    connection.request("POST", "/api/v1/persons/lookup", body=body, headers=headers)
                elif kind == "candidate list":
                    connection.request("GET", "/api/v1/continuity/candidates?limit=50", headers=headers)
                else:
                    connection.request("GET", f"/api/v1/files/{rng.choice(system['files'])}", headers=headers)
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                results[kind].append((time.perf_counter() - started, status))
        connection.close()

    workers = [threading.Thread(target=sender, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--municipalities", type=int, default=63)
    parser.add_argument("--persons", type=int, default=400_000)
    parser.add_argument("--delta", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--systems", type=int, default=20, help="municipal systems sending the load")
    parser.add_argument("--workers", type=int, default=2, help="server processes (`shuyaku serve --workers`)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of the same load first, not measured")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database the benchmark may wipe (and copy)")
    parser.add_argument("--load-only", action="store_true", help="only step 3, on the store an earlier run left")
    args = parser.parse_args()

    import httpx
    from sqlalchemy import select

    from shuyaku import accounts
    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.db.schema import inbound_file, person_key
    from shuyaku.ingest.order import expand
    from shuyaku.ingest.service import ingest_paths
    from shuyaku.setup import add_municipality, init

    data = ROOT / "out" / f"intake-m{args.municipalities}-p{args.persons}-d{args.delta}-s{args.seed}"
    started = time.perf_counter()
    generate(data, args.municipalities, args.persons, args.delta, args.seed)
    register = json.loads((data / "municipalities.json").read_text())
    print(f"data: {args.persons:,} persons, {len(register)} municipalities ({time.perf_counter() - started:.0f} s)")

    work = ROOT / "out" / "api-run"
    if args.load_only:
        load_only(args, work, register)
        return
    shutil.rmtree(work, ignore_errors=True)
    reset_postgres(args.pg_url)
    inbox_home, api_home = work / "inbox-home", work / "api-home"
    settings = Settings(home=inbox_home, database_url=args.pg_url)
    init(settings, "11", datetime.now(UTC))
    operator, admin = Actor("bench", "federation_operator"), Actor("bench-admin", "admin")
    ctx = open_context(settings)
    for m in register:
        add_municipality(ctx, operator, m["code"], m["name"], m["insurer"], m["encoding"])
    started = time.perf_counter()
    ingest_paths(ctx, operator, [data / "full"], jobs=2)
    print(f"full load: {time.perf_counter() - started:.1f} s")
    ctx.engine.dispose()

    api_url = clone_database(args.pg_url, "shuyaku_bench_api")
    shutil.copytree(inbox_home, api_home)  # the same keys for the same store
    api_settings = Settings(home=api_home, database_url=api_url)
    api_ctx = open_context(api_settings)
    tokens: dict[str, str] = {}
    for m in register:
        login = f"sys-{m['code']}"
        accounts.add_user(api_ctx, admin, login, "国保システム", m["name"], "municipal_system", [m["code"]])
        tokens[m["code"]] = accounts.create_token(api_ctx, admin, login, days=7)[1]

    ctx = open_context(settings)
    started = time.perf_counter()
    through_inbox = ingest_paths(ctx, operator, [data / "delta"])
    inbox_seconds = time.perf_counter() - started
    records = sum(o.records for o in through_inbox)

    server, port = start_server(api_home, api_url, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        files = expand([data / "delta"])
        started = time.perf_counter()
        statuses = []
        with httpx.Client(base_url=base, timeout=300.0) as client:
            for path in files:
                code = path.name.split("_")[0]
                answer = client.post(
                    "/api/v1/files",
                    content=path.read_bytes(),
                    headers={"Authorization": f"Bearer {tokens[code]}", "X-Filename": path.name},
                )
                statuses.append(answer.json().get("status") if answer.status_code == 202 else answer.status_code)
        api_seconds = time.perf_counter() - started

        with api_ctx.engine.connect() as conn:
            systems = []
            for m in random.Random(args.seed).sample(register, min(args.systems, len(register))):
                k, f = person_key.c, inbound_file.c
                atenas = list(
                    conn.execute(select(k.atena_no).where(k.municipality_code == m["code"]).limit(500)).scalars()
                )
                file_ids = list(conn.execute(select(f.file_id).where(f.municipality_code == m["code"])).scalars())
                systems.append({"code": m["code"], "token": tokens[m["code"]], "atenas": atenas, "files": file_ids})
        steady_load(port, systems, args.rate, args.warmup)  # caches, connections, the first tokens
        before = cpu_seconds(server.pid)
        load = steady_load(port, systems, args.rate, args.seconds)
        after = cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"\ndaily delta: {len(files)} files, {records:,} records")
    print("| path | seconds | × inbox | outcomes |")
    print("|---|---|---|---|")
    print(
        f"| inbox (`ingest_paths`, 1 process) | {inbox_seconds:.1f} | 1.00 | {sorted({o.status for o in through_inbox})} |"
    )
    print(
        f"| API (`POST /api/v1/files`, file by file) | {api_seconds:.1f} | {api_seconds / inbox_seconds:.2f} | {sorted(set(map(str, statuses)))} |"
    )
    report(load, args, len(systems), {k: after[k] - before[k] for k in after})


def load_only(args: argparse.Namespace, work: Path, register: list[dict[str, Any]]) -> None:
    from sqlalchemy import select
    from sqlalchemy.engine import make_url

    from shuyaku import accounts
    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.db.schema import api_token, inbound_file, person_key

    api_url = make_url(args.pg_url).set(database="shuyaku_bench_api").render_as_string(hide_password=False)
    api_home = work / "api-home"
    ctx = open_context(Settings(home=api_home, database_url=api_url))
    admin = Actor("bench-admin", "admin")
    chosen = random.Random(args.seed).sample(register, min(args.systems, len(register)))
    with ctx.engine.begin() as conn:
        conn.execute(api_token.delete())
    systems = []
    with ctx.engine.connect() as conn:
        for m in chosen:
            k, f = person_key.c, inbound_file.c
            atenas = list(conn.execute(select(k.atena_no).where(k.municipality_code == m["code"]).limit(500)).scalars())
            files = list(conn.execute(select(f.file_id).where(f.municipality_code == m["code"])).scalars())
            token = accounts.create_token(ctx, admin, f"sys-{m['code']}", days=7)[1]
            systems.append({"code": m["code"], "token": token, "atenas": atenas, "files": files})
    server, port = start_server(api_home, api_url, args.workers)
    try:
        steady_load(port, systems, args.rate, args.warmup)
        before = cpu_seconds(server.pid)
        load = steady_load(port, systems, args.rate, args.seconds)
        after = cpu_seconds(server.pid)
        report(load, args, len(systems), {k: after[k] - before[k] for k in after})
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(
    load: dict[str, list[tuple[float, int]]], args: argparse.Namespace, systems: int, cpu: dict[str, float]
) -> None:
    total = sum(len(v) for v in load.values())
    print(
        f"\nsteady load: {args.rate:.0f} requests/s for {args.seconds:.0f} s = {total:,} requests from {systems} systems"
    )
    print("| endpoint | requests | p50 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|")
    everything: list[tuple[float, int]] = []
    for kind, found in load.items():
        everything += found
        _row(kind, found)
    _row("all", everything)
    print(
        "CPU per request (ms): "
        + ", ".join(f"{k} {v * 1000 / max(total, 1):.2f}" for k, v in cpu.items())
        + f" — of {os.cpu_count()} cores for {args.seconds:.0f} s"
    )


def _row(kind: str, found: list[tuple[float, int]]) -> None:
    times = [t * 1000 for t, _ in found]
    errors = sum(1 for _, s in found if not 200 <= s < 300)
    print(
        f"| {kind} | {len(found):,} | {statistics.median(times):.1f} | {percentile(times, 0.99):.1f} "
        f"| {max(times):.1f} | {errors} |"
    )


if __name__ == "__main__":
    main()

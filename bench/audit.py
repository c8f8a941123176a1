"""Access-log benchmark: how fast events are appended, and `audit verify` over 10 million.

    .venv/bin/python bench/audit.py                     # PostgreSQL, 10 million events
    .venv/bin/python bench/audit.py --events 1000000    # a quicker look
    .venv/bin/python bench/audit.py --skip-load         # verify again on the loaded log

Prints, in the same run:
- append: events/s through `trail.record` (a look-up logs itself in a transaction of its
  own) from one thread and from 16 threads (concurrent requests share a commit), and
  through `trail.append` (a batch of 1,000 in one transaction, as a batch run logs), next
  to the same rows INSERTed without hash chain or lock (the baseline);
- verify: `audit verify` over the whole log (sequence, every chain hash, every signed
  checkpoint's Merkle root, consistency proofs between checkpoints): seconds and peak
  memory, next to two baselines — reading the log alone, and the bare SHA-256 work (three
  digests an event plus the tree's inner nodes) in a tight loop.
The database is `shuyaku_bench_audit` (created if missing, emptied before a load).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_mb, reset_postgres, run_child  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/shuyaku_bench_audit"
THREADS = 16  # concurrent requests of a web process
ACTIONS = ("person.read", "ingest", "export", "continuity.read", "tasuukai.explain", "login")


def _event(i: int) -> object:
    from shuyaku.audit import trail

    return trail.Event(
        ACTIONS[i % len(ACTIONS)],
        target=f"11{i:011d} (112038 宛名番号 1{i % 10**9:09d})",
        purpose="被保険者の照会",
        row_count=i % 7,
    )


def load(settings: object, events: int, checkpoint_every: int) -> dict[str, object]:
    """Write ``events`` chained events in bulk and sign a checkpoint every ``checkpoint_every``."""
    from datetime import UTC, datetime, timedelta

    import polars as pl
    from sqlalchemy import insert

    from shuyaku.audit import merkle, trail
    from shuyaku.audit.verify import _private_key, event_leaf, key_id, public_key, statement
    from shuyaku.context import open_context
    from shuyaku.db.engine import bulk_insert
    from shuyaku.db.schema import audit_checkpoint, audit_event
    from shuyaku.setup import init

    init(settings, "11", datetime.now(UTC))  # type: ignore[arg-type]
    ctx = open_context(settings)  # type: ignore[arg-type]
    key, public = _private_key(ctx.settings.keys_dir), public_key(ctx.settings.keys_dir)
    actors = [(f"clerk{i:03d}", "municipal_clerk", "112038") for i in range(200)] + [
        ("op01", "federation_operator", "県全体")
    ]
    start = datetime(2026, 1, 5, tzinfo=UTC)
    prev, leaves = trail.GENESIS, bytearray()
    started = time.perf_counter()
    chunk: list[dict[str, object]] = []
    checkpoints = []
    for i in range(1, events + 1):
        ev = _event(i)
        actor, role, scope = actors[i % len(actors)]
        row: dict[str, object] = {
            "seq": i,
            "at_utc": trail.utc_text(start + timedelta(seconds=i * 2)),
            "actor": actor,
            "role": role,
            "scope": scope,
            "action": ev.action,
            "target": ev.target,
            "purpose": ev.purpose,  # type: ignore[attr-defined]
            "row_count": ev.row_count,
            "outcome": "ok",
            "detail": "",
        }  # type: ignore[attr-defined]
        row["prev_hash"] = prev
        row["hash"] = prev = trail.chain_hash(prev, trail.canonical(row))
        leaves += event_leaf(prev)
        chunk.append(row)
        if len(chunk) == 200_000 or i == events:
            with ctx.engine.begin() as conn:
                bulk_insert(conn, audit_event, pl.DataFrame(chunk))
            chunk = []
        if i % checkpoint_every == 0 or i == events:
            checkpoints.append(i)
    levels = merkle.Levels(leaves)
    with ctx.engine.begin() as conn:
        for n, size in enumerate(checkpoints, 1):
            root = levels.root(size).hex()
            at = trail.utc_text(start + timedelta(seconds=size * 2 + 1))
            conn.execute(
                insert(audit_checkpoint).values(
                    checkpoint_id=n,
                    tree_size=size,
                    root_hash=root,
                    at_utc=at,
                    key_id=key_id(public),
                    signature=key.sign(statement(size, root, at)).hex(),
                )
            )
    ctx.note_bulk_write(10**9, ["audit_event"])
    return {"events": events, "checkpoints": len(checkpoints), "load_seconds": round(time.perf_counter() - started, 1)}


def append_rates(settings: object, n: int) -> dict[str, object]:
    from sqlalchemy import insert, text

    from shuyaku.access.actor import Actor
    from shuyaku.audit import trail
    from shuyaku.context import open_context
    from shuyaku.db.schema import audit_event

    ctx = open_context(settings)  # type: ignore[arg-type]
    actor = Actor("bench", "federation_operator")
    events = [_event(i) for i in range(n)]
    out: dict[str, object] = {"n": n}
    started = time.perf_counter()
    for ev in events:
        trail.record(ctx, actor, ev)  # type: ignore[arg-type]
    out["record_per_s"] = n / (time.perf_counter() - started)
    from concurrent.futures import ThreadPoolExecutor

    def requests(part: list[object]) -> None:
        for ev in part:
            trail.record(ctx, actor, ev)  # type: ignore[arg-type]

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(requests, [events[i::THREADS] for i in range(THREADS)]))
    out["threads_per_s"] = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for at in range(0, n, 1000):
        with ctx.engine.begin() as conn:
            trail.append(conn, actor, events[at : at + 1000], ctx.clock())  # type: ignore[arg-type]
    out["batch_per_s"] = n / (time.perf_counter() - started)
    # Baseline: the same rows, no chain, no lock, into a copy of the table without triggers.
    with ctx.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_plain"))
        conn.execute(text("CREATE TABLE bench_plain AS SELECT * FROM audit_event WHERE false"))
    plain = audit_event.to_metadata(__import__("sqlalchemy").MetaData(), name="bench_plain")
    rows = [
        {
            "seq": i,
            "at_utc": "2026-11-27T00:00:00.000000Z",
            "actor": "bench",
            "role": "federation_operator",
            "scope": "県全体",
            "action": ev.action,
            "target": ev.target,
            "purpose": ev.purpose,
            "row_count": ev.row_count,
            "outcome": "ok",  # type: ignore[attr-defined]
            "detail": "",
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }
        for i, ev in enumerate(events)
    ]
    started = time.perf_counter()
    for row in rows:
        with ctx.engine.begin() as conn:
            conn.execute(insert(plain), [row])
    out["plain_single_per_s"] = n / (time.perf_counter() - started)

    def plain_requests(part: list[dict[str, object]]) -> None:
        for row in part:
            with ctx.engine.begin() as conn:
                conn.execute(insert(plain), [row])

    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(plain_requests, [rows[i::THREADS] for i in range(THREADS)]))
    out["plain_threads_per_s"] = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for at in range(0, n, 1000):
        with ctx.engine.begin() as conn:
            conn.execute(insert(plain), rows[at : at + 1000])
    out["plain_batch_per_s"] = n / (time.perf_counter() - started)
    with ctx.engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_plain"))
    return out


def child(args: argparse.Namespace) -> None:
    from shuyaku.access.actor import Actor
    from shuyaku.config import Settings

    settings = Settings(home=Path(args.home), database_url=args.url)
    figures: dict[str, object] = {}
    if args.step == "load":
        figures = load(settings, int(args.events), int(args.checkpoint_every))
    elif args.step == "append":
        figures = append_rates(settings, int(args.n))
    elif args.step == "verify":
        from shuyaku.audit.verify import verify
        from shuyaku.context import open_context

        ctx = open_context(settings)
        started = time.perf_counter()
        report = verify(ctx, Actor("bench-auditor", "auditor"))
        figures = {
            "seconds": time.perf_counter() - started,
            "events": report.events,
            "checkpoints": report.checkpoints,
            "ok": report.ok,
            "problems": report.problems[:3],
            "peak_mb": peak_mb(),
        }
    elif args.step == "baseline":
        from shuyaku.audit import merkle
        from shuyaku.audit.verify import read_events
        from shuyaku.context import open_context

        ctx = open_context(settings)
        started = time.perf_counter()
        with ctx.engine.connect() as conn:
            events = read_events(conn)
        figures["read_seconds"] = time.perf_counter() - started
        sample = ("0" * 64 + "\t" + "x" * 150).encode()
        sha = hashlib.sha256
        started = time.perf_counter()
        leaves = bytearray()
        for _ in range(events.height):
            digest = sha(sample).digest()
            sha(sample).digest()
            leaves += sha(b"\x00" + digest).digest()
        merkle.Levels(leaves)
        figures["sha_seconds"] = time.perf_counter() - started
        figures["peak_mb"] = peak_mb()
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=20_000, help="events appended for the append rates")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database the benchmark may wipe")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("step", "url", "home", "n"):
        parser.add_argument(f"--{hidden}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    home = ROOT / "out" / "home-audit"
    common = {"url": args.pg_url, "home": str(home)}
    if not args.skip_load:
        shutil.rmtree(home, ignore_errors=True)
        reset_postgres(args.pg_url)
        loaded = run_child(
            __file__, step="load", events=str(args.events), **{"checkpoint-every": str(args.checkpoint_every)}, **common
        )
        print(f"loaded: {loaded}")
    verified = run_child(__file__, step="verify", **common)
    baseline = run_child(__file__, step="baseline", **common)
    appended = run_child(__file__, step="append", n=str(args.append), **common)
    print(f"\nAccess log on PostgreSQL — {verified['events']:,} events, {verified['checkpoints']} signed checkpoints")
    print("| what | figure | baseline (same run) | ratio |\n|---|---|---|---|")
    print(
        f"| append, one event a transaction (`trail.record`) | {appended['record_per_s']:,.0f} events/s | "
        f"plain INSERT a transaction {appended['plain_single_per_s']:,.0f}/s | {appended['plain_single_per_s'] / appended['record_per_s']:.2f}× |"
    )
    print(
        f"| append, {THREADS} threads each logging one event a request (`trail.record`, group commit) | "
        f"{appended['threads_per_s']:,.0f} events/s | plain INSERT a transaction from {THREADS} threads "
        f"{appended['plain_threads_per_s']:,.0f}/s | {appended['plain_threads_per_s'] / appended['threads_per_s']:.2f}× |"
    )
    print(
        f"| append, 1,000 a transaction (`trail.append`) | {appended['batch_per_s']:,.0f} events/s | "
        f"plain INSERT of 1,000 {appended['plain_batch_per_s']:,.0f}/s | {appended['plain_batch_per_s'] / appended['batch_per_s']:.2f}× |"
    )
    print(
        f"| `audit verify` (ok: {verified['ok']}) | {verified['seconds']:.1f} s, peak {verified['peak_mb']:,.0f} MB | "
        f"read alone {baseline['read_seconds']:.1f} s + bare SHA-256 work {baseline['sha_seconds']:.1f} s "
        f"= {baseline['read_seconds'] + baseline['sha_seconds']:.1f} s | "
        f"{verified['seconds'] / (baseline['read_seconds'] + baseline['sha_seconds']):.2f}× |"
    )
    if not verified["ok"]:
        print(f"problems: {verified['problems']}")


if __name__ == "__main__":
    main()

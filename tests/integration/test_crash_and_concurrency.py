"""Two processes at once, and SIGKILL in the middle: the store ends as a serial,
uninterrupted run leaves it.

The runs are real `shuyaku` processes. ``SHUYAKU_CRASH_AT=point:n`` (``shuyaku.crash``)
makes a process kill itself with SIGKILL the n-th time it passes a named point: before
and after a file's commit, before a held file's release, before the commit of a run's
世帯の継続性 judgement, before an outbound file's commit and after its rename. After each kill a plain re-run finishes the work.

The canonical dump leaves out what legitimately differs between two runs: the random
prefecture IDs, times, the ledger rows of *duplicates* (a file applied just before a
kill is offered again by the re-run and recognised as a re-send), and withdrawn continuity
candidates (a judgement made while another run's files were still arriving, replaced once
they arrived: they record when judgements ran, which two runs at once change).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import String, cast, func, select

from shuyaku.access.actor import Actor
from shuyaku.audit.verify import verify
from shuyaku.config import Settings
from shuyaku.context import open_context
from shuyaku.db.schema import (
    continuity_candidate,
    continuity_pending,
    household_key,
    household_record,
    id_assignment,
    inbound_file,
    ingest_result,
    outbound_file,
    person,
    person_key,
    qualification_period,
    vault_entry,
)
from shuyaku.setup import add_municipality, init
from shuyaku.synth.prefecture import SyntheticPrefecture
from tests.conftest import _reset_postgres

SETUP = Actor("setup:harness", "system")


def _world(inbox: Path) -> tuple[SyntheticPrefecture, list[Path]]:
    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=11)
    files = world.write_full(inbox)
    for _ in range(2):
        files += world.write_day(inbox, 12)
    return world, files


def _fresh(settings: Settings, world: SyntheticPrefecture) -> None:
    if settings.database_url.startswith("sqlite"):
        for p in settings.home.parent.glob("shuyaku.db*"):
            p.unlink()
    else:
        _reset_postgres(settings.database_url)
    shutil.rmtree(settings.home, ignore_errors=True)
    from datetime import UTC, datetime

    init(settings, "11", datetime.now(UTC))
    ctx = open_context(settings)
    for m in world.municipalities:
        add_municipality(ctx, SETUP, m.code, m.name, m.insurer_number, m.encoding)
    ctx.engine.dispose()


def _env(settings: Settings, crash: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "SHUYAKU_HOME": str(settings.home),
        "SHUYAKU_DATABASE_URL": settings.database_url,
        "SHUYAKU_ACTOR": "harness",
    }
    env.pop("SHUYAKU_CRASH_AT", None)
    if crash:
        env["SHUYAKU_CRASH_AT"] = crash
    return env


def _shuyaku(settings: Settings, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shuyaku.cli", *args],
        env=_env(settings, crash),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _at_once(settings: Settings, *commands: tuple[str, ...]) -> tuple[list[int], list[tuple[str, str]]]:
    """Start every command before waiting for any; their exit codes and (stdout, stderr)."""
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "shuyaku.cli", *command],
            env=_env(settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    outputs = [p.communicate(timeout=300) for p in running]
    return [p.returncode for p in running], outputs


def _canonical(settings: Settings, out: Path | None = None) -> dict[str, object]:
    ctx = open_context(settings)
    try:
        with ctx.engine.connect() as conn:
            counts = {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (
                    person,
                    vault_entry,
                    person_key,
                    household_key,
                    household_record,
                    qualification_period,
                    id_assignment,
                )
            }
            f = inbound_file.c
            ledger = sorted(
                conn.execute(
                    select(
                        f.municipality_code,
                        f.kind,
                        f.seq,
                        f.status,
                        f.error_code,
                        f.record_count,
                        f.applied_count,
                        f.error_count,
                    ).where(f.status != "duplicate")
                ).all()
            )
            results = sorted(
                conn.execute(
                    select(inbound_file.c.filename, ingest_result.c.line_no, ingest_result.c.code)
                    .join(inbound_file, inbound_file.c.file_id == ingest_result.c.file_id)
                    .where(inbound_file.c.status != "duplicate")
                ).all()
            )
            periods = sorted(
                conn.execute(
                    select(
                        qualification_period.c.municipality_code,
                        qualification_period.c.atena_no,
                        qualification_period.c.history_no,
                        qualification_period.c.superseded_at.is_(None),
                        func.coalesce(cast(qualification_period.c.overtaken_on, String), ""),
                    )
                ).all()
            )
            o = outbound_file.c
            released = sorted(
                conn.execute(
                    select(o.kind, o.municipality_code, o.row_count)
                    .where(o.status == "released")
                    .outerjoin(inbound_file, inbound_file.c.file_id == o.inbound_file_id)
                    .where((inbound_file.c.status.is_(None)) | (inbound_file.c.status != "duplicate"))
                ).all()
            )
            files = sorted(conn.execute(select(o.filename).where(o.status == "released")).scalars())
            c = continuity_candidate.c
            candidates = sorted(
                conn.execute(
                    select(
                        c.from_municipality_code,
                        c.from_setai_no,
                        c.to_municipality_code,
                        c.to_setai_no,
                        c.change_date,
                        c.rule,
                        c.continuous,
                        c.status,
                    ).where(c.status != "withdrawn")
                ).all()
            )
            pending = conn.execute(select(func.count()).select_from(continuity_pending)).scalar_one()
        report = verify(ctx, SETUP)
        assert report.ok, report.problems
    finally:
        ctx.engine.dispose()
    if out is not None:
        on_disk = sorted(p.name for p in out.iterdir())
        assert on_disk == files, "every outbound file on disk has its ledger row and every row its file"
        assert all(
            p.read_bytes().endswith(b"\r\n") and b"\r\n3," in p.read_bytes() for p in out.iterdir()
        )  # none partial
    return {
        "counts": counts,
        "ledger": ledger,
        "results": results,
        "periods": periods,
        "released": released,
        "candidates": candidates,
        "pending": pending,
    }


def _ledger_problems(settings: Settings) -> str:
    ctx = open_context(settings)
    with ctx.engine.connect() as conn:
        f = inbound_file.c
        found = conn.execute(
            select(f.filename, f.status, f.error_code, f.message).where(f.status.not_in(["applied", "duplicate"]))
        ).all()
    ctx.engine.dispose()
    return repr(found)


def _export_all(settings: Settings, out: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    result = None
    for kind in ("KKKK", "IDTB", "KZKH"):
        result = _shuyaku(settings, "export", "--kind", kind, "--out", str(out), crash=crash)
        if result.returncode < 0:
            return result
        assert result.returncode == 0, result.stdout + result.stderr
    assert result is not None
    return result


def test_sigkill_at_every_stage_then_a_rerun_ends_as_an_uninterrupted_run(settings: Settings, tmp_path: Path) -> None:
    world, files = _world(tmp_path / "all")
    held_back = next(p for p in files if "_SKKS_D_" in p.name)  # its successors wait (E005) until it comes
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for p in files:
        if p != held_back:
            shutil.copy(p, inbox / p.name)
    late = tmp_path / "late"
    late.mkdir()
    shutil.copy(held_back, late / held_back.name)

    # The uninterrupted run.
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(inbox)).returncode == 1  # held files: exit 1
    assert _shuyaku(settings, "ingest", "--keep-source", str(late)).returncode == 0
    _export_all(settings, tmp_path / "out-clean")
    clean = _canonical(settings, tmp_path / "out-clean")
    assert clean["counts"]["person"] > 0 and any(row[3] == "held" for row in clean["ledger"]) is False
    assert clean["candidates"] and clean["pending"] == 0

    # The same work, killed at every stage and run again.
    _fresh(settings, world)
    for point in ("ingest.before_commit:3", "ingest.after_commit:2", "continuity.judged:1"):
        assert _shuyaku(settings, "ingest", "--keep-source", str(inbox), crash=point).returncode == -9
    assert _canonical(settings)["pending"] > 0  # every file applied or held, 世帯の継続性 not judged yet
    waiting = _shuyaku(settings, "status")
    assert "世帯の継続性の判定を待っている被保険者" in waiting.stdout, waiting.stdout + waiting.stderr
    assert _shuyaku(settings, "ingest", "--keep-source", str(inbox)).returncode == 0  # re-sends only; it judges
    assert _shuyaku(settings, "ingest", "--keep-source", str(late), crash="release.before:1").returncode == -9
    assert (
        _shuyaku(settings, "ingest", "--keep-source", str(late), crash="ingest.before_commit:1").returncode == -9
    )  # during a release
    assert _shuyaku(settings, "ingest", "--keep-source", str(late)).returncode == 0
    out = tmp_path / "out"
    for point in ("outbox.before_commit:2", "outbox.after_publish:1"):
        assert _export_all(settings, out, crash=point).returncode == -9
    _export_all(settings, out)
    assert _canonical(settings, out) == clean


def test_a_parallel_ingest_killed_then_run_again_ends_as_an_uninterrupted_run(
    settings: Settings, tmp_path: Path
) -> None:
    """``--jobs 2``: the command applies senders itself beside its worker, so SIGKILL ends
    the command in the middle of a file (it reaches the point first while its worker is
    still starting; were it the worker, the command would fail instead) and the orphaned
    worker finishes the sender it holds. Files committed stay; a second run finishes the
    rest and the store equals one uninterrupted run."""
    world, _ = _world(tmp_path / "inbox")
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", "--jobs", "2", str(tmp_path / "inbox")).returncode == 0
    clean = _canonical(settings)

    for point in ("ingest.before_commit:2", "ingest.after_commit:3"):
        _fresh(settings, world)
        killed = _shuyaku(settings, "ingest", "--keep-source", "--jobs", "2", str(tmp_path / "inbox"), crash=point)
        assert killed.returncode != 0, point
        _wait_for_orphans(settings)
        again = _shuyaku(settings, "ingest", "--keep-source", "--jobs", "2", str(tmp_path / "inbox"))
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        assert _canonical(settings) == clean, point


def _wait_for_orphans(settings: Settings) -> None:
    """A worker whose command was killed finishes the sender it holds, then exits (its
    queue closes); wait for it, so the check reads a store no one writes any more."""
    import time

    marker = str(settings.home).encode()
    for _ in range(600):
        alive = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _environ_has(p, marker) and p.name != str(os.getpid())
        ]
        if not alive:
            return
        time.sleep(0.1)
    raise AssertionError("a worker of the killed run is still running after 60 s")


def _environ_has(proc: Path, marker: bytes) -> bool:
    try:
        return b"SHUYAKU_HOME=" + marker + b"\0" in (proc / "environ").read_bytes()
    except OSError:
        return False


def test_two_ingests_of_the_same_inbox_at_once_end_as_one(settings: Settings, tmp_path: Path) -> None:
    world, _ = _world(tmp_path / "inbox")
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(tmp_path / "inbox")).returncode == 0
    serial = _canonical(settings)

    _fresh(settings, world)
    codes, outputs = _at_once(settings, *[("ingest", "--keep-source", str(tmp_path / "inbox"))] * 2)
    assert codes == [0, 0], outputs
    assert _canonical(settings) == serial  # nothing doubled, no invented E004, nothing held
    ctx = open_context(settings)
    with ctx.engine.connect() as conn:
        statuses = conn.execute(select(inbound_file.c.status, func.count()).group_by(inbound_file.c.status)).all()
    ctx.engine.dispose()
    counts = dict(statuses)
    assert counts["applied"] == counts.get("duplicate", 0) == len(list((tmp_path / "inbox").iterdir()))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_two_ingests_that_delete_their_sources_share_one_inbox(settings: Settings, tmp_path: Path, jobs: str) -> None:
    """The default: each file is deleted once applied. Two runs of one inbox at once: every
    file is applied once, neither run fails on a file the other took or already deleted,
    and the inbox ends empty — also with workers (``--jobs 2``, PostgreSQL), where a file
    the other run took has no outcome in its worker either."""
    world, _ = _world(tmp_path / "inbox")
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(tmp_path / "inbox")).returncode == 0
    serial = _canonical(settings)
    sent = len(list((tmp_path / "inbox").iterdir()))

    _fresh(settings, world)
    codes, outputs = _at_once(settings, *[("ingest", "--jobs", jobs, str(tmp_path / "inbox"))] * 2)
    assert all(code in (0, 2) for code in codes), outputs  # 2: the later run found the inbox already empty
    assert "Traceback" not in repr(outputs)
    assert _canonical(settings) == serial
    assert list((tmp_path / "inbox").iterdir()) == []
    ctx = open_context(settings)
    with ctx.engine.connect() as conn:
        statuses = dict(conn.execute(select(inbound_file.c.status, func.count()).group_by(inbound_file.c.status)).all())
    ctx.engine.dispose()
    assert statuses["applied"] == sent and statuses.get("rejected", 0) == 0


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url)


def test_two_ingests_of_different_senders_at_once_end_as_the_serial_order(settings: Settings, tmp_path: Path) -> None:
    world, files = _world(tmp_path / "all")
    halves = [tmp_path / "first", tmp_path / "second"]
    for folder in halves:
        folder.mkdir()
    codes = sorted({m.code for m in world.municipalities})
    for path in files:
        target = halves[0] if path.name.split("_")[0] == codes[0] else halves[1]
        shutil.copy(path, target / path.name)
    _fresh(settings, world)
    for folder in halves:
        assert _shuyaku(settings, "ingest", "--keep-source", str(folder)).returncode == 0
    serial = _canonical(settings)

    _fresh(settings, world)
    codes, outputs = _at_once(settings, *[("ingest", "--keep-source", str(folder)) for folder in halves])
    assert codes == [0, 0], [err[-3000:] + _ledger_problems(settings) for _, err in outputs]
    together = _canonical(settings)
    # Continuity candidates depend on which municipality's file of a move came first; the
    # order property of the judgement (tests/integration/test_continuity.py) makes the
    # result the same either way, so every part of the dump must be equal.
    assert together == serial


def _counts_now(settings: Settings) -> list[tuple[object, ...]]:
    from shuyaku.db.schema import tasuukai_count

    ctx = open_context(settings)
    t = tasuukai_count.c
    with ctx.engine.connect() as conn:
        found = sorted(
            conn.execute(
                select(t.municipality_code, t.setai_no, t.month, t.hit_count, t.months).where(t.superseded_at.is_(None))
            ).all()
        )
    ctx.engine.dispose()
    return [tuple(r) for r in found]


def test_a_batch_during_an_ingest_ends_as_one_of_the_serial_orders(settings: Settings, tmp_path: Path) -> None:
    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=13)
    first, later = tmp_path / "first", tmp_path / "later"
    world.write_full(first)
    for month in ("202607", "202608", "202609", "202610"):
        world.write_hits(first, month)
    for _ in range(2):
        world.write_day(later, 12)
    orders = []
    for batch_first in (True, False):
        _fresh(settings, world)
        assert _shuyaku(settings, "ingest", "--keep-source", str(first)).returncode == 0
        steps = [("tasuukai", "run", "--month", "202611"), ("ingest", "--keep-source", str(later))]
        for step in steps if batch_first else steps[::-1]:
            assert _shuyaku(settings, *step).returncode == 0
        orders.append((_canonical(settings), _counts_now(settings)))

    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(first)).returncode == 0
    codes, outputs = _at_once(
        settings, ("ingest", "--keep-source", str(later)), ("tasuukai", "run", "--month", "202611")
    )
    assert codes == [0, 0], outputs
    assert (_canonical(settings), _counts_now(settings)) in orders
    assert orders[0][1]  # the batch really counted something


def _index_names(settings: Settings) -> set[str]:
    from sqlalchemy import inspect

    ctx = open_context(settings)
    try:
        found = inspect(ctx.engine)
        return {
            index["name"]
            for table in ("person_key", "household_key", "qualification_period")
            for index in found.get_indexes(table)
            if index["name"]
        }
    finally:
        ctx.engine.dispose()


def _marker(settings: Settings) -> str | None:
    from shuyaku.db.deferred import loading_since

    ctx = open_context(settings)
    try:
        with ctx.engine.connect() as conn:
            return loading_since(conn)
    finally:
        ctx.engine.dispose()


def test_an_initial_load_killed_anywhere_ends_as_a_plain_load_with_every_index(
    settings: Settings, tmp_path: Path
) -> None:
    from shuyaku.db.deferred import deferred_indexes

    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=17)
    full, day = tmp_path / "full", tmp_path / "day"
    world.write_full(full)
    world.write_day(day, 12)
    deferred = {index.name for index in deferred_indexes()}
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(full)).returncode == 0
    assert _shuyaku(settings, "ingest", "--keep-source", str(day)).returncode == 0
    plain = _canonical(settings)
    with_all = _index_names(settings)
    assert deferred <= with_all and plain["counts"]["person"] > 0

    # Killed during the load, then while rebuilding: the indexes stay away, the marker stays.
    _fresh(settings, world)
    killed = _shuyaku(settings, "ingest", "--initial", "--keep-source", str(full), crash="ingest.before_commit:3")
    assert killed.returncode == -9
    assert _marker(settings) is not None and not deferred & _index_names(settings)
    status = _shuyaku(settings, "status")
    assert "初期移行モードの取込が終わっていません" in status.stdout, status.stdout + status.stderr
    killed = _shuyaku(settings, "ingest", "--initial", "--keep-source", str(full), crash="initial.before_commit:1")
    assert killed.returncode == -9
    assert _marker(settings) is not None and not deferred & _index_names(settings)
    # A plain ingest puts them back before it reads anything, and the store ends as the plain run's.
    done = _shuyaku(settings, "ingest", "--keep-source", str(full))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _marker(settings) is None and _index_names(settings) == with_all
    assert _shuyaku(settings, "ingest", "--keep-source", str(day)).returncode == 0
    assert _canonical(settings) == plain

    # Uninterrupted: the same store; and never twice.
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--initial", "--keep-source", str(full)).returncode == 0
    assert _marker(settings) is None and _index_names(settings) == with_all
    assert _shuyaku(settings, "ingest", "--keep-source", str(day)).returncode == 0
    assert _canonical(settings) == plain
    again = _shuyaku(settings, "ingest", "--initial", "--keep-source", str(day))
    assert again.returncode == 2 and "被保険者がまだ一人も登録されていない県でだけ" in again.stderr + again.stdout
    assert _marker(settings) is None and _index_names(settings) == with_all


def test_two_initial_loads_at_once_end_as_one_plain_load(settings: Settings, tmp_path: Path) -> None:
    from shuyaku.db.deferred import deferred_indexes

    world, _ = _world(tmp_path / "inbox")
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(tmp_path / "inbox")).returncode == 0
    plain, with_all = _canonical(settings), _index_names(settings)

    _fresh(settings, world)
    codes, outputs = _at_once(settings, *[("ingest", "--initial", "--keep-source", str(tmp_path / "inbox"))] * 2)
    # The second either joins the load under way or, if the first has finished, is refused.
    assert sorted(codes) in ([0, 0], [0, 2]), outputs
    assert all(
        "被保険者がまだ一人も登録されていない県でだけ" in out + err
        for code, (out, err) in zip(codes, outputs, strict=True)
        if code == 2
    )
    assert _marker(settings) is None and _index_names(settings) == with_all
    assert {index.name for index in deferred_indexes()} <= with_all
    assert _canonical(settings) == plain


def _hit_months_in_force(settings: Settings, month: str) -> list[tuple[object, ...]]:
    from shuyaku.db.schema import hit_month

    h = hit_month.c
    ctx = open_context(settings)
    try:
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                select(h.pref_household_id, h.kind, h.payment).where(
                    h.month == month, h.source == "federation", h.superseded_at.is_(None)
                )
            ).all()
    finally:
        ctx.engine.dispose()
    return sorted(tuple(r) for r in rows)


def test_two_kogaku_runs_of_one_month_at_once_leave_one_set_of_hit_months(settings: Settings, tmp_path: Path) -> None:
    """A month run twice at once (two operators, or a rerun during a run) ends with the
    hit months of one run in force, as two runs one after the other leave it — never both."""
    from shuyaku.synth.claims import write_claims, write_income_classes

    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=17)
    inbox = tmp_path / "in"
    world.write_full(inbox)
    write_income_classes(world, inbox, "202608")
    write_claims(world, inbox, "202609", 17)
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(inbox)).returncode == 0
    assert _shuyaku(settings, "kogaku", "run", "--month", "202609").returncode == 0
    serial = _hit_months_in_force(settings, "202609")
    assert serial  # the month really has hits to duplicate
    codes, outputs = _at_once(settings, ("kogaku", "run", "--month", "202609"), ("kogaku", "run", "--month", "202609"))
    assert codes == [0, 0], outputs
    assert _hit_months_in_force(settings, "202609") == serial


def test_two_tasuukai_runs_of_one_month_at_once_leave_one_count_per_household(
    settings: Settings, tmp_path: Path
) -> None:
    """Two `tasuukai run`s of a month at once end with the counts one run leaves: each
    household's count in force once, never a second current row beside the first."""
    world = SyntheticPrefecture(prefecture="11", municipalities=3, persons=300, seed=13)
    inbox = tmp_path / "in"
    world.write_full(inbox)
    for month in ("202607", "202608", "202609", "202610"):
        world.write_hits(inbox, month)
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(inbox)).returncode == 0
    codes, outputs = _at_once(settings, *[("tasuukai", "run", "--month", "202611")] * 2)
    assert codes == [0, 0], outputs
    counts = _counts_now(settings)
    assert counts  # the runs really counted something
    keys = [(code, setai, month) for code, setai, month, *_ in counts]
    assert len(keys) == len(set(keys))


def _released(settings: Settings, kind: str) -> list[int]:
    """The row counts of the released files of ``kind``, in the order they were released."""
    ctx = open_context(settings)
    o = outbound_file.c
    try:
        with ctx.engine.connect() as conn:
            return list(
                conn.execute(
                    select(o.row_count).where(o.kind == kind, o.status == "released").order_by(o.outbound_id)
                ).scalars()
            )
    finally:
        ctx.engine.dispose()


@pytest.mark.parametrize("kind", ["IDTB", "KKKK"])
def test_two_exports_into_two_folders_at_once_send_each_row_once(settings: Settings, tmp_path: Path, kind: str) -> None:
    """An export from the CLI and one for the API (different folders) at once: every pending
    row goes out once, in one of the two files, as when they run one after the other."""
    world, _ = _world(tmp_path / "inbox")
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(tmp_path / "inbox")).returncode == 0
    code = world.municipalities[0].code
    export = ("export", "--kind", kind, "--municipality", code, "--out")
    codes, outputs = _at_once(settings, (*export, str(tmp_path / "a")), (*export, str(tmp_path / "b")))
    assert codes == [0, 0], outputs
    sent = _released(settings, kind)
    _fresh(settings, world)
    assert _shuyaku(settings, "ingest", "--keep-source", str(tmp_path / "inbox")).returncode == 0
    for folder in ("c", "d"):
        assert _shuyaku(settings, *export, str(tmp_path / folder)).returncode == 0
    assert sorted(sent) == sorted(_released(settings, kind))

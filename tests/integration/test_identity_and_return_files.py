"""Identity across municipalities, bitemporal history, key rotation and return files."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from shuyaku import ids
from shuyaku.db.schema import id_assignment, outbound_file, qualification_period, vault_entry
from shuyaku.exchange import outbox
from shuyaku.ingest.returns import export
from shuyaku.qualification import periods
from shuyaku.qualification.service import lookup_person
from shuyaku.setup import rotate_index_key
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import AtOnce, counts, ingest, person_id, rows


def _move_a_to_b(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    ingest(
        ctx,
        exchange_file(
            "SKKS", [skks("1000000001", history=2, change_date="20261031", reason="12", applied_to="20261031")], seq=2
        ),
    )
    ingest(
        ctx,
        exchange_file(
            "SKKS",
            [
                skks(
                    "3000000007",
                    muni=MUNI_B,
                    individual_number=number(1),
                    setai="4000000001",
                    change_date="20261101",
                    reason="11",
                    applied_from="20261101",
                )
            ],
            muni=MUNI_B,
        ),
    )


def test_a_person_moving_inside_the_prefecture_keeps_their_prefecture_id(ctx) -> None:  # type: ignore[no-untyped-def]
    _move_a_to_b(ctx)
    assert person_id(ctx, MUNI_A, "1000000001") == person_id(ctx, MUNI_B, "3000000007")
    assert counts(ctx)["person"] == 1 and counts(ctx)["vault_entry"] == 1
    [carried] = rows(ctx, id_assignment, id_assignment.c.municipality_code == MUNI_B)
    assert (carried.assign_kind, carried.prev_municipality_code) == ("2", MUNI_A)


def test_the_prefecture_qualification_date_is_kept_apart_from_the_municipal_dates(ctx) -> None:  # type: ignore[no-untyped-def]
    _move_a_to_b(ctx)
    [b] = lookup_person(ctx, OPERATOR, MUNI_B, "3000000007").records
    assert (str(b["qualified_from"]), str(b["applied_from"])) == ("2026-10-01", "2026-11-01")


def test_a_correction_keeps_history_and_the_past_stays_answerable(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1), name="試験　旧")]))
    before_correction = clock.now
    clock.advance(days=1)
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", op="2", name="試験　新")], seq=2))
    assert [r["name"] for r in lookup_person(ctx, OPERATOR, MUNI_A, "1000000001").records] == ["試験　新"]
    then = lookup_person(ctx, OPERATOR, MUNI_A, "1000000001", as_known_at=before_correction)
    assert [r["name"] for r in then.records] == ["試験　旧"]
    assert (
        lookup_person(ctx, OPERATOR, MUNI_A, "1000000001", as_known_at=before_correction - timedelta(days=1)).records
        == []
    )


def test_deleting_the_only_record_cancels_the_binding_in_IDTB(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", op="3")], seq=2))
    kinds = [r.assign_kind for r in rows(ctx, id_assignment)]
    assert kinds == ["1", "4"]


def test_rotating_the_index_key_keeps_every_id_and_still_recognises_people(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 6)]))
    before = {r.pref_person_id: r.blind_index for r in rows(ctx, vault_entry)}
    version, count = rotate_index_key(ctx, OPERATOR)
    after = {r.pref_person_id: r.blind_index for r in rows(ctx, vault_entry)}
    assert (version, count) == (2, 5) and set(after) == set(before)
    assert all(after[p] != before[p] for p in before)
    assert {r.index_key_version for r in rows(ctx, vault_entry)} == {2}
    ingest(ctx, exchange_file("SKKS", [skks("3000000003", muni=MUNI_B, individual_number=number(3))], muni=MUNI_B))
    assert person_id(ctx, MUNI_B, "3000000003") == person_id(ctx, MUNI_A, "1000000003")


def test_a_process_started_before_a_rotation_still_recognises_people_after_it(ctx) -> None:  # type: ignore[no-untyped-def]
    """A server or an ingest that was running when another process rotated the index key
    follows the store's key at its next look-up: the person is found, not numbered anew
    (before, it kept computing blind indexes under the old key and found nobody)."""
    from shuyaku.context import open_context
    from shuyaku.qualification.service import check_number

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    running = open_context(ctx.settings, clock=ctx.clock)  # another process, its vault already open
    assert running.vault.index_version == 1
    try:
        rotate_index_key(ctx, OPERATOR)
        back = [skks("3000000001", muni=MUNI_B, individual_number=number(1), setai="4000000001")]
        assert ingest(running, exchange_file("SKKS", back, muni=MUNI_B)).status == "applied"
        assert person_id(ctx, MUNI_B, "3000000001") == person_id(ctx, MUNI_A, "1000000001")
        assert running.vault.index_version == 2 and counts(ctx)["person"] == 1
        assert check_number(running, OPERATOR, MUNI_A, "1000000001", number(1), "本人確認")
    finally:
        running.engine.dispose()


def _lines(path) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [line.split(",") for line in path.read_bytes().decode("utf-8").split("\r\n") if line]


def test_IDTB_lists_each_binding_once_with_the_layout_of_the_spec(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _move_a_to_b(ctx)
    [path] = export(ctx, OPERATOR, MUNI_B, "IDTB", tmp_path)
    header, *data, trailer = _lines(path)
    assert header[:5] == ["1", "IDTB", MUNI_B, ids.with_insurer_check_digit("11100"), "2"] and header[7:] == [
        "1",
        "1.0",
    ]
    [row] = data
    pid = person_id(ctx, MUNI_B, "3000000007")
    assert row[:4] == ["2", MUNI_B, "3000000007", pid] and row[4] == "4000000001"
    assert ids.is_valid_pref_id(row[5], ids.HOUSEHOLD_KIND) and row[6:8] == ["2", MUNI_A]
    assert trailer == ["3", "1", "1", "0", "0", ""]
    [again] = export(ctx, OPERATOR, MUNI_B, "IDTB", tmp_path)
    assert _lines(again)[1:] == [["3", "0", "0", "0", "0", ""]]  # nothing new since
    assert path.name.startswith(f"{MUNI_B}_IDTB_D_") and again.name.endswith("_02.csv")


def test_KKKK_reports_each_problem_record_and_a_summary_per_inbound_file(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 31)]
    ingest(
        ctx, exchange_file("SKKS", [*good, skks("1000000099", birth="19700230", individual_number=number(99))]), "a.csv"
    )
    ingest(ctx, exchange_file("SKKS", good, trailer=["3", "9", "9", "0", "0", ""], seq=2), "b.csv")
    first, second = export(ctx, OPERATOR, MUNI_A, "KKKK", tmp_path)
    _, problem, summary, _ = _lines(first)
    assert problem[:8] == ["2", MUNI_A, "a.csv", "1", "32", "1000000099", "1", "9"] and problem[8] == "E020"
    assert summary[:9] == ["2", MUNI_A, "a.csv", "1", "", "", "", "1", ""]
    _, line_error, summary2, _ = _lines(second)
    assert (line_error[7], line_error[8]) == ("9", "E001") and (summary2[7], summary2[8]) == ("9", "E001")
    assert export(ctx, OPERATOR, MUNI_A, "KKKK", tmp_path) == []  # each inbound file is reported once


def test_the_outbox_guard_refuses_a_file_with_an_individual_number_and_writes_nothing(
    ctx, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from shuyaku.ingest import returns as export_module

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    monkeypatch.setattr(export_module, "_summary_message", lambda file: f"番号 {number(7)} を含む誤った文面")
    out = tmp_path / "out"
    with pytest.raises(outbox.OutboxBlocked) as info:
        export(ctx, OPERATOR, MUNI_A, "KKKK", out)
    assert number(7) not in str(info.value)
    assert not out.exists() or list(out.iterdir()) == []
    [blocked] = rows(ctx, outbound_file)
    assert (blocked.status, blocked.kind) == ("blocked", "KKKK") and number(7) not in blocked.reason
    monkeypatch.undo()
    [released] = export(ctx, OPERATOR, MUNI_A, "KKKK", out)  # the same inbound file is still owed its report
    assert released.exists()
    with ctx.engine.connect() as conn:
        assert outbox.guard(conn, ctx.vault, outbox.OutboundLayout("XXXX", ("個人番号",)), MUNI_A, [], "") is not None


def test_ingest_remove_source_leaves_no_plain_file_and_keeps_an_encrypted_copy(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.ingest.service import ingest_paths

    drop = tmp_path / "drop"
    drop.mkdir()
    raw = exchange_file("SKKS", [skks("1000000001", individual_number=number(1))])
    (drop / "a.csv").write_bytes(raw)
    [outcome] = ingest_paths(ctx, OPERATOR, [drop], remove_source=True)
    assert outcome.status == "applied" and list(drop.iterdir()) == []
    [copy] = list(ctx.settings.archive_dir.iterdir())
    assert number(1).encode() not in copy.read_bytes() and raw not in copy.read_bytes()


def test_migrations_create_exactly_the_tables_of_the_metadata(ctx) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shuyaku.db.schema import metadata

    with ctx.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_no_table_has_an_individual_number_column(ctx) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.db.schema import metadata

    assert not [c for t in metadata.tables.values() for c in t.columns if "individual" in c.name or "kojin" in c.name]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(vault_entry)).all() == []


def test_the_orphan_check_finds_a_history_row_without_its_person(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from shuyaku.db.integrity import orphans
    from shuyaku.db.schema import person, person_key

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    with ctx.engine.begin() as conn:
        assert set(orphans(conn).values()) == {0}
        for table in (vault_entry, person_key, id_assignment, person):
            conn.execute(delete(table))
        found = orphans(conn)
    assert found["qualification_period.pref_person_id"] == 1


def _move(ctx, *, a_ends: str, b_starts: str, b_first: bool = False):  # type: ignore[no-untyped-def]
    from tests.integration.helpers import results

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    leave = exchange_file(
        "SKKS", [skks("1000000001", history=2, change_date=a_ends, reason="12", applied_to=a_ends)], seq=2
    )
    arrive = exchange_file(
        "SKKS",
        [
            skks(
                "3000000007",
                muni=MUNI_B,
                individual_number=number(1),
                setai="4000000001",
                change_date=b_starts,
                reason="11",
                applied_from=b_starts,
            )
        ],
        muni=MUNI_B,
    )
    order = [arrive, leave] if b_first else [leave, arrive]
    outcomes = [ingest(ctx, raw) for raw in order]
    return [results(ctx, o.file_id) for o in outcomes], outcomes


def test_a_move_whose_periods_touch_raises_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    found, outcomes = _move(ctx, a_ends="20261031", b_starts="20261101")
    assert found == [[], []] and all(o.status == "applied" for o in outcomes)


def test_a_gap_between_the_old_and_new_municipality_is_E102_applied_for_review(ctx) -> None:  # type: ignore[no-untyped-def]
    found, outcomes = _move(ctx, a_ends="20261031", b_starts="20261105")
    assert found == [[], [(2, "E102", "1")]]
    assert outcomes[1].applied == 1 and outcomes[1].warnings == 1


def test_an_overlap_found_when_the_move_out_arrives_second_is_E101_on_that_file(ctx) -> None:  # type: ignore[no-untyped-def]
    found, _ = _move(ctx, a_ends="20261103", b_starts="20261101", b_first=True)
    assert found == [[], [(2, "E101", "1")]]  # the 転入 alone was fine; the late 転出 overlaps it


def test_encrypted_copies_are_purged_after_their_retention_and_not_before(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from shuyaku.db.schema import inbound_file
    from shuyaku.exchange.retention import purge_expired

    raw = exchange_file("SKKS", [skks("1000000001", individual_number=number(1))])
    ingest(ctx, raw)
    ingest(ctx, raw)  # a duplicate shares the copy
    [row, _] = rows(ctx, inbound_file)
    assert row.retain_until == date(2026, 11, 27) + timedelta(days=400)
    assert purge_expired(ctx, OPERATOR, row.retain_until) == 0
    assert len(list(ctx.settings.archive_dir.iterdir())) == 1
    assert purge_expired(ctx, OPERATOR, row.retain_until + timedelta(days=1)) == 1
    assert list(ctx.settings.archive_dir.iterdir()) == []
    assert all(r.archive_purged_at is not None for r in rows(ctx, inbound_file))


def test_an_export_waits_for_another_in_flight_instead_of_removing_its_file(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two exports into one folder at once: the second one's recovery of crash leftovers
    waits until the first has published, so the first's temporary file is never taken for a
    leftover and removed under it (the second ``kogaku run`` of a month did that)."""
    import threading
    import time

    out = tmp_path / "out"
    inside, go_on = threading.Event(), threading.Event()
    results: list[outbox.Released] = []

    def build(name: str, hold: bool):  # type: ignore[no-untyped-def]
        def staged(conn):  # type: ignore[no-untyped-def]
            done = outbox.release_document(
                conn,
                ctx.vault,
                layout=outbox.OutboundLayout("KGSK", ("項目",)),
                municipality_code=MUNI_A,
                filename=name,
                rows=[["1"]],
                text="項目\r\n1\r\n",
                payload="項目\r\n1\r\n".encode(),
                out_dir=out,
                now=ctx.clock(),
                actor="test",
            )
            if hold:
                inside.set()
                go_on.wait(10)
            return done

        return staged

    together = AtOnce()
    together.start(lambda: results.append(outbox.release_each(ctx.engine, out, [build("A.csv", True)])))
    assert inside.wait(10)
    together.start(lambda: results.append(outbox.release_each(ctx.engine, out, [build("B.csv", False)])))
    time.sleep(0.5)  # long enough for the second export's recovery to run, were it not waiting
    assert (out / ".A.csv.tmp").exists() and not (out / "B.csv").exists()
    go_on.set()
    together.join()
    assert together.failures == []
    assert sorted(p.name for p in out.iterdir()) == ["A.csv", "B.csv"]
    assert sorted(path.name for r in results for path in r.written) == ["A.csv", "B.csv"]


def test_an_export_into_a_folder_that_cannot_be_locked_still_goes(ctx, tmp_path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    """A network share without locks (flock answers ENOLCK): the export is written as before
    the folder lock, with a warning that exports into that folder must not overlap."""
    import errno

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    _move_a_to_b(ctx)
    monkeypatch.setattr(outbox.fcntl, "flock", no_locks)
    [path] = export(ctx, OPERATOR, MUNI_B, "IDTB", tmp_path / "share")
    assert path.is_file() and path.parent == tmp_path / "share"
    assert "cannot be locked" in caplog.text


def _in_force_by_every_record(ctx, first: date, end: date) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """The record in force as the rule says it, from every current row: per 宛名番号 the
    highest 履歴番号 dated before ``end``, kept when its span covers the month."""
    q = qualification_period.c
    newest: dict[tuple[str, str], Any] = {}
    for r in rows(ctx, qualification_period, q.superseded_at.is_(None), q.change_date < end):
        key = (r.municipality_code, r.atena_no)
        if key not in newest or r.history_no > newest[key].history_no:
            newest[key] = r
    return sorted(
        (r.municipality_code, r.atena_no, r.setai_no)
        for r in newest.values()
        if r.applied_from < end
        and (r.applied_to is None or r.applied_to >= first)
        and (r.qualified_until is None or r.qualified_until > first)
    )


def test_every_change_of_a_persons_records_keeps_the_record_in_force_right(ctx) -> None:  # type: ignore[no-untyped-def]
    """Adds of several 履歴番号 at once, a later 履歴番号 dated earlier, a correction that moves
    a 異動日 past the month, a deletion, the same key twice in one file, a full file's re-send:
    after each, every current row's ``overtaken_on`` is what its key's rows say, and the
    month's records in force are those the rule picks from every record."""
    a, b = "1000000001", "1000000002"

    def rec(atena: str, history: int, change: str, setai: str, **more: str) -> list[str]:
        seed = 1 if atena == a else 2
        return skks(
            atena, history=history, individual_number=number(seed), setai=setai, change_date=change,
            qualified_from="20250101", applied_from=change, **more,
        )  # fmt: skip

    files = [
        [rec(a, 1, "20260101", "2000000011"), rec(a, 2, "20260815", "2000000012"), rec(a, 3, "20261005", "2000000013"),
         rec(b, 1, "20260101", "2000000021")],
        [rec(a, 4, "20260701", "2000000014"), rec(b, 1, "20260901", "2000000022", op="2")],
        [rec(a, 4, "20260701", "2000000014", op="3"), rec(b, 2, "20260910", "2000000023"),
         rec(b, 2, "20261101", "2000000024", op="2")],
    ]  # fmt: skip
    september, october = (date(2026, 9, 1), date(2026, 10, 1)), (date(2026, 10, 1), date(2026, 11, 1))
    for seq, records in enumerate(files, start=1):
        outcome = ingest(ctx, exchange_file("SKKS", records, seq=seq))
        assert (outcome.status, outcome.errors) == ("applied", 0), (outcome.message, outcome.record_codes)
        with ctx.engine.connect() as conn:
            assert periods.overtaken_mismatches(conn) == 0
            for first, end in (september, october):
                found = periods.in_force(conn, first, end).select("municipality_code", "atena_no", "setai_no")
                assert sorted(found.rows()) == _in_force_by_every_record(ctx, first, end)
    # A full file sends 履歴 2 again with its 異動日 after September: 履歴 1 is in force then.
    full = [rec(a, 1, "20260101", "2000000011"), rec(a, 2, "20261010", "2000000012"),
            rec(a, 3, "20261005", "2000000013"), rec(b, 1, "20260901", "2000000022"),
            rec(b, 2, "20261101", "2000000024")]  # fmt: skip
    assert ingest(ctx, exchange_file("SKKS", full, seq=4, data_kind="1")).status == "applied"
    with ctx.engine.connect() as conn:
        assert periods.overtaken_mismatches(conn) == 0
        chosen = sorted(periods.in_force(conn, *september).select("atena_no", "setai_no").rows())
    assert (
        chosen == [(a, "2000000011"), (b, "2000000022")] == [r[1:] for r in _in_force_by_every_record(ctx, *september)]
    )
    # The column is the store's own: a person's records as staff and systems see them leave it out.
    shown = lookup_person(ctx, OPERATOR, MUNI_A, a).records
    assert [r["history_no"] for r in shown] == [1, 2, 3] and all("overtaken_on" not in r for r in shown)

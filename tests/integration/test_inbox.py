"""The inbox: envelope, sequence, duplicates, quarantine, all-or-nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

import shuyaku.db.history as history_module
from shuyaku import ids
from shuyaku.db.schema import inbound_file, ingest_result, municipality, qualification_period
from shuyaku.exchange import ledger
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks, skse
from tests.integration.helpers import counts, ingest, person_id, results, rows


def _persons(n: int, start: int = 1, **kw: str) -> list[list[str]]:
    return [
        skks(f"10000000{i:02d}", individual_number=number(i), setai=f"20000000{i:02d}", **kw)
        for i in range(start, start + n)
    ]


def test_a_full_file_numbers_every_person_and_household(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(ctx, exchange_file("SKKS", _persons(3), data_kind="1"))
    assert (outcome.status, outcome.records, outcome.applied, outcome.errors) == ("applied", 3, 3, 0)
    assert counts(ctx)["person"] == 3 and counts(ctx)["household"] == 3
    pids = {person_id(ctx, MUNI_A, f"10000000{i:02d}") for i in range(1, 4)}
    assert len(pids) == 3 and all(ids.is_valid_pref_id(p, ids.PERSON_KIND) and p.startswith("11") for p in pids)


def test_a_resent_identical_file_is_a_duplicate_that_changes_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    raw = exchange_file("SKKS", _persons(2))
    ingest(ctx, raw)
    before = counts(ctx)
    again = ingest(ctx, raw)
    assert again.status == "duplicate" and again.ok
    assert counts(ctx) == before


def test_a_conflicting_resend_of_an_applied_sequence_is_held_E004(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", _persons(2)))
    before = counts(ctx)
    outcome = ingest(ctx, exchange_file("SKKS", _persons(3)))
    assert (outcome.status, outcome.code) == ("held", "E004")
    assert counts(ctx) == before


def test_a_sequence_gap_is_held_E005_and_applied_when_the_missing_file_arrives(ctx) -> None:  # type: ignore[no-untyped-def]
    second = ingest(ctx, exchange_file("SKKS", _persons(1, start=5), seq=2))
    assert (second.status, second.code) == ("held", "E005")
    assert counts(ctx)["person"] == 0
    first = ingest(ctx, exchange_file("SKKS", _persons(2), seq=1))
    assert first.status == "applied"
    assert counts(ctx)["person"] == 3  # the held file was applied from its encrypted copy
    with ctx.engine.connect() as conn:
        assert ledger.last_applied_seq(conn, MUNI_A, "SKKS") == 2


def test_held_successors_are_released_in_a_chain_when_the_gap_fills(ctx) -> None:  # type: ignore[no-untyped-def]
    """連番 3 and 4 wait for 2; 2 waits for 1. The arrival of 1 applies 2, 3 and 4 in order,
    each released by its predecessor; a second, different copy of 3 held before stays held
    (the newest copy of a 連番 is the one applied)."""
    for seq, start in ((4, 40), (3, 30), (3, 35), (2, 20)):
        held = ingest(ctx, exchange_file("SKKS", _persons(1, start=start), seq=seq))
        assert (held.status, held.code) == ("held", "E005")
    assert ingest(ctx, exchange_file("SKKS", _persons(1), seq=1)).status == "applied"
    with ctx.engine.connect() as conn:
        assert ledger.last_applied_seq(conn, MUNI_A, "SKKS") == 4
        statuses = sorted(
            conn.execute(select(inbound_file.c.seq, inbound_file.c.status).where(inbound_file.c.seq > 1)).all()
        )
    assert counts(ctx)["person"] == 4  # 1, 2, the newest 3 and 4
    assert statuses == [
        (2, "applied"),
        (2, "released"),
        (3, "applied"),
        (3, "held"),
        (3, "released"),
        (4, "applied"),
        (4, "released"),
    ]


def test_an_unregistered_sender_is_rejected_E003(ctx) -> None:  # type: ignore[no-untyped-def]
    other = ids.with_municipality_check_digit("11999")
    outcome = ingest(
        ctx, exchange_file("SKKS", _persons(1, muni=other), muni=other, insurer=ids.with_insurer_check_digit("11999"))
    )
    assert (outcome.status, outcome.code) == ("rejected", "E003")
    assert "未登録" in outcome.message or "登録されていません" in outcome.message


def test_an_insurer_number_that_is_not_the_senders_is_E003(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(ctx, exchange_file("SKKS", _persons(1), insurer=ids.with_insurer_check_digit("11100")))
    assert (outcome.status, outcome.code) == ("rejected", "E003")


def test_a_record_of_another_municipality_rejects_the_file_E003_with_its_line(ctx) -> None:  # type: ignore[no-untyped-def]
    raw = exchange_file("SKKS", [*_persons(2), skks("1000000099", muni=MUNI_B, individual_number=number(99))])
    outcome = ingest(ctx, raw)
    assert (outcome.status, outcome.code) == ("rejected", "E003")
    assert results(ctx, outcome.file_id) == [(4, "E003", "9")]
    assert counts(ctx)["person"] == 0


def test_trailer_mismatch_rejects_the_whole_file_E001(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(ctx, exchange_file("SKKS", _persons(2), trailer=["3", "2", "1", "1", "0", ""]))
    assert (outcome.status, outcome.code) == ("rejected", "E001")
    assert counts(ctx)["person"] == 0


def test_undecodable_bytes_reject_the_file_E002(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(ctx, exchange_file("SKKS", _persons(2), encoding="cp932"))
    assert (outcome.status, outcome.code) == ("rejected", "E002")


def test_a_cp932_municipality_is_converted_on_arrival(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        conn.execute(municipality.update().where(municipality.c.municipality_code == MUNI_A).values(encoding="cp932"))
    outcome = ingest(ctx, exchange_file("SKKS", _persons(1, name="髙橋　花子"), encoding="cp932"))
    assert outcome.status == "applied"
    [record] = rows(ctx, qualification_period)
    assert record.name == "髙橋　花子"


def test_bad_records_are_quarantined_and_the_rest_applies(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = _persons(30)
    bad = skks("1000000099", individual_number=number(99)[:11] + str((int(number(99)[11]) + 1) % 10))
    outcome = ingest(ctx, exchange_file("SKKS", [*good, bad]))
    assert (outcome.status, outcome.applied, outcome.errors) == ("applied", 30, 1)
    [q] = rows(ctx, ingest_result, ingest_result.c.result == "9")
    assert (q.line_no, q.code, q.record_key) == (32, "E010", "1000000099")
    assert "個人番号" not in q.record and "1000000099" in q.record and bad[7] not in q.record


def test_more_failures_than_the_configured_share_hold_the_whole_file(ctx) -> None:  # type: ignore[no-untyped-def]
    rows_ = [
        *_persons(10),
        *[skks(f"10000001{i:02d}", individual_number=number(100 + i), birth="19701301") for i in range(2)],
    ]
    outcome = ingest(ctx, exchange_file("SKKS", rows_))
    assert (outcome.status, outcome.errors) == ("held", 2)
    assert counts(ctx)["person"] == 0 and counts(ctx)["qualification_period"] == 0
    assert [r[1] for r in results(ctx, outcome.file_id)] == ["E020", "E020"]  # listed for the municipality to fix


def test_a_correction_or_deletion_of_a_key_never_received_is_E030(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", _persons(30)))
    outcome = ingest(
        ctx, exchange_file("SKKS", [skks("1000000001", history=2, op="2"), *_persons(25, start=40)], seq=2)
    )
    assert outcome.status == "applied"
    assert results(ctx, outcome.file_id) == [(2, "E030", "9")]


def test_an_add_for_a_key_already_received_is_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", _persons(30)))
    outcome = ingest(
        ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1)), *_persons(25, start=40)], seq=2)
    )
    assert results(ctx, outcome.file_id) == [(2, "E011", "9")]


def test_a_number_already_held_by_another_atena_here_is_E031(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", _persons(30)))
    outcome = ingest(
        ctx, exchange_file("SKKS", [skks("1000000098", individual_number=number(1)), *_persons(25, start=40)], seq=2)
    )
    assert results(ctx, outcome.file_id) == [(2, "E031", "9")]


def test_a_first_record_without_a_number_is_E011(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(ctx, exchange_file("SKKS", [skks("1000000098"), *_persons(25)]))
    assert results(ctx, outcome.file_id) == [(2, "E011", "9")]


def test_warnings_apply_the_record_and_are_reported(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = ingest(
        ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1), name="試験\ue000", kana="しけん")])
    )
    assert (outcome.applied, outcome.warnings) == (1, 1)
    assert results(ctx, outcome.file_id) == [(2, "W201", "1")]


def test_a_crash_mid_file_leaves_no_partial_state_and_the_file_can_be_sent_again(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    raw = exchange_file("SKKS", _persons(5))

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(history_module, "bulk_insert", explode)
    failed = ingest(ctx, raw)  # the file's failure, not the run's: recorded and reported
    assert (failed.status, failed.code) == ("rejected", "E002") and "予期しないエラー" in failed.message
    assert counts(ctx) == {k: 0 for k in counts(ctx)}
    assert rows(ctx, ledger.inbound_file, ledger.inbound_file.c.status == "applied") == []
    monkeypatch.undo()
    assert ingest(ctx, raw).status == "applied"
    assert counts(ctx)["person"] == 5


def test_an_add_then_a_correction_of_the_same_key_in_one_file_apply_in_order(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    first = skks("1000000001", individual_number=number(1), name="試験　一")
    fixed = skks("1000000001", op="2", name="試験　二")
    outcome = ingest(ctx, exchange_file("SKKS", [first, fixed]))
    assert (outcome.status, outcome.applied, outcome.errors) == ("applied", 2, 0)
    current = rows(ctx, qualification_period, qualification_period.c.superseded_at.is_(None))
    assert [r.name for r in current] == ["試験　二"]
    assert len(rows(ctx, qualification_period)) == 2


def test_household_records_are_kept_with_history(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKSE", [skse("2000000001")]))
    ingest(ctx, exchange_file("SKSE", [skse("2000000001", op="2", address="架空市桜町2丁目")], seq=2))
    ingest(ctx, exchange_file("SKKS", _persons(1)))
    from shuyaku.db.schema import household_key, household_record

    assert len(rows(ctx, household_record)) == 2
    assert [r.address for r in rows(ctx, household_record, household_record.c.superseded_at.is_(None))] == [
        "架空市桜町2丁目"
    ]
    [key] = rows(ctx, household_key, household_key.c.setai_no == "2000000001")
    [record] = rows(ctx, qualification_period)
    assert record.pref_household_id == key.pref_household_id  # SKKS found the household SKSE created


def test_result_rows_never_hold_an_individual_number(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", _persons(30)))
    outcome = ingest(
        ctx, exchange_file("SKKS", [skks("1000000098", individual_number=number(1)), *_persons(25, start=40)], seq=2)
    )
    with ctx.engine.connect() as conn:
        stored = " ".join(str(v) for r in conn.execute(select(ingest_result)).all() for v in r)
    assert outcome.errors == 1 and number(1) not in stored


def test_several_workers_give_every_sender_its_files_in_order(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL two worker processes share the senders; on SQLite the same call runs in-process."""
    from shuyaku.ingest.service import ingest_paths
    from tests.conftest import OPERATOR

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a2.csv").write_bytes(exchange_file("SKKS", _persons(3, start=10), seq=2))
    (drop / "a1.csv").write_bytes(exchange_file("SKKS", _persons(3)))
    (drop / "b1.csv").write_bytes(exchange_file("SKKS", _persons(4, start=20, muni=MUNI_B), muni=MUNI_B))
    outcomes = ingest_paths(ctx, OPERATOR, [drop], jobs=2)
    assert [(o.filename, o.status) for o in outcomes] == [
        ("b1.csv", "applied"),
        ("a1.csv", "applied"),
        ("a2.csv", "applied"),
    ]
    assert counts(ctx)["person"] == 10
    pids = [person_id(ctx, MUNI_A, f"10000000{i:02d}") for i in (1, 2, 3, 10, 11, 12)]
    assert len(set(pids)) == 6


def test_a_file_another_run_took_before_it_was_read_is_skipped_not_refused(ctx, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two runs of one inbox: the other run may delete a file between this run's listing, its
    size check and its read. The file is that run's — no ledger row, no E002 here."""
    from pathlib import Path

    from shuyaku.ingest.inbound import ingest_from_inbox
    from tests.conftest import OPERATOR

    gone, taken = tmp_path / "gone.csv", tmp_path / "taken.csv"
    taken.write_bytes(exchange_file("SKKS", _persons(2)))
    read = Path.read_bytes

    def read_after_the_other_run(self: Path) -> bytes:
        if self == taken:
            taken.unlink()  # the other run applied it and removed its source meanwhile
        return read(self)

    monkeypatch.setattr(Path, "read_bytes", read_after_the_other_run)
    assert ingest_from_inbox(ctx, OPERATOR, gone, remove_source=True) is None
    assert ingest_from_inbox(ctx, OPERATOR, taken, remove_source=True) is None
    assert rows(ctx, inbound_file) == [] and counts(ctx)["person"] == 0


def test_id_partitions_are_disjoint() -> None:
    from shuyaku import ids as ids_module

    try:
        ids_module.set_id_partition(1, 2)
        odd = ids_module.new_pref_id_batch("11", "1", 200)
    finally:
        ids_module.set_id_partition(0, 1)
    assert all(int(i[3:12]) % 2 == 1 for i in odd)


def test_planner_statistics_are_refreshed_after_bulk_writes(ctx) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    ingest(ctx, exchange_file("SKKS", _persons(3)))
    ctx.note_bulk_write(25_000, ["person"])
    with ctx.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            analyzed = conn.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'person'")
            ).scalar()
            assert analyzed is not None
            # the smaller sample was this ANALYZE's only: the pooled connection samples as configured
            assert conn.execute(text("SHOW default_statistics_target")).scalar() == "100"
        else:
            assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar() == 1
    assert ctx._analyze_at >= 50_000  # the next refresh waits for twice as many rows

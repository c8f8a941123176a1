"""Quarantined records: read by the municipality that sent them (never with the number),
reviewed once with what was done about them, and counted on the dashboard until then."""

from __future__ import annotations

import threading

import pytest

from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.audit.guard import Concealed
from shuyaku.db.schema import audit_event
from shuyaku.errors import Conflict, InvalidRequest
from shuyaku.review import quarantine
from shuyaku.status import feed
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, rows

CLERK_A = Actor("clerk-a", "municipal_clerk", frozenset({MUNI_A}))
CLERK_B = Actor("clerk-b", "municipal_clerk", frozenset({MUNI_B}))


def _file_with_two_bad_records(ctx) -> None:  # type: ignore[no-untyped-def]
    good = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 40)]
    bad = [
        skks("1000000098", individual_number=number(98), birth="20261399"),
        # The number typed into the name as well: the copy must not keep it there either.
        skks("1000000099", individual_number=number(99), birth="20261399", name=f"試験 {number(99)}"),
    ]
    outcome = ingest(ctx, exchange_file("SKKS", good + bad))
    assert outcome.status == "applied"


def test_the_sending_municipality_reads_its_quarantined_records_without_the_number(ctx) -> None:  # type: ignore[no-untyped-def]
    _file_with_two_bad_records(ctx)
    found = quarantine.quarantined(ctx, CLERK_A, MUNI_A)
    assert [(q.record_key, q.line_no, q.field) for q in found] == [
        ("1000000099", 42, "生年月日"),
        ("1000000098", 41, "生年月日"),
    ]
    shown = repr(found)
    assert number(98) not in shown and number(99) not in shown
    assert "個人番号" not in found[0].record and found[0].record["生年月日"] == "20261399"
    assert [f.quarantined for f in feed(ctx, CLERK_A)] == [2]
    # Another municipality's clerk may not read them; the refusal is logged.
    with pytest.raises(AccessDenied):
        quarantine.quarantined(ctx, CLERK_B, MUNI_A)
    assert quarantine.quarantined(ctx, CLERK_B) == []
    reads = rows(ctx, audit_event, audit_event.c.action == "quarantine.read")
    assert [(e.actor, e.outcome, e.row_count) for e in reads] == [
        ("clerk-a", "ok", 2),
        ("clerk-b", "denied", 0),
        ("clerk-b", "ok", 0),
    ]


def test_a_review_is_recorded_once_with_its_note_masked(ctx) -> None:  # type: ignore[no-untyped-def]
    _file_with_two_bad_records(ctx)
    newest, older = quarantine.quarantined(ctx, CLERK_A, MUNI_A)
    with pytest.raises(InvalidRequest, match="理由"):
        quarantine.review(ctx, CLERK_A, newest.result_id, "no_action")
    with pytest.raises(InvalidRequest, match="outcome"):
        quarantine.review(ctx, CLERK_A, newest.result_id, "ignore")
    with pytest.raises(Concealed):  # another municipality's record does not exist for B
        quarantine.review(ctx, CLERK_B, newest.result_id, "resent", "連番 2 で再送")
    assert quarantine.review(ctx, CLERK_A, newest.result_id, "no_action", f"重複した記録 {number(99)}") == MUNI_A
    with pytest.raises(Conflict, match="確認済み"):
        quarantine.review(ctx, OPERATOR, newest.result_id, "resent", "")
    assert [q.result_id for q in quarantine.quarantined(ctx, CLERK_A, MUNI_A)] == [older.result_id]
    reviewed = quarantine.quarantined(ctx, CLERK_A, MUNI_A, open_only=False)[0]
    assert (reviewed.reviewed_by, reviewed.review_outcome) == ("clerk-a", "no_action")
    assert number(99) not in (reviewed.review_note or "") and reviewed.review_note.startswith("重複した記録")
    assert [f.quarantined for f in feed(ctx, CLERK_A)] == [1]
    events = rows(ctx, audit_event, audit_event.c.action == "quarantine.review")
    assert [(e.actor, e.outcome) for e in events] == [("clerk-b", "denied"), ("clerk-a", "ok")]


def test_two_reviews_at_once_record_one(ctx) -> None:  # type: ignore[no-untyped-def]
    _file_with_two_bad_records(ctx)
    target = quarantine.quarantined(ctx, CLERK_A, MUNI_A)[0].result_id
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def one(actor: Actor) -> None:
        start.wait()
        try:
            quarantine.review(ctx, actor, target, "resent", f"{actor.login_id} が再送")
            outcomes.append("reviewed")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=one, args=(a,)) for a in (CLERK_A, OPERATOR)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "reviewed"]
    assert len(rows(ctx, audit_event, audit_event.c.action == "quarantine.review")) == 1


def test_a_held_file_is_not_in_the_quarantine_review(ctx) -> None:  # type: ignore[no-untyped-def]
    bad = [skks(f"10000000{i:02d}", individual_number=number(i), birth="20261399") for i in range(1, 5)]
    assert ingest(ctx, exchange_file("SKKS", bad)).status == "held"  # re-sent whole, not record by record
    assert quarantine.quarantined(ctx, CLERK_A, MUNI_A) == []
    with pytest.raises(InvalidRequest, match="limit"):
        quarantine.quarantined(ctx, CLERK_A, MUNI_A, limit=0)

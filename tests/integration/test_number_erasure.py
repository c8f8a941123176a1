"""The life cycle of 特定個人情報: a number is erased from the vault once the person's NHI in
the prefecture ended `number_retention_years` ago with nothing after it; the pseudonymous
history stays; the erasure is logged and printed; a person who comes back is a new person."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.db.schema import audit_event, number_erasure, person_key, qualification_period, vault_entry
from shuyaku.qualification.erasure import cutoff_of, purge_numbers
from shuyaku.reports import service as reports
from tests.builders import MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import AtOnce, ingest, person_id, rows

TODAY = date(2026, 11, 28)
AUDITOR = Actor("aud", "auditor")


def _ended(atena: str, seed: int, until: str, *, muni: str | None = None) -> list[str]:
    kwargs = {"muni": muni} if muni else {}
    return skks(
        atena,
        individual_number=number(seed),
        setai="2" + atena[1:],
        change_date="20180401",
        qualified_from="20180401",
        applied_from="20180401",
        qualified_until=until,
        until_reason="02",
        applied_to=until,
        **kwargs,
    )


def _prefecture(ctx) -> dict[str, str]:  # type: ignore[no-untyped-def]
    people = [
        _ended("1000000001", 1, "20200331"),  # ended 6+ years ago: due
        _ended("1000000002", 2, "20240131"),  # ended under 5 years ago: kept
        skks("1000000003", individual_number=number(3), setai="2000000003"),  # insured now: kept
        _ended("1000000004", 4, "20210930"),  # ended long ago here …
    ]
    ingest(ctx, exchange_file("SKKS", people))
    # … but insured again in B since: kept.
    ingest(
        ctx,
        exchange_file(
            "SKKS", [skks("3000000004", muni=MUNI_B, individual_number=number(4), setai="4000000004")], muni=MUNI_B
        ),
    )
    return {
        a: person_id(ctx, m, a)
        for m, a in [
            ("112038", "1000000001"),
            ("112038", "1000000002"),
            ("112038", "1000000003"),
            ("112038", "1000000004"),
        ]
    }


def test_a_number_past_its_retention_is_erased_and_the_history_kept(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _prefecture(ctx)
    gone = ids["1000000001"]
    assert cutoff_of(TODAY, 5) == date(2021, 11, 28)
    planned = purge_numbers(ctx, OPERATOR, TODAY, dry_run=True)
    assert [d.pref_person_id for d in planned] == [gone]
    assert len(rows(ctx, vault_entry)) == 4  # a dry run changes nothing

    erased = purge_numbers(ctx, OPERATOR, TODAY)
    assert [(d.pref_person_id, d.qualified_until, d.municipalities) for d in erased] == [
        (gone, date(2020, 3, 31), "112038")
    ]
    assert {v.pref_person_id for v in rows(ctx, vault_entry)} == {
        ids["1000000002"],
        ids["1000000003"],
        ids["1000000004"],
    }
    assert rows(ctx, person_key, person_key.c.pref_person_id == gone) == []
    assert len(rows(ctx, qualification_period, qualification_period.c.pref_person_id == gone)) == 1  # history stays
    [event] = rows(ctx, audit_event, audit_event.c.action == "vault.purge", audit_event.c.target == gone)
    assert event.outcome == "ok" and "retention=5y" in event.detail
    assert purge_numbers(ctx, OPERATOR, TODAY) == []  # nothing left to erase

    done = reports.erasures(
        ctx, AUDITOR, date(2026, 11, 1), date(2026, 11, 30), csv_path=tmp_path / "e.csv", pdf_path=tmp_path / "e.pdf"
    )
    assert done.rows == 1 and (tmp_path / "e.pdf").stat().st_size > 1000
    [line] = list(csv.DictReader((tmp_path / "e.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert line["県被保険者ID"] == gone and line["資格喪失日(最後)"] == "令和2年3月31日(2020-03-31)"
    assert number(1) not in (tmp_path / "e.csv").read_text(encoding="utf-8-sig")
    assert [e.pref_person_id for e in rows(ctx, number_erasure)] == [gone]


def test_a_person_who_returns_after_erasure_is_a_new_person(ctx) -> None:  # type: ignore[no-untyped-def]
    ids = _prefecture(ctx)
    purge_numbers(ctx, OPERATOR, TODAY)
    # The municipality sends the person again (a new 履歴番号: the old record is history).
    back = ingest(
        ctx,
        exchange_file("SKKS", [skks("1000000001", history=2, individual_number=number(1), setai="2000000001")], seq=2),
    )
    assert back.status == "applied" and back.errors == 0
    assert person_id(ctx, "112038", "1000000001") != ids["1000000001"]


def test_only_the_federation_operator_may_erase(ctx) -> None:  # type: ignore[no-untyped-def]
    _prefecture(ctx)
    for actor in (AUDITOR, Actor("adm", "admin"), Actor("c", "municipal_clerk", frozenset({"112038"}))):
        with pytest.raises(AccessDenied):
            purge_numbers(ctx, actor, TODAY)
    assert len(rows(ctx, vault_entry)) == 4


def test_a_number_coming_back_during_its_erasure_is_kept_whole(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A file that finds the person by the number is held between the look-up and its
    commit while the erasure runs: the erasure waits for it and then finds the person insured
    again — nothing erased, as if the file had come first. (Before, the erasure took the
    number and the keys from under the file, which then bound a person with no number.)"""
    import threading
    import time

    from shuyaku.qualification import identity

    ingest(ctx, exchange_file("SKKS", [_ended("1000000001", 1, "20200331")]))
    person = person_id(ctx, "112038", "1000000001")
    found, go_on = threading.Event(), threading.Event()
    real_resolve = identity.resolve

    def held_resolve(*args):  # type: ignore[no-untyped-def]
        resolution = real_resolve(*args)
        if threading.current_thread().name == "returning":
            found.set()
            go_on.wait(10)
        return resolution

    monkeypatch.setattr(identity, "resolve", held_resolve)
    back = exchange_file(
        "SKKS", [skks("3000000001", muni=MUNI_B, individual_number=number(1), setai="4000000001")], muni=MUNI_B
    )
    together = AtOnce()
    together.start(lambda: ingest(ctx, back), name="returning")
    assert found.wait(10)
    together.start(lambda: purge_numbers(ctx, OPERATOR, TODAY))
    time.sleep(0.5)  # the erasure has read who is due by now, were it not waiting
    go_on.set()
    together.join()
    assert together.failures == []
    assert rows(ctx, number_erasure) == []
    assert person_id(ctx, MUNI_B, "3000000001") == person
    assert [v.pref_person_id for v in rows(ctx, vault_entry)] == [person]
    assert sorted(k.municipality_code for k in rows(ctx, person_key)) == sorted(["112038", MUNI_B])

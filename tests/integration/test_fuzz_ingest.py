"""Fuzz: random bytes, and random shifts, insertions and line breaks around a record that
holds a known number. Whatever arrives: a documented code, no crash, no hang, and the
number nowhere outside the vault."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from shuyaku import ids
from shuyaku.db.schema import audit_event, inbound_file, ingest_result
from shuyaku.exchange import envelope
from shuyaku.exchange.codes import MESSAGES
from tests.builders import exchange_file, number, skks
from tests.integration.helpers import ingest

KNOWN = number(77)
RECORD = skks("1000000077", individual_number=KNOWN)
CODES = set(MESSAGES)

edits = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "break", "quote", "comma", "digit", "wide"]), st.integers(0, 10_000)
    ),
    min_size=1,
    max_size=6,
)


def _mutate(raw: bytes, plan: list[tuple[str, int]]) -> bytes:
    data = bytearray(raw)
    for kind, at in plan:
        i = at % (len(data) + 1)
        piece = {
            "insert": b"99,",
            "break": b"\r\n",
            "quote": b'"',
            "comma": b",",
            "digit": b"7",
            "wide": "７".encode(),
            "delete": b"",
        }[kind]
        if kind == "delete":
            del data[i : i + 3]
        else:
            data[i:i] = piece
    return bytes(data)


def _stored_text(ctx) -> str:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        found = [
            str(row)
            for table in (inbound_file, ingest_result, audit_event)
            for row in conn.execute(select(table)).all()
        ]
    return ids.ascii_digits("\n".join(found))


def _reset(ctx) -> None:  # type: ignore[no-untyped-def]
    with ctx.engine.begin() as conn:
        for table in (
            "ingest_result",
            "inbound_file",
            "qualification_period",
            "person_key",
            "person",
            "vault_entry",
            "household",
            "household_key",
            "id_assignment",
            "seen_number",
        ):
            conn.execute(text(f"DELETE FROM {table}"))


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=edits)
def test_mutated_files_end_with_a_documented_code_and_the_number_stays_in_the_vault(ctx, plan) -> None:  # type: ignore[no-untyped-def]
    _reset(ctx)
    raw = _mutate(
        exchange_file("SKKS", [skks("1000000001", individual_number=number(1), setai="2000000001"), RECORD]), plan
    )
    outcome = ingest(ctx, raw, name=f"fuzz-{KNOWN}.csv")
    assert outcome.status in ("applied", "held", "rejected", "duplicate")
    assert outcome.code is None or outcome.code in CODES
    assert KNOWN not in ids.ascii_digits(outcome.message + outcome.filename)
    with ctx.engine.connect() as conn:
        codes = set(conn.execute(select(ingest_result.c.code)).scalars())
    assert codes <= CODES
    stored = _stored_text(ctx)
    at = stored.find(KNOWN)
    assert at < 0, f"the number is stored: …{stored[max(at - 200, 0) : at + 40]!r}…"  # a short message: no huge diff


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=2000))
def test_random_bytes_are_a_file_level_refusal_never_a_crash(raw: bytes) -> None:
    try:
        header = envelope.peek_header(raw)
    except envelope.EnvelopeError as exc:
        assert exc.code in CODES
        return
    try:
        envelope.parse(raw, "utf-8")
    except envelope.EnvelopeError as exc:
        assert exc.code in CODES
    assert header.kind

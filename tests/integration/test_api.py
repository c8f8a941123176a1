"""The REST API through HTTP: a municipal system's token, its files in and out, look-ups, and
every refusal as a problem document — on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.db.schema import audit_event, inbound_file, outbound_fetch, permission_change
from shuyaku.setup import change_setting
from shuyaku.web.app import create_app
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import Clock
from tests.integration.helpers import ingest, rows

ADMIN = Actor("adm", "admin")
PROBLEM = "application/problem+json"


class Recorder:
    """Every response of a test, so that one scan can say no individual number left."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: list[Any] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.client.request(method, url, **kwargs)
        self.seen.append(response)
        return response


@pytest.fixture
def api(ctx: Context) -> Iterator[Recorder]:
    with TestClient(create_app(ctx)) as client:
        yield Recorder(client)


def system_token(ctx: Context, muni: str = MUNI_A, login_id: str = "sys-a", days: int = 90) -> str:
    if not rows(ctx, accounts.app_user, accounts.app_user.c.login_id == login_id):
        accounts.add_user(ctx, ADMIN, login_id, "国保システム", "架空市", "municipal_system", [muni])
    return accounts.create_token(ctx, ADMIN, login_id, days=days)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def skks_file(muni: str = MUNI_A, seq: int = 1, seed: int = 1, atena: str = "1000000001") -> bytes:
    return exchange_file("SKKS", [skks(atena, muni=muni, individual_number=number(seed))], muni=muni, seq=seq)


def events(ctx: Context, action: str) -> list[Any]:
    return rows(ctx, audit_event, audit_event.c.action == action)


def assert_no_number_left(api: Recorder, *numbers: str) -> None:
    for response in api.seen:
        text = response.content.decode("utf-8", "replace") + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        for n in numbers:
            assert n not in text, (response.request.method, response.request.url)


def test_upload_status_returns_and_fetch_round_trip(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx)
    raw = skks_file()
    sent = api("POST", "/api/v1/files", content=raw, headers={**bearer(token), "X-Filename": "SKKS_1.csv"})
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert body["status"] == "applied" and body["applied"] == 1 and sent.headers["Location"] == body["status_url"]

    again = api("POST", "/api/v1/files", content=raw, headers={**bearer(token), "X-Filename": "SKKS_1.csv"})
    assert again.status_code == 202 and again.json()["file_id"] == body["file_id"]
    assert len(rows(ctx, inbound_file)) == 1  # a retried upload is the same file, not a second one

    status = api("GET", body["status_url"], headers=bearer(token))
    assert status.status_code == 200 and status.json()["problems"] == []

    listed = api("GET", "/api/v1/files", headers=bearer(token))
    assert [f["file_id"] for f in listed.json()] == [body["file_id"]]
    tag = listed.headers["ETag"]
    unchanged = api("GET", "/api/v1/files", headers={**bearer(token), "If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""

    made = api("POST", "/api/v1/returns/KKKK", headers=bearer(token))
    assert made.status_code == 200 and len(made.json()["written"]) == 1
    available = api("GET", "/api/v1/returns", headers=bearer(token)).json()
    assert [r["kind"] for r in available] == ["KKKK"] and available[0]["fetches"] == 0
    content = api("GET", available[0]["content_url"], headers=bearer(token))
    assert content.status_code == 200 and content.headers["content-type"].startswith("text/csv")
    assert content.content.startswith(b"1,KKKK") or b"KKKK" in content.content.splitlines()[0]
    assert len(rows(ctx, outbound_fetch)) == 1 and len(events(ctx, "returns.fetch")) == 1
    assert api("GET", "/api/v1/returns", headers=bearer(token)).json()[0]["fetches"] == 1
    assert_no_number_left(api, number(1))


def test_a_file_with_a_bad_record_is_applied_in_part_and_its_problems_are_listed(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx)
    good = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 30)]
    bad = skks("1000000099", individual_number=number(99), birth="20261399")
    sent = api("POST", "/api/v1/files", content=exchange_file("SKKS", [*good, bad]), headers=bearer(token)).json()
    assert (sent["status"], sent["applied"], sent["errors"]) == ("applied", 29, 1)
    problems = api("GET", sent["status_url"], headers=bearer(token)).json()["problems"]
    assert len(problems) == 1 and problems[0]["result"] == "9" and problems[0]["line_no"] == 31
    assert problems[0]["code"].startswith("E") and problems[0]["field"]
    assert_no_number_left(api, *(number(i) for i in (*range(1, 30), 99)))


def test_another_municipalitys_file_and_household_do_not_exist_for_a_token(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx, MUNI_A)
    theirs = ingest(ctx, skks_file(MUNI_B, seed=5, atena="3000000001"))
    refused = api("POST", "/api/v1/files", content=skks_file(MUNI_B, seq=2, seed=6), headers=bearer(token))
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    hidden = api("GET", f"/api/v1/files/{theirs.file_id}", headers=bearer(token))
    assert hidden.status_code == 404 and hidden.json()["status"] == 404
    missing = api("GET", "/api/v1/files/999999", headers=bearer(token))
    assert missing.json()["detail"].replace("999999", "") == hidden.json()["detail"].replace(str(theirs.file_id), "")
    denied = [e for e in rows(ctx, audit_event) if e.outcome == "denied" and e.actor == "sys-a"]
    assert {e.action for e in denied} == {"ingest", "inbox.read"}  # the hidden look-up is logged
    from shuyaku.db.schema import household_key

    [their_household] = rows(ctx, household_key, household_key.c.municipality_code == MUNI_B)
    explain = api(
        "GET", f"/api/v1/households/{their_household.pref_household_id}/tasuukai?month=202609", headers=bearer(token)
    )
    assert explain.status_code == 404
    assert len(rows(ctx, inbound_file)) == 1  # the refused upload left nothing


def test_tokens_expire_are_revoked_and_are_listed_as_account_changes(ctx, api, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    assert api("GET", "/api/v1/files").status_code == 401
    no_header = api("GET", "/api/v1/files")
    assert no_header.headers["content-type"] == PROBLEM and "Bearer" in no_header.headers["WWW-Authenticate"]
    assert api("GET", "/api/v1/files", headers=bearer("shy_not-a-token")).status_code == 401
    token = system_token(ctx, days=1)
    assert api("GET", "/api/v1/files", headers=bearer(token)).status_code == 200
    clock.advance(days=1, seconds=1)
    assert api("GET", "/api/v1/files", headers=bearer(token)).status_code == 401
    second = accounts.create_token(ctx, ADMIN, "sys-a", days=30)
    assert api("GET", "/api/v1/files", headers=bearer(second[1])).status_code == 200
    accounts.revoke_token(ctx, ADMIN, second[0], reason="端末の入替え")
    assert api("GET", "/api/v1/files", headers=bearer(second[1])).status_code == 401
    kinds = [r.kind for r in rows(ctx, permission_change, permission_change.c.login_id == "sys-a")]
    assert kinds == ["新規登録", "APIトークン発行", "APIトークン発行", "APIトークン失効"]
    stored = rows(ctx, accounts.api_token)
    assert all(token not in (r.token_hash, r.login_id) and len(r.token_hash) == 64 for r in stored)
    with pytest.raises(accounts.LoginFailed):  # a system account never logs in interactively
        accounts.login(ctx, "sys-a", "whatever-password", "000000")


def test_a_token_is_issued_only_to_a_system_account_of_one_municipality(ctx) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(ctx, ADMIN, "clerk-a", "架空 太郎", "架空市", "municipal_clerk", [MUNI_A])
    with pytest.raises(accounts.AccountError):
        accounts.create_token(ctx, ADMIN, "clerk-a")
    accounts.add_user(ctx, ADMIN, "sys-ab", "国保システム", "架空市", "municipal_system", [MUNI_A, MUNI_B])
    with pytest.raises(accounts.AccountError):
        accounts.create_token(ctx, ADMIN, "sys-ab")
    accounts.add_user(ctx, ADMIN, "sys-a", "国保システム", "架空市", "municipal_system", [MUNI_A])
    with pytest.raises(accounts.AccountError):
        accounts.create_token(ctx, ADMIN, "sys-a", days=400)


def test_persons_are_looked_up_by_post_and_a_number_is_only_checked(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx)
    ingest(ctx, skks_file(seed=7))
    found = api(
        "POST",
        "/api/v1/persons/lookup",
        json={"municipality_code": MUNI_A, "atena_no": "1000000001"},
        headers=bearer(token),
    )
    assert found.status_code == 200
    person = found.json()
    assert len(person["pref_person_id"]) == 13 and person["records"][0]["atena_no"] == "1000000001"
    by_id = api("GET", f"/api/v1/persons/{person['pref_person_id']}", headers=bearer(token))
    assert [p["atena_no"] for p in by_id.json()] == ["1000000001"]

    def check(candidate: str) -> Any:
        query = {
            "municipality_code": MUNI_A,
            "atena_no": "1000000001",
            "individual_number": candidate,
            "purpose": "資格確認",
        }
        return api("POST", "/api/v1/persons/check-number", json=query, headers=bearer(token))

    assert check(number(7)).json() == {"match": True}
    assert check(number(8)).json() == {"match": False}
    malformed = check(number(7)[:-1] + str((int(number(7)[-1]) + 1) % 10))
    assert malformed.status_code == 400 and malformed.headers["content-type"] == PROBLEM
    logged = events(ctx, "person.check_number")
    assert [e.detail.split("結果: ")[1] for e in logged] == ["一致", "不一致"] and all(
        "資格確認" in e.detail for e in logged
    )
    assert_no_number_left(api, number(7), number(8), number(7)[:-1])


def test_refusals_are_problem_documents_and_uploads_have_a_size_limit(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx)
    change_setting(ctx, ADMIN, "max_file_bytes", "2048")
    big = api("POST", "/api/v1/files", content=b"x" * 4096, headers=bearer(token))
    assert big.status_code == 413 and big.headers["content-type"] == PROBLEM
    empty = api("POST", "/api/v1/files", content=b"", headers=bearer(token))
    assert empty.status_code == 400
    malformed = api("POST", "/api/v1/files", content=b"not,a,header\r\n", headers=bearer(token))
    assert malformed.status_code == 202 and malformed.json()["status"] == "rejected"
    assert malformed.json()["code"] in ("E001", "E002", "E003")
    wrong = api("POST", "/api/v1/persons/lookup", json={"municipality_code": "1"}, headers=bearer(token))
    assert wrong.status_code == 422 and "atena_no" in wrong.json()["detail"]
    assert api("GET", "/api/v1/nowhere", headers=bearer(token)).json()["status"] == 404
    for response in api.seen:
        assert (
            response.headers["Cache-Control"] == "no-store"
            and "default-src 'none'" in response.headers["Content-Security-Policy"]
        )


def test_a_caller_that_sends_too_fast_is_told_when_to_retry(ctx, api) -> None:  # type: ignore[no-untyped-def]
    token = system_token(ctx)
    api.client.app.state.limiter.rate, api.client.app.state.limiter.burst = 1.0, 3.0  # type: ignore[attr-defined]
    answers = [api("GET", "/api/v1/kinds", headers=bearer(token)).status_code for _ in range(3)]
    answers += [api("GET", "/api/v1/files", headers=bearer(token)).status_code for _ in range(3)]
    assert answers[:3] == [200, 200, 200] and 429 in answers[3:]
    limited = next(r for r in api.seen if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["content-type"] == PROBLEM


def test_candidates_are_listed_and_decided_by_the_destination_supervisor_only(ctx, api) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_continuity import Prefecture, family_in_a, move_whole_family

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)  # A → B: B, the destination, decides
    token = system_token(ctx, MUNI_B, "sys-b")
    listed = api("GET", "/api/v1/continuity/candidates?status=proposed", headers=bearer(token))
    assert listed.status_code == 200 and int(listed.headers["X-Total-Count"]) == len(listed.json()) == 1
    candidate = listed.json()[0]
    assert (candidate["to_municipality_code"], candidate["rule"]) == (MUNI_B, "K1")
    assert api("GET", "/api/v1/continuity/candidates", headers=bearer(system_token(ctx, MUNI_A))).json() == []
    decide = f"/api/v1/continuity/candidates/{candidate['candidate_id']}"
    assert api("POST", decide + "/confirm", headers=bearer(token)).status_code == 403  # a system does not decide
    creds = accounts.add_user(ctx, ADMIN, "super-b", "確認 花子", "仮想町", "municipal_supervisor", [MUNI_B])
    session = _session(ctx, creds)
    assert api("POST", decide + "/reject", json={"reason": ""}, headers=bearer(session)).status_code == 422
    done = api("POST", decide + "/confirm", json={"note": "転入届で確認"}, headers=bearer(session))
    assert done.status_code == 200 and done.json() == {"candidates": [candidate["candidate_id"]]}
    assert [e.actor for e in events(ctx, "continuity.confirmed")] == ["super-b"]
    assert api("POST", decide + "/confirm", headers=bearer(session)).status_code == 400  # already decided


def test_a_file_sent_over_the_api_is_judged_for_continuity_before_the_answer(ctx, api) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_continuity import Prefecture, arrive_b, family_in_a

    family_in_a(Prefecture(ctx), hits=())
    arrival = exchange_file("SKKS", [arrive_b("3000000001", 11), arrive_b("3000000002", 12, head=False)], muni=MUNI_B)
    token = system_token(ctx, MUNI_B, "sys-b")
    sent = api("POST", "/api/v1/files", content=arrival, headers=bearer(token))
    assert sent.status_code == 202 and sent.json()["status"] == "applied"
    [candidate] = api("GET", "/api/v1/continuity/candidates", headers=bearer(token)).json()
    assert (candidate["rule"], candidate["status"]) == ("K1", "proposed")
    [judged] = [e for e in events(ctx, "ingest.continuity") if e.actor == "sys-b"]
    assert (judged.scope, judged.row_count) == (MUNI_B, 1)


def _session(ctx: Context, creds: accounts.NewCredentials) -> str:
    """Log a staff member in as the CLI does: first password and the TOTP code."""
    from urllib.parse import parse_qs, urlparse

    import pyotp

    secret = parse_qs(urlparse(creds.totp_uri).query)["secret"][0]
    return accounts.login(ctx, creds.login_id, creds.password, pyotp.TOTP(secret).at(ctx.clock.now)).token

"""The staff screens through HTTPS (TestClient): log-in with TOTP, the first password change,
dashboards, a candidate decided by the destination's supervisor, a person looked up by POST,
the auditor's pages, the idle time-out — and no script, no inline style, no number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.db.schema import audit_event
from shuyaku.web.app import create_app
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import Clock
from tests.integration.helpers import ingest, rows

ADMIN = Actor("adm", "admin")
NEW_PASSWORD = "Kaso-Shi#2026-dec"


class Browser:
    """One staff member's browser: cookies kept, every page kept for the final scans."""

    def __init__(self, ctx: Context) -> None:
        self.client = TestClient(create_app(ctx), base_url="https://testserver", follow_redirects=False)
        self.pages: list[Any] = []

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        self.pages.append(response)
        return response

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> Any:
        response = self.client.post(url, data=data, **kwargs)
        self.pages.append(response)
        return response

    def csrf(self, url: str) -> str:
        found = re.search(r'name="csrf" value="([^"]*)"', self.get(url).text)
        assert found, url
        return found.group(1)


@pytest.fixture
def browser(ctx: Context) -> Iterator[Browser]:
    b = Browser(ctx)
    with b.client:
        yield b


def staff_member(
    ctx: Context, login_id: str, role: str, municipalities: list[str] | None = None
) -> accounts.NewCredentials:
    return accounts.add_user(ctx, ADMIN, login_id, "架空 太郎", "架空市", role, municipalities)


def code_for(ctx: Context, creds: accounts.NewCredentials) -> str:
    secret = parse_qs(urlparse(creds.totp_uri).query)["secret"][0]
    return pyotp.TOTP(secret).at(ctx.clock.now)  # type: ignore[attr-defined]


def log_in(ctx: Context, browser: Browser, creds: accounts.NewCredentials, clock: Clock) -> None:
    form = browser.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', form.text).group(1)  # type: ignore[union-attr]
    answer = browser.post(
        "/login", {"login_id": creds.login_id, "password": creds.password, "code": code_for(ctx, creds), "csrf": token}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/password", answer.text
    cookie = next(h for k, h in answer.headers.multi_items() if k == "set-cookie" and h.startswith("shuyaku_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    changed = browser.post(
        "/password",
        {"current": creds.password, "new": NEW_PASSWORD, "again": NEW_PASSWORD, "csrf": browser.csrf("/password")},
    )
    assert changed.status_code == 303, changed.text
    clock.advance(seconds=31)  # the next TOTP step, for a later log-in


def test_log_in_with_password_and_code_then_change_the_first_password(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    assert browser.get("/").headers["location"] == "/login"
    creds = staff_member(ctx, "op1", "federation_operator")
    form = browser.get("/login")
    assert 'lang="ja"' in form.text and '<label for="code">確認コード</label>' in form.text
    wrong = browser.post("/login", {"login_id": "op1", "password": creds.password, "code": "000000", "csrf": "x"})
    assert wrong.status_code == 400 and "error-summary" in wrong.text and "画面の有効期限" in wrong.text
    log_in(ctx, browser, creds, clock)
    home = browser.get("/")
    assert home.status_code == 200 and "受信状況(県全体)" in home.text
    no_token = browser.post("/logout", {"csrf": "forged"})
    assert no_token.status_code == 400  # a form without the session's CSRF token does nothing
    out = browser.post("/logout", {"csrf": browser.csrf("/")})
    assert out.status_code == 303 and browser.get("/").headers["location"] == "/login"
    assert [e.outcome for e in rows(ctx, audit_event, audit_event.c.action == "login")] == ["ok"]


def test_a_session_left_idle_ends(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    assert browser.get("/").status_code == 200
    clock.advance(minutes=16)
    gone = browser.get("/")
    assert gone.status_code == 303 and gone.headers["location"] == "/login?message=idle"
    assert "一定時間操作がなかったため" in browser.get("/login?message=idle").text


def test_the_federation_sees_every_feed_and_the_overdue_municipalities(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))  # A sent today; B never
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    home = browser.get("/").text
    assert "日次ファイルが届いていない市町村(1)" in home and f"{MUNI_B} 仮想町</a>: " in home
    assert f'href="/municipalities/{MUNI_A}"' in home
    town = browser.get(f"/municipalities/{MUNI_A}")
    assert town.status_code == 200 and "反映" in town.text and "/files/1" in town.text
    assert "受付番号 1" in browser.get("/files/1").text


def test_the_dashboard_warns_while_an_initial_load_is_unfinished(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    """初期移行モード left unfinished (a killed load): the federation's dashboard says so
    until a plain ingest rebuilds the indexes, as `shuyaku status` does."""
    from shuyaku.ingest import initial
    from tests.conftest import OPERATOR

    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    assert "初期移行モード" not in browser.get("/").text
    assert initial.begin(ctx, OPERATOR, ctx.clock()) is True
    warned = browser.get("/").text
    assert "初期移行モードの取込が終わっていません" in warned and "shuyaku ingest --initial" in warned
    initial.finish(ctx, OPERATOR)
    assert "初期移行モード" not in browser.get("/").text


def test_the_dashboard_warns_while_persons_wait_for_the_continuity_judgement(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    """A run killed after its files and before its judgement leaves persons queued: the
    dashboard says how many until a run judges them, as `shuyaku status` does."""
    from shuyaku.ingest.inbound import ingest_bytes
    from shuyaku.ingest.judge import judge_households
    from tests.conftest import OPERATOR
    from tests.integration.test_continuity import arrive_b

    here = exchange_file("SKKS", [skks("1000000001", individual_number=number(11))])
    there = exchange_file("SKKS", [arrive_b("3000000001", 11)], muni=MUNI_B)
    for raw in (here, there):
        assert ingest_bytes(ctx, OPERATOR, raw, "f.csv").status == "applied"  # no run's end: not judged
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    assert "世帯の継続性の判定を待っている被保険者が 1 人います" in browser.get("/").text
    assert judge_households(ctx, OPERATOR).persons == 1
    assert "世帯の継続性の判定を待っている" not in browser.get("/").text


def test_a_municipal_clerk_sees_only_their_municipality(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    theirs = ingest(
        ctx, exchange_file("SKKS", [skks("3000000001", muni=MUNI_B, individual_number=number(2))], muni=MUNI_B)
    )
    log_in(ctx, browser, staff_member(ctx, "clerk-a", "municipal_clerk", [MUNI_A]), clock)
    assert browser.get("/").headers["location"] == f"/municipalities/{MUNI_A}"
    assert browser.get(f"/municipalities/{MUNI_B}").status_code == 404
    hidden = browser.get(f"/files/{theirs.file_id}")
    assert hidden.status_code == 404 and "見つかりません" in hidden.text
    assert any(e.action == "inbox.read" and e.outcome == "denied" for e in rows(ctx, audit_event))


def test_the_destination_supervisor_confirms_a_candidate_on_its_page(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_continuity import Prefecture, family_in_a, move_whole_family

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)  # A → B
    log_in(ctx, browser, staff_member(ctx, "sv-b", "municipal_supervisor", [MUNI_B]), clock)
    listed = browser.get("/candidates").text
    candidate_id = re.search(r'href="/candidates/(\d+)"', listed).group(1)  # type: ignore[union-attr]
    page = browser.get(f"/candidates/{candidate_id}")
    assert "判定する(転入先)" in page.text and "K1" in page.text
    rejected = browser.post(
        f"/candidates/{candidate_id}",
        {"decision": "reject", "note": "", "csrf": browser.csrf(f"/candidates/{candidate_id}")},
    )
    assert rejected.status_code == 400 and "理由" in rejected.text
    done = browser.post(
        f"/candidates/{candidate_id}",
        {"decision": "confirm", "note": "転入届で確認", "csrf": browser.csrf(f"/candidates/{candidate_id}")},
    )
    assert done.status_code == 303
    after = browser.get(done.headers["location"]).text
    assert "確定しました" in after and "sv-b" in after
    household = re.search(r'href="/households/(\d{13})/tasuukai"', after).group(1)  # type: ignore[union-attr]
    explained = browser.get(f"/households/{household}/tasuukai?month=202605")
    assert explained.status_code == 200 and "<svg" in explained.text and "数えた月・数えない月" in explained.text


def test_a_person_is_looked_up_by_post_and_the_number_never_shows(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(5))]))
    log_in(ctx, browser, staff_member(ctx, "clerk-a", "municipal_clerk", [MUNI_A]), clock)
    bad = browser.post("/persons", {"municipality_code": "12", "atena_no": "x", "csrf": browser.csrf("/persons")})
    assert bad.status_code == 400 and 'href="#municipality_code"' in bad.text
    found = browser.post(
        "/persons", {"municipality_code": MUNI_A, "atena_no": "1000000001", "csrf": browser.csrf("/persons")}
    )
    assert found.status_code == 200 and "県被保険者ID" in found.text and "資格の履歴" in found.text
    assert "1000000001" not in str(found.url)
    for response in browser.pages:
        assert number(5) not in response.text


def test_a_number_typed_into_the_wrong_box_never_comes_back(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    typed = browser.post("/login", {"login_id": number(7), "password": "x", "code": "1", "csrf": "x"})
    assert typed.status_code == 400 and number(7) not in typed.text
    log_in(ctx, browser, staff_member(ctx, "clerk-a", "municipal_clerk", [MUNI_A]), clock)
    wrong = browser.post(
        "/persons", {"municipality_code": "1", "atena_no": number(7), "csrf": browser.csrf("/persons")}
    )
    assert wrong.status_code == 400 and number(7) not in wrong.text
    missing = browser.post(
        "/persons", {"municipality_code": MUNI_A, "atena_no": number(7), "csrf": browser.csrf("/persons")}
    )
    assert missing.status_code == 404 and number(7) not in missing.text
    in_path = browser.get(f"/municipalities/{number(7)}")
    assert in_path.status_code == 404 and number(7) not in in_path.text
    as_month = browser.get(f"/households/1123456789012/tasuukai?month={number(7)}")
    assert as_month.status_code == 400 and number(7) not in as_month.text
    assert all(number(7) not in str(e) for e in rows(ctx, audit_event))


def test_a_person_who_moved_shows_both_municipalities_histories(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_continuity import HEAD, Prefecture, family_in_a, move_whole_family

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)  # A → B: the head is 3000000001 in B
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    found = browser.post(
        "/persons", {"municipality_code": MUNI_B, "atena_no": "3000000001", "csrf": browser.csrf("/persons")}
    )
    assert found.status_code == 200
    assert f"<h2>{MUNI_B} 宛名番号 3000000001</h2>" in found.text and f"<h2>{MUNI_A} 宛名番号 {HEAD}</h2>" in found.text
    browser.client.cookies.clear()
    log_in(ctx, browser, staff_member(ctx, "clerk-b", "municipal_clerk", [MUNI_B]), clock)
    theirs = browser.post(
        "/persons", {"municipality_code": MUNI_B, "atena_no": "3000000001", "csrf": browser.csrf("/persons")}
    )
    assert f"{MUNI_A} 宛名番号" not in theirs.text  # B's clerk sees B's history only


def test_the_auditor_searches_the_log_verifies_it_and_downloads_the_reports(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    log_in(ctx, browser, staff_member(ctx, "aud1", "auditor"), clock)
    assert browser.get("/").headers["location"] == "/audit"
    page = browser.get("/audit?action=login").text
    assert "正しく検証できました" in page and "login" in page
    pdf = browser.get("/audit/reports/permissions.pdf?start=2026-11-01&end=2026-11-30")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    csv = browser.get("/audit/reports/access-review.csv?start=2026-11-01&end=2026-11-30")
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    accounts_page = browser.get("/admin")  # an auditor reads the accounts but does not manage them
    assert accounts_page.status_code == 200 and "aud1" in accounts_page.text and "失効させる" not in accounts_page.text
    assert browser.get("/candidates").status_code == 403  # and sees no personal data


def test_the_register_screens_show_each_role_what_it_may_read(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import two_units_with_alike_registrations

    two_units_with_alike_registrations(ctx)
    creds = accounts.add_user(ctx, ADMIN, "kokuho1", "架空 花子", "国保課", "department_staff", org_unit="kokuho")
    log_in(ctx, browser, creds, clock)
    assert browser.get("/").headers["location"] == "/register"
    mine = browser.get("/register")
    assert mine.status_code == 200 and "K-001" in mine.text and "F-001" not in mine.text and "業務登録" in mine.text
    assert browser.get("/register/F-001").status_code == 404  # another unit's entry does not exist for them
    shown = browser.get("/register/K-001?as_of=2016-04-01")
    assert shown.status_code == 200 and "国民健康保険法" in shown.text and "氏名、住所、生年月日" in shown.text
    assert browser.get("/register?as_of=2016/04/01").status_code == 400
    assert browser.get("/register?as_of=2010-01-01").text.count("登録はありません") == 1
    assert browser.get("/candidates").status_code == 403  # and sees no insured person


def test_the_admin_revokes_a_token_from_the_screen(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(ctx, ADMIN, "sys-a", "国保システム", "架空市", "municipal_system", [MUNI_A])
    token_id, _ = accounts.create_token(ctx, ADMIN, "sys-a")
    log_in(ctx, browser, staff_member(ctx, "adm2", "admin"), clock)
    page = browser.get("/admin")
    assert "sys-a" in page.text and "失効させる" in page.text
    done = browser.post(f"/admin/tokens/{token_id}/revoke", {"reason": "端末の入替え", "csrf": browser.csrf("/admin")})
    assert done.status_code == 303 and accounts.list_tokens(ctx, ADMIN)[0].revoked_at is not None


def test_every_screen_has_no_script_no_inline_style_and_a_strict_policy(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    for url in ("/", f"/municipalities/{MUNI_A}", "/files/1", "/candidates", "/persons", "/login"):
        browser.get(url)
    html = [r for r in browser.pages if r.headers.get("content-type", "").startswith("text/html")]
    assert len(html) >= 6
    for response in html:
        assert "<script" not in response.text and 'style="' not in response.text, response.url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src" not in policy and "default-src 'none'" in policy and "'unsafe-inline'" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
    css = browser.get("/static/dads-tokens.css")
    assert css.status_code == 200 and "--color-primitive-blue-900" in css.text


def test_a_clerk_reviews_a_quarantined_record_on_the_screen(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    sent = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 30)]
    sent.append(skks("1000000099", individual_number=number(99), birth="20261399", name=f"試験 {number(99)}"))
    ingest(ctx, exchange_file("SKKS", sent))
    log_in(ctx, browser, staff_member(ctx, "clerk-a", "municipal_clerk", [MUNI_A]), clock)
    town = browser.get(f"/municipalities/{MUNI_A}").text
    assert f'href="/municipalities/{MUNI_A}/quarantine">未確認の隔離レコード' in town
    listing = browser.get(f"/municipalities/{MUNI_A}/quarantine")
    assert listing.status_code == 200 and "1000000099" in listing.text and "20261399" in listing.text
    result_id = re.search(r'action="/quarantine/(\d+)"', listing.text).group(1)  # type: ignore[union-attr]
    token = browser.csrf(f"/municipalities/{MUNI_A}/quarantine")
    empty = browser.post(
        f"/quarantine/{result_id}", {"outcome": "no_action", "note": "", "back": MUNI_A, "csrf": token}
    )
    assert empty.status_code == 400 and "error-summary" in empty.text and "理由" in empty.text
    done = browser.post(
        f"/quarantine/{result_id}",
        {"outcome": "resent", "note": f"連番 2 で再送 {number(99)}", "back": MUNI_A, "csrf": token},
    )
    assert done.status_code == 303 and done.headers["location"].endswith(f"?done={result_id}")
    again = browser.post(f"/quarantine/{result_id}", {"outcome": "resent", "back": MUNI_A, "csrf": token})
    assert again.status_code == 409 and "すでに確認済み" in again.text
    assert "未確認の隔離レコードはありません" in browser.get(f"/municipalities/{MUNI_A}/quarantine").text
    everything = browser.get(f"/municipalities/{MUNI_A}/quarantine?show=all").text
    assert "訂正して再送した — clerk-a" in everything and "連番 2 で再送" in everything
    assert browser.get(f"/municipalities/{MUNI_B}/quarantine").status_code == 403
    for response in browser.pages:
        assert number(99) not in response.text


def test_the_month_run_summary_with_each_municipalitys_list(ctx, browser, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.kogaku.service import run_month
    from tests.conftest import OPERATOR
    from tests.integration.test_kogaku_run import _setup

    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", ctx.settings.outbox_dir / "kogaku")
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    runs = browser.get("/kogaku").text
    assert 'href="/kogaku/202607">令和8年7月(2026-07)</a>' in runs and "38,070" in runs
    july = browser.get("/kogaku/202607").text
    assert "被保険者の記録がないレセプト" in july and f"{MUNI_A} 架空市" in july
    link = re.search(r'href="(/returns/\d+)">(\d{6}_KGSK_202607\.csv)', july)
    assert link is not None
    listing = browser.get(link.group(1))
    assert listing.status_code == 200 and "38070" in listing.content.decode("utf-8-sig")
    assert browser.get("/kogaku/202608").status_code == 404
    assert browser.get("/kogaku/2026-7").status_code == 400
    assert browser.get("/kogaku/202613").status_code == 400


def test_a_municipality_sees_only_its_own_row_of_the_run(ctx, browser, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.kogaku.service import run_month
    from tests.conftest import OPERATOR
    from tests.integration.test_kogaku_run import _setup

    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", ctx.settings.outbox_dir / "kogaku")
    log_in(ctx, browser, staff_member(ctx, "clerk-b", "municipal_clerk", [MUNI_B]), clock)
    july = browser.get("/kogaku/202607").text
    assert "KGSK" not in july and "38,070" not in july and "被保険者の記録がないレセプト" not in july
    assert "この月に計算の対象になった世帯はありません" in july


def test_a_municipalitys_files_come_a_page_at_a_time(ctx, browser, clock) -> None:  # type: ignore[no-untyped-def]
    for seq in range(1, 33):
        ingest(ctx, exchange_file("SKKS", [], seq=seq))
    log_in(ctx, browser, staff_member(ctx, "op1", "federation_operator"), clock)
    first = browser.get(f"/municipalities/{MUNI_A}").text
    assert 'href="/files/32"' in first and 'href="/files/3"' in first and 'href="/files/2"' not in first
    more = re.search(r'href="(/municipalities/\d+\?before=\d+)">さらに古いファイルを表示する', first)
    assert more is not None and more.group(1).endswith("before=3")
    second = browser.get(more.group(1)).text
    assert 'href="/files/2"' in second and 'href="/files/1"' in second and 'href="/files/3"' not in second
    assert "さらに古いファイルを表示する" not in second

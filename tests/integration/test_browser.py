"""End to end in a real headless Chromium (Debian's `chromium`, driven by Playwright; no
browser download): log in with TOTP, send a file with a bad record and review it (a
quarantined record marked as corrected), confirm a
candidate as the destination's supervisor, open the household's lineage and 多数回
explanation, make and download a TSKG — and an axe-core check of every screen visited (no
WCAG 2.1 A/AA violation). Screenshots go to var/screenshots/ (ignored by git).

`make test` on a machine without Chromium skips only these, saying why; CI installs the
browser and sets SHUYAKU_REQUIRE_BROWSER=1, so there a missing browser fails."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.web.app import create_app
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.conftest import Clock

ADMIN = Actor("adm", "admin")
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "Kaso-Shi#2026-dec"


def _chromium() -> str:
    found = os.environ.get("SHUYAKU_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium is not installed here (Debian: apt-get install chromium); the browser tests need it"
    if os.environ.get("SHUYAKU_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(ctx)
    app.state.limiter.rate = app.state.limiter.burst = 1e9
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(100):
        if running.started:
            break
        time.sleep(0.05)
    yield f"http://localhost:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    executable = _chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = browser.new_context(base_url=server, locale="ja-JP", accept_downloads=True)
        tab = context.new_page()
        yield tab
        context.close()
        browser.close()


class Visit:
    """Every screen opened is checked with axe-core and photographed."""

    def __init__(self, page: Any, name: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page, self.axe, self.name, self.count = page, Axe(), name, 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    def check(self, label: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{self.count:02d}-{label}.png"), full_page=True)
        found = self.axe.run(
            self.page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
        )
        assert found.violations_count == 0, f"{label}: {found.generate_report()}"


def _log_in(page: Any, visit: Visit, ctx: Context, clock: Clock, creds: accounts.NewCredentials) -> None:
    secret = parse_qs(urlparse(creds.totp_uri).query)["secret"][0]
    page.goto("/login")
    visit.check("login")
    page.get_by_label("ログインID").fill(creds.login_id)
    page.get_by_label("パスワード").fill(creds.password)
    page.get_by_label("確認コード").fill(pyotp.TOTP(secret).at(ctx.clock.now))  # type: ignore[attr-defined]
    page.get_by_role("button", name="ログインする").click()
    page.wait_for_url("**/password")
    visit.check("password")
    page.get_by_label("今のパスワード").fill(creds.password)
    page.get_by_label("新しいパスワード", exact=True).fill(PASSWORD)
    page.get_by_label("新しいパスワード(確認)").fill(PASSWORD)
    page.get_by_role("button", name="変更する").click()
    clock.advance(seconds=31)


def test_an_operator_sends_a_file_and_reviews_its_bad_record(ctx, page, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    visit = Visit(page, "operator")
    _log_in(
        page, visit, ctx, clock, accounts.add_user(ctx, ADMIN, "op1", "運用 一郎", "国保連合会", "federation_operator")
    )
    page.wait_for_url(re.compile(r"/(\?changed=1)?$"))
    visit.check("federation")
    page.get_by_role("link", name=re.compile(f"{MUNI_A}")).first.click()
    visit.check("municipality")
    records = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 30)]
    records.append(skks("1000000099", individual_number=number(99), birth="20261399"))
    sent = tmp_path / "SKKS_A_1.csv"
    sent.write_bytes(exchange_file("SKKS", records))
    page.get_by_label("交換ファイル(SKKS・SKSE・KGGT・RECE・SKBN)").set_input_files(str(sent))
    page.get_by_role("button", name="送る", exact=True).click()
    page.wait_for_url("**/files/*")
    visit.check("file")
    assert "エラー(反映せず)" in page.content() and "行" in page.content()
    assert number(99) not in page.content()
    # The bad record is reviewed from the municipality's page: its copy, then what was done.
    page.get_by_role("link", name=MUNI_A).click()
    page.get_by_role("link", name="未確認の隔離レコード").click()
    visit.check("quarantine")
    page.get_by_text("受け取ったレコードの内容").click()
    assert "20261399" in page.content() and number(99) not in page.content()
    page.get_by_label("訂正して再送した").check()
    page.get_by_label("メモ(200字まで)").fill("生年月日を訂正し、連番 2 で再送")
    page.get_by_role("button", name="確認済みにする").click()
    page.wait_for_url("**/quarantine?done=*")
    visit.check("reviewed")
    assert "未確認の隔離レコードはありません" in page.content()


def test_the_destination_supervisor_confirms_and_downloads_the_count(ctx, page, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_continuity import Prefecture, family_in_a, move_whole_family

    pref = Prefecture(ctx)
    family_in_a(pref)
    move_whole_family(pref)  # A → B
    visit = Visit(page, "supervisor")
    creds = accounts.add_user(ctx, ADMIN, "sv-b", "確認 花子", "仮想町", "municipal_supervisor", [MUNI_B])
    _log_in(page, visit, ctx, clock, creds)
    page.wait_for_url(f"**/municipalities/{MUNI_B}*")
    visit.check("municipality")
    page.get_by_role("link", name=re.compile(r"候補 \d+")).first.click()
    visit.check("candidate")
    page.get_by_label("確認内容・却下の理由").fill("転入届で確認")
    page.get_by_role("button", name="判定を登録する").click()
    page.wait_for_url("**done=confirm")
    visit.check("confirmed")
    page.get_by_role("link", name=re.compile(r"^\d{13}$")).last.click()
    page.wait_for_url("**/tasuukai")
    visit.check("tasuukai")
    assert page.locator("svg.lineage").count() == 1
    page.goto(f"/municipalities/{MUNI_B}")
    page.get_by_label("作成する種別").select_option("TSKG")
    page.get_by_role("button", name="未送付の分を作成する").click()
    page.wait_for_url(f"**/municipalities/{MUNI_B}*")
    visit.check("returns")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"TSKG.*\.csv")).first.click()
    path = download.value.path()
    assert b"TSKG" in Path(path).read_bytes()


def test_the_auditor_screen_passes_the_accessibility_check(ctx, page, clock) -> None:  # type: ignore[no-untyped-def]
    ingest_one = exchange_file("SKKS", [skks("1000000001", individual_number=number(1))])
    from tests.integration.helpers import ingest

    ingest(ctx, ingest_one)
    visit = Visit(page, "auditor")
    _log_in(page, visit, ctx, clock, accounts.add_user(ctx, ADMIN, "aud1", "監査 三郎", "監査室", "auditor"))
    page.wait_for_url("**/audit")
    visit.check("audit")
    assert "正しく検証できました" in page.content()
    from tests.builders import two_units_with_alike_registrations

    two_units_with_alike_registrations(ctx)
    page.get_by_role("link", name="業務登録").click()
    page.wait_for_url("**/register")
    visit.check("register")
    assert "似ている" in page.content()
    page.get_by_role("link", name="K-001").click()
    page.wait_for_url("**/register/K-001")
    visit.check("register-entry")


def test_the_screens_reflow_at_200_percent_zoom(ctx, page, clock) -> None:  # type: ignore[no-untyped-def]
    """1280 CSS pixels at 200% zoom leave 640: no page may then need sideways scrolling
    (a wide table scrolls inside its own box, WCAG 1.4.10)."""
    from tests.integration.helpers import ingest

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    page.set_viewport_size({"width": 640, "height": 800})
    visit = Visit(page, "zoom200")
    _log_in(
        page, visit, ctx, clock, accounts.add_user(ctx, ADMIN, "op1", "運用 一郎", "国保連合会", "federation_operator")
    )
    for url in (
        "/",
        f"/municipalities/{MUNI_A}",
        f"/municipalities/{MUNI_A}/quarantine",
        "/files/1",
        "/candidates",
        "/persons",
        "/kogaku",
    ):
        page.goto(url)
        visit.check(url.strip("/").replace("/", "-") or "home")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} needs {overflow}px of sideways scrolling at 200%"

"""Staff accounts: Argon2id, TOTP, lockout, expiry, suspension, and the record of every change."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select

from shuyaku import accounts
from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.db.schema import app_user, audit_event, permission_change
from shuyaku.timeutil import JST
from tests.builders import MUNI_A, MUNI_B
from tests.integration.helpers import rows

SETUP = Actor("setup:root", "system")
ADMIN = Actor("admin-1", "admin")


def _secret(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


def _code(ctx, secret: str) -> str:  # type: ignore[no-untyped-def]
    return pyotp.TOTP(secret).at(ctx.clock.now)


def test_first_login_needs_password_and_totp_then_a_new_password(ctx) -> None:  # type: ignore[no-untyped-def]
    creds = accounts.add_user(
        ctx, SETUP, "tanaka", "田中 花子", "架空市 国保年金課", "municipal_clerk", [MUNI_A], approved_by="admin-1"
    )
    [user] = rows(ctx, app_user)
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # OWASP parameters
    assert creds.password not in user.password_hash and _secret(creds.totp_uri).encode() not in user.totp_sealed
    session = accounts.login(ctx, "tanaka", creds.password, _code(ctx, _secret(creds.totp_uri)))
    assert session.must_change_password and session.actor == Actor("tanaka", "municipal_clerk", frozenset({MUNI_A}))
    assert accounts.session_actor(ctx, session.token) == session.actor
    with pytest.raises(accounts.AccountError, match="12文字以上"):
        accounts.change_password(ctx, "tanaka", creds.password, "short1A!")
    with pytest.raises(accounts.AccountError, match="ログインID"):
        accounts.change_password(ctx, "tanaka", creds.password, "Tanaka-2026-xyz")
    accounts.change_password(ctx, "tanaka", creds.password, "Kaso-Shi#2026-nov")
    with pytest.raises(accounts.LoginFailed):  # the same code again, in the same 30 seconds: used once (RFC 6238 §5.2)
        accounts.login(ctx, "tanaka", "Kaso-Shi#2026-nov", _code(ctx, _secret(creds.totp_uri)))
    ctx.clock.advance(seconds=30)
    again = accounts.login(ctx, "tanaka", "Kaso-Shi#2026-nov", _code(ctx, _secret(creds.totp_uri)))
    assert not again.must_change_password


def test_a_wrong_code_or_password_counts_and_five_lock_the_account_for_30_minutes(ctx) -> None:  # type: ignore[no-untyped-def]
    creds = accounts.add_user(ctx, SETUP, "sato", "佐藤 一郎", "連合会 電算課", "federation_operator")
    secret = _secret(creds.totp_uri)
    with pytest.raises(accounts.LoginFailed):
        accounts.login(ctx, "sato", creds.password, "000000" if _code(ctx, secret) != "000000" else "111111")
    for _ in range(4):
        with pytest.raises(accounts.LoginFailed):
            accounts.login(ctx, "sato", "wrong-password", _code(ctx, secret))
    with pytest.raises(accounts.LoginFailed) as guessing:  # locked: a wrong password learns nothing more
        accounts.login(ctx, "sato", "wrong-again", _code(ctx, secret))
    assert str(guessing.value) == accounts.FAILED
    ctx.clock.advance(seconds=30)
    with pytest.raises(accounts.LoginFailed) as locked:  # the right password and code: told until when
        accounts.login(ctx, "sato", creds.password, _code(ctx, secret))
    until = (ctx.clock() - timedelta(seconds=30) + accounts.LOCK_FOR).astimezone(JST)
    assert "ロックされています" in str(locked.value) and f"{until:%Y-%m-%d %H:%M}+09:00 に解除" in str(locked.value)
    ctx.clock.advance(minutes=31)
    assert accounts.login(ctx, "sato", creds.password, _code(ctx, secret)).actor.role == "federation_operator"
    failures = [e for e in rows(ctx, audit_event) if e.action == "login" and e.outcome == "failed"]
    assert len(failures) == 7 and any("ロック" in e.detail for e in failures)
    assert creds.password not in " ".join(str(e) for e in rows(ctx, audit_event))


def test_unknown_suspended_and_expired_accounts_cannot_log_in_and_suspension_ends_sessions(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(accounts.LoginFailed):
        accounts.login(ctx, "nobody", "x", "123456")
    creds = accounts.add_user(ctx, SETUP, "suzuki", "鈴木 次郎", "仮想町 住民課", "municipal_supervisor", [MUNI_B])
    session = accounts.login(ctx, "suzuki", creds.password, _code(ctx, _secret(creds.totp_uri)))
    accounts.suspend(ctx, ADMIN, "suzuki", reason="人事異動(4月1日付)", approved_by="kacho")
    with pytest.raises(accounts.LoginFailed):
        accounts.session_actor(ctx, session.token)
    with pytest.raises(accounts.LoginFailed):
        accounts.login(ctx, "suzuki", creds.password, _code(ctx, _secret(creds.totp_uri)))
    temp = accounts.add_user(
        ctx, SETUP, "rinji", "臨時 職員", "架空市", "municipal_clerk", [MUNI_A], valid_until=date(2026, 11, 26)
    )
    with pytest.raises(accounts.LoginFailed):  # the clock is on 2026-11-27
        accounts.login(ctx, "rinji", temp.password, _code(ctx, _secret(temp.totp_uri)))
    assert {a.login_id: a.status for a in accounts.list_users(ctx, ADMIN)} == {
        "suzuki": "suspended",
        "rinji": "expired",
    }


def test_every_change_is_recorded_with_who_and_who_approved(ctx) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(
        ctx, SETUP, "yamada", "山田 三郎", "架空市 国保年金課", "municipal_clerk", [MUNI_A], approved_by="kacho"
    )
    assert (
        accounts.set_role(ctx, ADMIN, "yamada", "municipal_clerk", [MUNI_A, MUNI_B], approved_by="kacho") == "権限追加"
    )
    assert accounts.set_role(ctx, ADMIN, "yamada", "municipal_clerk", [MUNI_B]) == "権限削除"
    assert accounts.set_role(ctx, ADMIN, "yamada", "municipal_supervisor", [MUNI_B], reason="係長昇任") == "役割変更"
    accounts.reset_password(ctx, ADMIN, "yamada", new_totp=True)
    accounts.suspend(ctx, ADMIN, "yamada", reason="退職")
    changes = [
        (c.kind, c.role_before, c.role_after, c.scope_before, c.scope_after, c.changed_by, c.approved_by)
        for c in rows(ctx, permission_change)
    ]
    assert changes == [
        ("新規登録", None, "municipal_clerk", None, MUNI_A, "setup:root", "kacho"),
        (
            "権限追加",
            "municipal_clerk",
            "municipal_clerk",
            MUNI_A,
            ",".join(sorted([MUNI_A, MUNI_B])),
            "admin-1",
            "kacho",
        ),
        ("権限削除", "municipal_clerk", "municipal_clerk", ",".join(sorted([MUNI_A, MUNI_B])), MUNI_B, "admin-1", None),
        ("役割変更", "municipal_clerk", "municipal_supervisor", MUNI_B, MUNI_B, "admin-1", None),
        ("パスワード初期化", "municipal_supervisor", "municipal_supervisor", MUNI_B, MUNI_B, "admin-1", None),
        ("利用停止", "municipal_supervisor", "municipal_supervisor", MUNI_B, MUNI_B, "admin-1", None),
    ]
    assert [e.action for e in rows(ctx, audit_event) if e.action.startswith("user.")][:2] == [
        "user.新規登録",
        "user.権限追加",
    ]


def test_no_shared_or_malformed_accounts_and_scopes_that_fit_the_role(ctx) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(ctx, SETUP, "kimura", "木村 四郎", "連合会", "auditor")
    with pytest.raises(accounts.AccountError, match="登録済み"):
        accounts.add_user(ctx, SETUP, "kimura", "木村 五郎", "連合会", "auditor")
    with pytest.raises(accounts.AccountError, match="英小文字"):
        accounts.add_user(ctx, SETUP, "Kyotsu User", "共用", "連合会", "auditor")
    with pytest.raises(accounts.AccountError, match="担当の市町村"):
        accounts.add_user(ctx, SETUP, "ito", "伊藤", "架空市", "municipal_clerk")
    with pytest.raises(accounts.AccountError, match="県全体の役割"):
        accounts.add_user(ctx, SETUP, "ito", "伊藤", "架空市", "auditor", [MUNI_A])
    with pytest.raises(accounts.AccountError, match="登録されていません"):
        accounts.add_user(ctx, SETUP, "ito", "伊藤", "架空市", "municipal_clerk", ["999999"])
    with pytest.raises(AccessDenied):  # only an administrator manages accounts
        accounts.add_user(ctx, Actor("op", "federation_operator"), "ito", "伊藤", "架空市", "municipal_clerk", [MUNI_A])
    with ctx.engine.connect() as conn:
        assert conn.execute(select(app_user.c.login_id)).scalars().all() == ["kimura"]

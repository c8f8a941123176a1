"""Staff accounts: one per person, Argon2id password, TOTP second factor, lockout, expiry,
suspension, and every change kept for the 利用者権限変更一覧.

- Passwords: Argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1); at least 12
  characters of at least three kinds (upper case, lower case, digits, others), not
  containing the login ID. A new or reset password is generated and must be changed at the
  first login.
- Second factor: every account has a TOTP secret (RFC 6238, 30 s, 6 digits), sealed with the
  ``secret`` key and the login ID as associated data. Every role that sees personal data
  needs it, and so does everybody else here.
- Lockout: 5 failed logins (password or code) lock the account for 30 minutes.
- Expiry and suspension: an account past ``valid_until`` or suspended (異動, 退職) cannot log
  in, and its sessions end.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, func, insert, select, update

from shuyaku import ids
from shuyaku.access import policy
from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import Access, guarded
from shuyaku.context import Context
from shuyaku.db.locks import write_lock
from shuyaku.db.schema import api_token, app_user, municipality, permission_change, user_session
from shuyaku.errors import InvalidRequest, Unauthenticated
from shuyaku.text import typed_text, without_controls
from shuyaku.timeutil import jst_date, shown
from shuyaku.vault import rules as crypto

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)  # OWASP: Argon2id m=19 MiB, t=2, p=1
MIN_LENGTH = 12
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=30)
SESSION_FOR = timedelta(hours=8)
LOGIN_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
NUMBER_LIKE = re.compile(r"[0-9]{10}")  # a log-in ID never looks like an individual number (12) or a phone number
ISSUER = "shuyaku"


class AccountError(InvalidRequest, ValueError):
    """A request about an account that cannot be done (the message says why)."""


class LoginFailed(Unauthenticated, PermissionError):
    """Login refused. The message never tells which of ID, password or code was wrong."""


@dataclass(frozen=True)
class NewCredentials:
    login_id: str
    password: str  # shown once, to be changed at the first login
    totp_uri: str  # for the authenticator app (otpauth://…)


@dataclass(frozen=True)
class Account:
    login_id: str
    name: str
    organisation: str
    role: str
    municipalities: tuple[str, ...]
    status: str
    valid_until: date | None
    locked: bool
    last_login_at: datetime | None


@dataclass(frozen=True)
class Session:
    token: str
    actor: Actor
    must_change_password: bool


def password_problems(login_id: str, password: str) -> list[str]:
    kinds = sum(
        any(test(c) for c in password) for test in (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum())
    )
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"{MIN_LENGTH}文字以上にしてください")
    if kinds < 3:
        problems.append("英大文字・英小文字・数字・記号のうち3種類以上を使ってください")
    if login_id and login_id.lower() in password.lower():
        problems.append("ログインIDを含めないでください")
    return problems


def _generated_password() -> str:
    alphabet = string.ascii_letters + string.digits + "-_.!#%+"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if not password_problems("", candidate) and any(not c.isalnum() for c in candidate):
            return candidate


def _scope_text(municipalities: tuple[str, ...] | list[str]) -> str:
    return ",".join(sorted(municipalities))


def _scope_label(text_: str | None) -> str:
    return text_ or "県全体"


def _check_scope(conn: Connection, role: str, municipalities: list[str]) -> None:
    if role not in policy.ROLES:
        raise AccountError(f"役割 {role} はありません(使える役割: {', '.join(policy.ROLES)})")
    if role in policy.MUNICIPAL_ROLES and not municipalities:
        raise AccountError(f"役割 {role} には担当の市町村(--municipality)が必要です")
    if role not in policy.MUNICIPAL_ROLES and municipalities:
        raise AccountError(f"役割 {role} は県全体の役割です(市町村は指定しません)")
    known = set(conn.execute(select(municipality.c.municipality_code)).scalars())
    unknown = sorted(set(municipalities) - known)
    if unknown:
        raise AccountError(f"市町村コード {', '.join(unknown)} は登録されていません")


def _check_unit(conn: Connection, role: str, unit: str | None) -> None:
    from shuyaku.db.schema import org_unit

    if role == policy.DEPARTMENT and not unit:
        raise AccountError(f"役割 {role} には所属の課(--org-unit)が必要です")
    if role != policy.DEPARTMENT and unit:
        raise AccountError(f"所属の課(--org-unit)は役割 {policy.DEPARTMENT} だけに指定します")
    if unit and conn.execute(select(org_unit.c.unit_code).where(org_unit.c.unit_code == unit)).first() is None:
        raise AccountError(f"課コード {unit} は登録されていません(shuyaku register unit add)")


def _log_change(
    conn: Connection,
    access: Access,
    now: datetime,
    kind: str,
    user: dict[str, object],
    *,
    role_before: str | None,
    scope_before: str | None,
    approved_by: str | None,
    reason: str | None,
) -> None:
    approved_by = typed_text(approved_by)[:32] if approved_by else approved_by
    reason = typed_text(reason) if reason else reason
    conn.execute(
        insert(permission_change).values(
            at=now,
            kind=kind,
            login_id=user["login_id"],
            name=user["name"],
            organisation=user["organisation"],
            role_before=role_before,
            role_after=user["role"],
            scope_before=scope_before,
            scope_after=user["municipalities"],
            changed_by=access.actor.login_id,
            approved_by=approved_by,
            reason=reason,
        )
    )
    access.log(
        conn,
        action="user." + kind,
        target=str(user["login_id"]),
        rows=1,
        detail=f"{role_before or '-'}→{user['role']} {_scope_label(scope_before)}→"
        f"{_scope_label(str(user['municipalities']))}",
    )


def _new_secret(ctx: Context, login_id: str) -> tuple[bytes, int, str]:
    secret = pyotp.random_base32()
    version = ctx.keyring.current["secret"]
    sealed = crypto.seal(ctx.keyring.key("secret", version), secret.encode("ascii"), login_id.encode("ascii"))
    return sealed, version, pyotp.TOTP(secret).provisioning_uri(name=login_id, issuer_name=ISSUER)


def add_user(
    ctx: Context,
    actor: Actor,
    login_id: str,
    name: str,
    organisation: str,
    role: str,
    municipalities: list[str] | None = None,
    *,
    valid_until: date | None = None,
    approved_by: str | None = None,
    reason: str | None = None,
    org_unit: str | None = None,
) -> NewCredentials:
    """Register a staff member. Returns the first password and the TOTP URI, shown once.
    A department's staff (``department_staff``) name their organisation unit."""
    access = guarded(ctx, actor, "user.manage", target=login_id)
    if not LOGIN_ID.match(login_id):
        raise AccountError("ログインIDは英小文字・数字・. _ - の3〜32文字で、英数字で始めてください")
    if NUMBER_LIKE.search(login_id):
        raise AccountError("ログインIDに10桁以上の数字の並びは使えません(個人番号や電話番号と見分けられないため)")
    if not name.strip() or not organisation.strip():
        raise AccountError("氏名と所属は必須です(共用アカウントは作れません)")
    scope = sorted(set(municipalities or []))
    password = _generated_password()
    sealed, version, uri = _new_secret(ctx, login_id)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        _check_scope(conn, role, scope)
        _check_unit(conn, role, org_unit)
        if conn.execute(select(app_user.c.login_id).where(app_user.c.login_id == login_id)).first():
            raise AccountError(f"ログインID {login_id} は登録済みです(別の職員には別のIDを作成してください)")
        user: dict[str, object] = {
            "login_id": login_id,
            "name": typed_text(name),
            "organisation": typed_text(organisation),
            "role": role,
            "municipalities": _scope_text(scope),
            "org_unit": org_unit,
        }
        conn.execute(
            insert(app_user).values(
                **user,
                password_hash=HASHER.hash(password),
                password_changed_at=now,
                must_change_password=True,
                totp_sealed=sealed,
                totp_key_version=version,
                status="active",
                valid_until=valid_until,
                failed_logins=0,
                created_at=now,
                created_by=actor.login_id,
            )
        )
        _log_change(
            conn,
            access,
            now,
            "新規登録",
            user,
            role_before=None,
            scope_before=None,
            approved_by=approved_by,
            reason=reason,
        )
    return NewCredentials(login_id, password, uri)


def _user(conn: Connection, login_id: str) -> dict[str, object]:
    row = conn.execute(select(app_user).where(app_user.c.login_id == login_id)).mappings().first()
    if row is None:
        raise AccountError(f"ログインID {login_id} はありません")
    return dict(row)


def list_users(ctx: Context, actor: Actor) -> list[Account]:
    now = ctx.clock()
    with guarded(ctx, actor, "user.read") as access, ctx.engine.connect() as conn:
        rows = conn.execute(select(app_user).order_by(app_user.c.login_id)).all()
        access.done(action="user.list", rows=len(rows))
    return [
        Account(
            r.login_id,
            r.name,
            r.organisation,
            r.role,
            tuple(filter(None, r.municipalities.split(","))),
            _status(r.status, r.valid_until, now),
            r.valid_until,
            bool(r.locked_until and _aware(r.locked_until) > now),
            r.last_login_at,
        )
        for r in rows
    ]


def _status(status: str, valid_until: date | None, now: datetime) -> str:
    return "expired" if status == "active" and valid_until is not None and valid_until < jst_date(now) else status


def set_role(
    ctx: Context,
    actor: Actor,
    login_id: str,
    role: str,
    municipalities: list[str] | None = None,
    *,
    approved_by: str | None = None,
    reason: str | None = None,
) -> str:
    """Change role and scope; the kind recorded is 役割変更, 権限追加 or 権限削除."""
    access = guarded(ctx, actor, "user.manage", target=login_id)
    scope = sorted(set(municipalities or []))
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        user = _user(conn, login_id)
        _check_scope(conn, role, scope)
        before_role, before_scope = str(user["role"]), str(user["municipalities"])
        after_scope = _scope_text(scope)
        if role == before_role and after_scope == before_scope:
            raise AccountError("役割も担当市町村も変わりません")
        kind = (
            "役割変更"
            if role != before_role
            else ("権限追加" if set(scope) > set(filter(None, before_scope.split(","))) else "権限削除")
        )
        conn.execute(
            update(app_user).where(app_user.c.login_id == login_id).values(role=role, municipalities=after_scope)
        )
        _end_sessions(conn, login_id, now)
        user.update(role=role, municipalities=after_scope)
        _log_change(
            conn,
            access,
            now,
            kind,
            user,
            role_before=before_role,
            scope_before=before_scope,
            approved_by=approved_by,
            reason=reason,
        )
    return kind


def suspend(ctx: Context, actor: Actor, login_id: str, *, reason: str, approved_by: str | None = None) -> None:
    """利用停止 (異動, 退職, 長期不在): no login, sessions end; the account and its history stay."""
    access = guarded(ctx, actor, "user.manage", target=login_id)
    if not reason.strip():
        raise AccountError("停止の理由(--reason)を入力してください")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        user = _user(conn, login_id)
        if user["status"] == "suspended":
            raise AccountError(f"{login_id} は停止済みです")
        conn.execute(update(app_user).where(app_user.c.login_id == login_id).values(status="suspended"))
        _end_sessions(conn, login_id, now)
        _log_change(
            conn,
            access,
            now,
            "利用停止",
            user,
            role_before=str(user["role"]),
            scope_before=str(user["municipalities"]),
            approved_by=approved_by,
            reason=reason,
        )


def reset_password(
    ctx: Context,
    actor: Actor,
    login_id: str,
    *,
    new_totp: bool = False,
    approved_by: str | None = None,
    reason: str | None = None,
) -> NewCredentials:
    """A new first password (and, if asked, a new TOTP secret); unlocks the account."""
    access = guarded(ctx, actor, "user.manage", target=login_id)
    password = _generated_password()
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        user = _user(conn, login_id)
        values: dict[str, object] = {
            "password_hash": HASHER.hash(password),
            "password_changed_at": now,
            "must_change_password": True,
            "failed_logins": 0,
            "locked_until": None,
        }
        uri = ""
        if new_totp:
            values["totp_sealed"], values["totp_key_version"], uri = _new_secret(ctx, login_id)
        conn.execute(update(app_user).where(app_user.c.login_id == login_id).values(**values))
        _end_sessions(conn, login_id, now)
        _log_change(
            conn,
            access,
            now,
            "パスワード初期化",
            user,
            role_before=str(user["role"]),
            scope_before=str(user["municipalities"]),
            approved_by=approved_by,
            reason=reason,
        )
    return NewCredentials(login_id, password, uri)


def _end_sessions(conn: Connection, login_id: str, now: datetime) -> None:
    conn.execute(
        update(user_session)
        .where(user_session.c.login_id == login_id, user_session.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def _actor_of(user: dict[str, object]) -> Actor:
    scope = tuple(filter(None, str(user["municipalities"]).split(",")))
    return Actor(
        str(user["login_id"]),
        str(user["role"]),
        frozenset(scope) if user["role"] in policy.MUNICIPAL_ROLES else None,
        str(user["org_unit"]) if user.get("org_unit") else None,
    )


FAILED = "ログインできません(ID・パスワード・確認コードを確かめてください。続けて誤るとロックされます)"
# Verified when the log-in ID is unknown, suspended, expired or locked, so that every
# refusal costs one Argon2id verification, like a wrong password does (no enumeration by time).
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


def _typed(login_id: str) -> str:
    """What somebody typed as a log-in ID, as it may be logged: no number, no control
    character, at most 64 characters (the CSV of the review neutralises formulas)."""
    return without_controls(ids.redact(login_id))[:64]


def login(ctx: Context, login_id: str, password: str, code: str) -> Session:
    """Password and TOTP code → a session. A failure counts toward the lockout atomically
    (the account's lock is held from the first read to the last write, so parallel wrong
    attempts cannot each see the old count), and a TOTP time step is accepted once."""
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        write_lock(conn, f"login:{login_id[:64]}")
        row = conn.execute(select(app_user).where(app_user.c.login_id == login_id)).mappings().first()
        user = dict(row) if row else None
        reason = None
        if user is None:
            reason = "未登録のID"
        elif user["status"] != "active":
            reason = "利用停止中"
        elif user["valid_until"] is not None and user["valid_until"] < jst_date(now):
            reason = "有効期限切れ"
        elif user["locked_until"] is not None and _aware(user["locked_until"]) > now:
            reason = "ロック中"
        elif user["role"] in policy.TOKEN_ROLES:
            reason = "システム用アカウント(APIトークンのみ)"
        locked_until = None
        if reason == "ロック中" and user is not None:
            # Only somebody who knows the password and the code learns that the ID is locked
            # and until when; to anybody else a lock looks like any other refusal.
            if _password_ok(str(user["password_hash"]), password) and _use_code(ctx, conn, user, code, now):
                locked_until = _aware(user["locked_until"])
        elif reason is not None or user is None:
            _password_ok(_DUMMY_HASH, password)
        elif not (_password_ok(str(user["password_hash"]), password) and _use_code(ctx, conn, user, code, now)):
            reason = _count_failure(conn, login_id, now)
        if reason is not None or user is None:
            actor = Actor(login_id if user is not None else "不明", "-")
            trail.append(
                conn, actor, [trail.Event("login", target=_typed(login_id), outcome="failed", detail=reason or "")], now
            )
    if locked_until is not None:
        raise LoginFailed(
            f"このIDは続けて誤ったためロックされています。{shown(locked_until)} に解除されます"
            "(急ぐときは管理者が user reset-password で解除できます)"
        )
    if reason is not None or user is None:
        raise LoginFailed(FAILED)
    token = secrets.token_urlsafe(32)
    actor = _actor_of(user)
    with ctx.engine.begin() as conn:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if HASHER.check_needs_rehash(str(user["password_hash"])):
            values["password_hash"] = HASHER.hash(password)
        conn.execute(update(app_user).where(app_user.c.login_id == login_id).values(**values))
        conn.execute(
            insert(user_session).values(
                token_hash=_token_hash(token), login_id=login_id, created_at=now, expires_at=now + SESSION_FOR
            )
        )
        trail.append(conn, actor, [trail.Event("login", target=login_id, detail="password+totp")], now)
    return Session(token, actor, bool(user["must_change_password"]))


def _count_failure(conn: Connection, login_id: str, now: datetime) -> str:
    u = app_user.c
    conn.execute(update(app_user).where(u.login_id == login_id).values(failed_logins=u.failed_logins + 1))
    failed = int(conn.execute(select(u.failed_logins).where(u.login_id == login_id)).scalar_one())
    if failed >= LOCK_AFTER:
        conn.execute(
            update(app_user).where(u.login_id == login_id).values(failed_logins=0, locked_until=now + LOCK_FOR)
        )
        return f"パスワードまたは確認コードの誤り({LOCK_AFTER}回目、{LOCK_FOR.seconds // 60}分ロック)"
    return f"パスワードまたは確認コードの誤り({failed}回目)"


def _password_ok(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _use_code(ctx: Context, conn: Connection, user: dict[str, object], code: str, now: datetime) -> bool:
    """The code is right for the step before, the current or the next 30-second step, and
    that step is later than the last one accepted (a code is used once: RFC 6238 §5.2)."""
    sealed, version = user["totp_sealed"], user["totp_key_version"]
    if sealed is None or version is None or not (code.isascii() and code.isdigit() and len(code) == 6):
        return False
    secret = crypto.unseal(
        ctx.keyring.key("secret", int(str(version))), bytes(cast(bytes, sealed)), str(user["login_id"]).encode("ascii")
    )
    totp = pyotp.TOTP(secret.decode("ascii"))
    current = totp.timecode(now)
    step = next(
        (current + offset for offset in (0, -1, 1) if hmac.compare_digest(totp.generate_otp(current + offset), code)),
        None,
    )
    if step is None:
        return False
    u = app_user.c
    used = conn.execute(
        update(app_user)
        .where(u.login_id == user["login_id"], (u.totp_last_step.is_(None)) | (u.totp_last_step < step))
        .values(totp_last_step=step)
    ).rowcount
    return bool(used)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back stored UTC times without their zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _usable(status: str, valid_until: date | None, now: datetime) -> bool:
    """An account that may act today: not suspended, not past its last day (JST)."""
    return status == "active" and (valid_until is None or valid_until >= jst_date(now))


def session_actor(ctx: Context, token: str, *, idle: timedelta | None = None) -> Actor:
    """The actor of a live session (not ended, not expired, account still usable). With
    ``idle`` (the screens), a session unused for longer has ended; a use is remembered."""
    now = ctx.clock()
    key, s = _token_hash(token), user_session.c
    with ctx.engine.begin() as conn:
        row = conn.execute(
            select(user_session, app_user.c.status, app_user.c.valid_until)
            .join(app_user, app_user.c.login_id == s.login_id)
            .where(s.token_hash == key)
        ).first()
        idled, actor = False, None
        if row is not None and row.ended_at is None:
            if idle is not None:
                idled = now - _aware(row.last_seen_at or row.created_at) > idle
                seen = {"ended_at": now} if idled else {"last_seen_at": now}
                conn.execute(update(user_session).where(s.token_hash == key).values(**seen))
            if not idled and _aware(row.expires_at) > now and _usable(row.status, row.valid_until, now):
                actor = _actor_of(_user(conn, row.login_id))
    if idled:  # after the commit: the session stays ended
        raise LoginFailed("一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください")
    if actor is None:
        raise LoginFailed("ログインの有効期限が切れています。`shuyaku login` でログインしてください")
    return actor


def logout(ctx: Context, token: str) -> None:
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = conn.execute(
            select(user_session.c.login_id).where(user_session.c.token_hash == _token_hash(token))
        ).first()
        conn.execute(update(user_session).where(user_session.c.token_hash == _token_hash(token)).values(ended_at=now))
        if row:
            trail.append(conn, Actor(row.login_id, "-"), [trail.Event("logout", target=row.login_id)], now)


def change_password(ctx: Context, login_id: str, old: str, new: str) -> None:
    problems = password_problems(login_id, new)
    if problems:
        raise AccountError("パスワード: " + "、".join(problems))
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        user = _user(conn, login_id)
        if not _password_ok(str(user["password_hash"]), old):
            raise AccountError("現在のパスワードが違います")
        if _password_ok(str(user["password_hash"]), new):
            raise AccountError("新しいパスワードは現在のものと違うものにしてください")
        conn.execute(
            update(app_user)
            .where(app_user.c.login_id == login_id)
            .values(password_hash=HASHER.hash(new), password_changed_at=now, must_change_password=False)
        )
        trail.append(conn, _actor_of(user), [trail.Event("password.change", target=login_id)], now)


def has_accounts(ctx: Context) -> bool:
    with ctx.engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(app_user)).scalar_one())


# API tokens: a municipal system's NHI software calls the API with one (``Authorization:
# Bearer …``). Only its SHA-256 is stored; it is shown once, scoped to the account's one
# municipality, expires, and is revoked rather than deleted. Issuing and revoking are
# account changes: in the permission 帳票 with who, who approved and why.
TOKEN_PREFIX = "shy_"
TOKEN_DAYS_MAX = 397  # about 13 months: a yearly renewal with a month to spare


@dataclass(frozen=True)
class ApiToken:
    token_id: int
    login_id: str
    municipality_code: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None


def create_token(
    ctx: Context,
    actor: Actor,
    login_id: str,
    *,
    days: int = 90,
    approved_by: str | None = None,
    reason: str | None = None,
) -> tuple[int, str]:
    """A new API token for a municipal system account: (token number, the token, shown once)."""
    access = guarded(ctx, actor, "token.manage", target=login_id)
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise AccountError(f"--days は 1〜{TOKEN_DAYS_MAX} 日です(指定: {days})")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        user = _user(conn, login_id)
        if user["role"] not in policy.TOKEN_ROLES:
            roles = "、".join(policy.ROLES[r] for r in sorted(policy.TOKEN_ROLES))
            raise AccountError(
                f"APIトークンは {roles} の利用者にだけ発行できます({login_id} は {policy.ROLES.get(str(user['role']), user['role'])})"
            )
        if user["status"] != "active":
            raise AccountError(f"{login_id} は利用停止中です")
        scope = [m for m in str(user["municipalities"]).split(",") if m]
        if len(scope) != 1:
            raise AccountError(f"{login_id} の担当市町村が1つではありません(APIトークンは1市町村に限ります)")
        token_id = conn.execute(
            insert(api_token)
            .values(
                token_hash=_token_hash(token),
                login_id=login_id,
                municipality_code=scope[0],
                created_at=now,
                created_by=actor.login_id,
                expires_at=now + timedelta(days=days),
            )
            .returning(api_token.c.token_id)
        ).scalar_one()
        _log_change(
            conn,
            access,
            now,
            "APIトークン発行",
            user,
            role_before=str(user["role"]),
            scope_before=str(user["municipalities"]),
            approved_by=approved_by,
            reason=f"トークン {token_id}(有効期限 {jst_date(now + timedelta(days=days)).isoformat()})"
            + (f" {reason}" if reason else ""),
        )
    return int(token_id), token


def list_tokens(ctx: Context, actor: Actor) -> list[ApiToken]:
    with guarded(ctx, actor, "user.read") as access, ctx.engine.connect() as conn:
        rows = conn.execute(select(api_token).order_by(api_token.c.token_id)).all()
        access.done(action="token.list", rows=len(rows))
    return [
        ApiToken(
            r.token_id,
            r.login_id,
            r.municipality_code,
            _aware(r.created_at),
            r.created_by,
            _aware(r.expires_at),
            _aware(r.revoked_at) if r.revoked_at else None,
        )
        for r in rows
    ]


def revoke_token(ctx: Context, actor: Actor, token_id: int, *, reason: str, approved_by: str | None = None) -> None:
    access = guarded(ctx, actor, "token.manage", target=f"token {token_id}")
    if not reason.strip():
        raise AccountError("失効の理由(--reason)を入力してください")
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        row = conn.execute(select(api_token).where(api_token.c.token_id == token_id)).first()
        if row is None:
            raise AccountError(f"APIトークン {token_id} はありません")
        if row.revoked_at is not None:
            raise AccountError(f"APIトークン {token_id} は失効済みです")
        conn.execute(
            update(api_token).where(api_token.c.token_id == token_id).values(revoked_at=now, revoked_by=actor.login_id)
        )
        user = _user(conn, row.login_id)
        _log_change(
            conn,
            access,
            now,
            "APIトークン失効",
            user,
            role_before=str(user["role"]),
            scope_before=str(user["municipalities"]),
            approved_by=approved_by,
            reason=f"トークン {token_id} {reason.strip()}",
        )


def token_actor(ctx: Context, token: str) -> Actor:
    """The actor of a live API token: not revoked, not expired, its account active and
    still a municipal system of that municipality. Anything else is one refusal."""
    now = ctx.clock()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise LoginFailed("APIトークンが正しくありません")
    with ctx.reading() as conn:
        row = conn.execute(
            select(api_token, app_user.c.status, app_user.c.valid_until, app_user.c.role, app_user.c.municipalities)
            .join(app_user, app_user.c.login_id == api_token.c.login_id)
            .where(api_token.c.token_hash == _token_hash(token))
        ).first()
    if (
        row is None
        or row.revoked_at is not None
        or _aware(row.expires_at) <= now
        or not _usable(row.status, row.valid_until, now)
        or row.role not in policy.TOKEN_ROLES
        or row.municipalities != row.municipality_code
    ):
        raise LoginFailed("APIトークンが正しくないか、有効期限切れ・失効済みです")
    return Actor(row.login_id, row.role, frozenset({row.municipality_code}))

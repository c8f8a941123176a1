"""Log-in, log-out and staff accounts."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from shuyaku.access import policy
from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    _context,
    _date,
    _emit,
    _fail,
    _session,
    _session_file,
    app,
    console,
)
from shuyaku.cli.options import ApprovedBy, LoginId
from shuyaku.timeutil import shown

user_app = ShuyakuTyper(help="利用者(職員ごとのID・役割・担当市町村)", no_args_is_help=True)
app.add_typer(user_app, name="user")


@app.command()
def login(user: Annotated[str, typer.Option("--user", help="ログインID")]) -> None:
    """ログインする(パスワードと認証アプリの確認コード)。以後のコマンドはこの利用者として記録される。"""
    from shuyaku import accounts

    ctx = _context()
    password = typer.prompt(f"{user} のパスワード", hide_input=True)
    code = typer.prompt("確認コード(6桁)")
    session = accounts.login(ctx, user, password, code)
    if session.must_change_password:
        console.print("初回ログインまたは初期化後のため、パスワードを変更してください")
        new = typer.prompt("新しいパスワード", hide_input=True, confirmation_prompt="確認のためもう一度")
        accounts.change_password(ctx, user, password, new)
    path = _session_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(session.token)
    role = policy.ROLES.get(session.actor.role, session.actor.role)
    console.print(f"✓ {user}({role})としてログインしました(8時間有効)")


@app.command()
def logout() -> None:
    """ログアウトする(セッションを終了し、端末に残さない)。"""
    from shuyaku import accounts

    ctx = _context()
    path = _session_file(ctx)
    if path.exists():
        accounts.logout(ctx, path.read_text(encoding="ascii").strip())
        path.unlink()
    console.print("✓ ログアウトしました")


@user_app.command("add")
def user_add(
    login_id: Annotated[str, typer.Argument(help="ログインID(職員ごと。共用しない)")],
    name: Annotated[str, typer.Option(help="氏名")],
    organisation: Annotated[str, typer.Option(help="所属")],
    role: Annotated[
        str,
        typer.Option(
            help="municipal_clerk / municipal_supervisor / municipal_system / federation_operator / auditor / admin"
            " / register_clerk / department_staff"
        ),
    ],
    municipality: Annotated[list[str] | None, typer.Option(help="担当の市町村コード(市町村の役割のみ。複数可)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="有効期限 YYYY-MM-DD(任期・異動予定)")] = None,
    approved_by: ApprovedBy = None,
    org_unit: Annotated[str | None, typer.Option(help="所属の課コード(department_staff のみ)")] = None,
) -> None:
    """利用者を登録する。初期パスワードと二要素認証の登録用URIを一度だけ表示する。"""
    from shuyaku import accounts

    ctx, actor = _session()
    try:
        until = _date("--valid-until", valid_until) if valid_until else None
        creds = accounts.add_user(
            ctx,
            actor,
            login_id,
            name,
            organisation,
            role,
            municipality or [],
            valid_until=until,
            approved_by=approved_by,
            org_unit=org_unit,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if role in policy.TOKEN_ROLES:
        console.print(
            f"✓ {login_id} を登録しました(システム用。ログインはせず、shuyaku token create で発行する APIトークンで使います)"
        )
        return
    console.print(f"✓ {login_id} を登録しました。本人に安全な方法で渡してください(再表示はできません):")
    console.print(f"  初期パスワード: {creds.password}(初回ログイン時に変更)", markup=False)
    console.print(f"  認証アプリ登録: {creds.totp_uri}", markup=False, soft_wrap=True)


@user_app.command("list")
def user_list(fmt: Format = "table") -> None:
    """利用者の一覧(役割・担当・状態)。"""
    from shuyaku import accounts

    found = accounts.list_users(*_session())
    status_label = {"active": "利用中", "suspended": "停止", "expired": "期限切れ"}
    columns = (
        ("login_id", "ログインID"),
        ("name", "氏名"),
        ("organisation", "所属"),
        ("role", "役割"),
        ("municipalities", "担当市町村"),
        ("status", "状態"),
        ("valid_until", "有効期限"),
        ("last_login_at", "最終ログイン(日本時間)"),
    )
    rows = [
        [
            a.login_id,
            a.name,
            a.organisation,
            policy.ROLES.get(a.role, a.role),
            ",".join(a.municipalities) or "県全体",
            status_label.get(a.status, a.status) + ("(ロック中)" if a.locked else ""),
            a.valid_until.isoformat() if a.valid_until else "",
            shown(a.last_login_at),
        ]
        for a in found
    ]
    _emit(fmt, columns, rows, empty="利用者はまだいません(shuyaku user add で最初の管理者を登録します)")


@user_app.command("suspend")
def user_suspend(
    login_id: LoginId,
    reason: Annotated[str, typer.Option(help="理由(異動・退職など)")],
    approved_by: ApprovedBy = None,
) -> None:
    """利用を停止する(異動・退職)。ログインできなくなり、セッションも終わる。"""
    from shuyaku import accounts

    ctx, actor = _session()
    accounts.suspend(ctx, actor, login_id, reason=reason, approved_by=approved_by)
    console.print(f"✓ {login_id} の利用を停止しました")


@user_app.command("reset-password")
def user_reset_password(
    login_id: LoginId,
    new_totp: Annotated[bool, typer.Option("--new-totp", help="認証アプリも登録し直す(端末の紛失など)")] = False,
    approved_by: ApprovedBy = None,
) -> None:
    """パスワードを初期化する(ロックも解除)。"""
    from shuyaku import accounts

    ctx, actor = _session()
    creds = accounts.reset_password(ctx, actor, login_id, new_totp=new_totp, approved_by=approved_by)
    console.print(f"✓ 初期パスワード: {creds.password}(初回ログイン時に変更)", markup=False)
    if creds.totp_uri:
        console.print(f"  認証アプリ登録: {creds.totp_uri}", markup=False, soft_wrap=True)


@user_app.command("set-role")
def user_set_role(
    login_id: LoginId,
    role: Annotated[str, typer.Option(help="新しい役割")],
    municipality: Annotated[list[str] | None, typer.Option(help="担当の市町村コード(複数可)")] = None,
    approved_by: ApprovedBy = None,
    reason: Annotated[str | None, typer.Option(help="理由")] = None,
) -> None:
    """役割・担当市町村を変える(権限追加・権限削除・役割変更として記録)。"""
    from shuyaku import accounts

    ctx, actor = _session()
    kind = accounts.set_role(ctx, actor, login_id, role, municipality or [], approved_by=approved_by, reason=reason)
    console.print(f"✓ {login_id}: {kind}")


token_app = ShuyakuTyper(help="APIトークン(市町村の国保システムが API を呼ぶための鍵)", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    login_id: LoginId,
    days: Annotated[int, typer.Option(help="有効日数(1〜397)")] = 90,
    approved_by: ApprovedBy = None,
    reason: Annotated[str | None, typer.Option(help="理由")] = None,
) -> None:
    """市町村システムの利用者に APIトークンを発行する(表示は一度だけ。保存はハッシュのみ)。"""
    from shuyaku import accounts

    ctx, actor = _session()
    token_id, token = accounts.create_token(ctx, actor, login_id, days=days, approved_by=approved_by, reason=reason)
    console.print(f"✓ APIトークン {token_id} を発行しました({days}日有効)。この表示は一度だけです:", markup=False)
    console.print(f"  {token}", markup=False, soft_wrap=True)


@token_app.command("list")
def token_list(fmt: Format = "table") -> None:
    """APIトークンの一覧(番号・利用者・市町村・期限・失効)。トークンそのものは表示しない。"""
    from shuyaku import accounts

    columns = (
        ("token_id", "番号"),
        ("login_id", "ログインID"),
        ("municipality_code", "市町村"),
        ("created_at", "発行日時(日本時間)"),
        ("created_by", "発行者"),
        ("expires_at", "有効期限(日本時間)"),
        ("status", "状態"),
    )
    rows = [
        [
            t.token_id,
            t.login_id,
            t.municipality_code,
            shown(t.created_at),
            t.created_by,
            shown(t.expires_at),
            "失効" if t.revoked_at else "有効",
        ]
        for t in accounts.list_tokens(*_session())
    ]
    _emit(fmt, columns, rows, empty="APIトークンはありません(shuyaku token create で発行します)")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="トークン番号(token list で確認)")],
    reason: Annotated[str, typer.Option(help="理由(端末の入替え・漏えいの疑いなど)")],
    approved_by: ApprovedBy = None,
) -> None:
    """APIトークンを失効させる(以後その鍵での呼出しは 401)。"""
    from shuyaku import accounts

    ctx, actor = _session()
    accounts.revoke_token(ctx, actor, token_id, reason=reason, approved_by=approved_by)
    console.print(f"✓ APIトークン {token_id} を失効させました")

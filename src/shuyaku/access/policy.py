"""Who may do what, in one place (pure).

Every service function names its operation and, where the data belongs to a municipality,
the municipality; ``check`` decides. Roles see personal data only where the table says so:
an auditor reads the access log and the reports, an administrator manages accounts, and
neither sees a person or a household.
"""

from __future__ import annotations

from dataclasses import dataclass

from shuyaku.access.actor import AccessDenied, Actor

CLERK, SUPERVISOR, MUNICIPAL_SYSTEM, OPERATOR, AUDITOR, ADMIN, SYSTEM = (
    "municipal_clerk",
    "municipal_supervisor",
    "municipal_system",
    "federation_operator",
    "auditor",
    "admin",
    "system",
)
REGISTER_CLERK, DEPARTMENT = "register_clerk", "department_staff"
ROLES = {
    CLERK: "市町村 国保担当",
    SUPERVISOR: "市町村 国保担当(確認者)",
    MUNICIPAL_SYSTEM: "市町村 国保システム(API)",
    OPERATOR: "連合会 運用担当",
    AUDITOR: "監査担当",
    ADMIN: "システム管理者",
    REGISTER_CLERK: "業務登録の事務局",
    DEPARTMENT: "課の職員(自課の業務登録の閲覧)",
}
# Roles that see personal data: their accounts need the second factor.
PERSONAL_DATA_ROLES = frozenset({CLERK, SUPERVISOR, OPERATOR})
MUNICIPAL_ROLES = frozenset({CLERK, SUPERVISOR, MUNICIPAL_SYSTEM})
# Roles whose accounts authenticate with API tokens (never interactively).
TOKEN_ROLES = frozenset({MUNICIPAL_SYSTEM})


@dataclass(frozen=True)
class Operation:
    label: str  # 業務, as the access log and reports say it
    roles: frozenset[str]
    personal_data: bool  # reads or writes personal data (logged as such)


def _op(label: str, *roles: str, personal: bool = True) -> Operation:
    return Operation(label, frozenset({*roles, SYSTEM}), personal)


OPERATIONS: dict[str, Operation] = {
    "ingest": _op("受信ファイルの取込", OPERATOR, MUNICIPAL_SYSTEM),
    "export": _op("返却ファイルの作成", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM),
    "person.read": _op("被保険者の照会", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM),
    "person.check_number": _op("個人番号の照合(一致・不一致のみ)", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM),
    "continuity.read": _op("世帯継続性候補の閲覧", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM),
    "continuity.decide": _op("世帯継続性候補の確定・却下", OPERATOR, SUPERVISOR),
    "tasuukai.explain": _op("多数回該当の内訳の閲覧", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM),
    "tasuukai.run": _op("多数回該当回数の計算", OPERATOR),
    "kogaku.run": _op("高額療養費の月次計算", OPERATOR),
    "inbox.read": _op("受信ファイル台帳の閲覧", OPERATOR, CLERK, SUPERVISOR, MUNICIPAL_SYSTEM, personal=False),
    "quarantine.read": _op("隔離レコードの閲覧", OPERATOR, CLERK, SUPERVISOR),
    "quarantine.review": _op("隔離レコードの確認登録", OPERATOR, CLERK, SUPERVISOR),
    "kogaku.read": _op("高額療養費の月次計算結果の閲覧", OPERATOR, CLERK, SUPERVISOR, personal=False),
    "status": _op("稼働状況の閲覧", OPERATOR, CLERK, SUPERVISOR, AUDITOR, ADMIN, personal=False),
    "vault.rotate": _op("索引鍵の更新", OPERATOR),
    "vault.purge": _op("個人番号の消去(保存期間の経過)", OPERATOR),
    "archive.purge": _op("受信ファイル写しの廃棄", OPERATOR),
    "outbox.purge": _op("返却ファイルの廃棄(受け渡し後の保存期間の経過)", OPERATOR),
    "municipality.manage": _op("市町村の登録", ADMIN, OPERATOR, personal=False),
    "setting.change": _op("県の設定の変更", ADMIN, personal=False),
    "user.manage": _op("利用者の登録・変更", ADMIN, personal=False),
    "token.manage": _op("APIトークンの発行・失効", ADMIN, personal=False),
    "user.read": _op("利用者一覧の閲覧", ADMIN, AUDITOR, personal=False),
    "audit.read": _op("アクセス記録の閲覧・検証", AUDITOR, ADMIN, personal=False),
    "audit.checkpoint": _op("アクセス記録のチェックポイント作成", OPERATOR, ADMIN, AUDITOR, personal=False),
    "report.permissions": _op("利用者権限変更一覧の作成", AUDITOR, ADMIN, personal=False),
    "report.access_review": _op("アクセス記録点検表の作成", AUDITOR, personal=False),
    "report.erasures": _op("個人番号の消去記録の作成", AUDITOR, ADMIN, personal=False),
    "register.read": _op("個人情報取扱業務登録の閲覧", REGISTER_CLERK, AUDITOR, DEPARTMENT, personal=False),
    "register.edit": _op("個人情報取扱業務登録の追加・修正・廃止", REGISTER_CLERK, personal=False),
    "backup": _op("バックアップ・復元(保管庫と鍵を含む全件の写し)", OPERATOR, ADMIN),
}


def check(actor: Actor, operation: str, municipality_code: str | None = None) -> Operation:
    """The operation if the actor may do it (for this municipality); else AccessDenied."""
    op = OPERATIONS[operation]
    if actor.role not in op.roles:
        raise AccessDenied(
            f"{actor.login_id}(役割 {ROLES.get(actor.role, actor.role)})には「{op.label}」の権限がありません"
        )
    if municipality_code is not None:
        actor.require_municipality(municipality_code)
    elif actor.municipalities is not None and op.personal_data and operation not in SCOPED_BY_FILTER:
        raise AccessDenied(f"{actor.login_id} は県全体を対象とする「{op.label}」を行えません(市町村を指定してください)")
    return op


# Operations that, without a municipality, narrow themselves to the actor's municipalities.
SCOPED_BY_FILTER = frozenset({"continuity.read", "export", "inbox.read", "quarantine.read"})


# Actions the access log records besides the operations above (their finer steps).
_ACTIONS = {
    "login": "ログイン",
    "logout": "ログアウト",
    "password.change": "パスワードの変更",
    "person.keys": "被保険者の照会(市町村の宛名番号)",
    "returns.fetch": "返却ファイルの取得",
    "returns.list": "返却ファイルの一覧",
    "ingest.resend": "保留ファイルの再処理",
    "ingest.initial": "初期移行モード(索引を外した一括取込)",
    "ingest.continuity": "世帯の継続性の判定(取込の終わりにまとめて)",
    "municipality.add": "市町村の登録",
    "restore": "復元",
    "audit.search": "アクセス記録の検索",
    "audit.verify": "アクセス記録の検証",
    "token.list": "APIトークン一覧の閲覧",
    "user.list": "利用者一覧の閲覧",
    "continuity.confirmed": "世帯継続性候補の確定",
    "continuity.rejected": "世帯継続性候補の却下",
}
OUTCOMES = {"ok": "成功", "denied": "拒否", "failed": "失敗"}


def action_label(action: str) -> str:
    """An access-log action as staff and 帳票 say it (the code itself when unknown)."""
    if action in _ACTIONS:
        return _ACTIONS[action]
    if action in OPERATIONS:
        return OPERATIONS[action].label
    if action.startswith("user."):
        return f"利用者の変更({action.removeprefix('user.')})"
    return action

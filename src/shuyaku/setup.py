"""Installation and master data: ``shuyaku init`` and the municipality register."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.audit.verify import ensure_signing_key
from shuyaku.config import Settings
from shuyaku.context import Context
from shuyaku.db.engine import make_engine
from shuyaku.db.locks import write_lock
from shuyaku.db.schema import municipality, setting
from shuyaku.errors import InvalidRequest
from shuyaku.files import private_dir, private_umask
from shuyaku.vault.keys import KeyRing
from shuyaku.vault.service import IDENTITY_LOCK, INDEX_VERSION, rekey_blind_indexes

ENCODINGS = ("utf-8", "cp932")


class SetupError(InvalidRequest, ValueError):
    pass


def init(settings: Settings, prefecture: str, now: datetime) -> list[str]:
    """Create SHUYAKU_HOME, the key files (once) and the schema; record the prefecture."""
    if not (len(prefecture) == 2 and prefecture.isdigit() and 1 <= int(prefecture) <= 47):
        raise SetupError(f"--prefecture は都道府県番号 01〜47 の2桁です(指定: {prefecture})")
    done = []
    private_umask()  # keys, database, log: the owner's alone, whatever the caller's umask
    private_dir(settings.home)
    if not (settings.keys_dir / "keyring.json").exists():
        KeyRing.create(settings.keys_dir)
        done.append(f"鍵を生成しました: {settings.keys_dir}")
    else:
        done += [f"鍵を追加しました: {p}" for p in KeyRing.load(settings.keys_dir).ensure_purposes()]
    if ensure_signing_key(settings.keys_dir):
        done.append("アクセス記録の署名鍵(Ed25519)を生成しました")
    engine = make_engine(settings.database_url)
    from shuyaku.db import migrate  # Alembic costs 0.3 s to import: only the commands that migrate pay it

    migrate.upgrade(engine)
    done.append("データベースを最新の版にしました")
    with engine.begin() as conn:
        current = conn.execute(select(setting.c.value).where(setting.c.key == "prefecture")).scalar()
        if current is None:
            conn.execute(insert(setting).values(key="prefecture", value=prefecture))
            done.append(f"都道府県番号 {prefecture} を設定しました")
        elif current != prefecture:
            raise SetupError(f"このデータベースは都道府県番号 {current} で初期化済みです(指定: {prefecture})")
    engine.dispose()
    return done


def add_municipality(
    ctx: Context, actor: Actor, code: str, name: str, insurer_number: str, encoding: str = "utf-8"
) -> None:
    access = guarded(ctx, actor, "municipality.manage", target=code)
    if not ids.is_valid_municipality_code(code):
        raise SetupError(f"市町村コード {code} は6桁で検査数字が正しくありません")
    if not code.startswith(ctx.prefecture):
        raise SetupError(f"市町村コード {code} はこの都道府県({ctx.prefecture})のものではありません")
    if len(insurer_number) != 6 or not ids.is_valid_insurer_number(insurer_number):
        raise SetupError(f"保険者番号 {insurer_number} は6桁で検査数字が正しくありません")
    if encoding not in ENCODINGS:
        raise SetupError(f"--encoding は {' / '.join(ENCODINGS)} のいずれかです(指定: {encoding})")
    registered = SetupError(f"市町村コード {code} は登録済みです")
    try:
        with ctx.engine.begin() as conn:
            if conn.execute(select(municipality.c.name).where(municipality.c.municipality_code == code)).first():
                raise registered
            conn.execute(
                insert(municipality).values(
                    municipality_code=code,
                    name=name,
                    insurer_number=insurer_number,
                    encoding=encoding,
                    registered_at=ctx.clock(),
                    registered_by=actor.login_id,
                )
            )
            access.log(conn, action="municipality.add", target=f"{code} {name}", rows=1)
    except IntegrityError:  # the same code added by someone else between the check and the insert
        raise registered from None


# What `shuyaku setting set` may change, and how a value is checked.
SETTABLE: dict[str, Callable[[str], bool]] = {
    "continuity_auto_confirm_k1": lambda v: v in ("0", "1"),
    "quarantine_share": lambda v: _is_share(v),
    "raw_retention_days": lambda v: v.isdigit() and int(v) >= 1,
    "audit_warn_bytes": lambda v: v.isdigit() and int(v) >= 1,
    "max_file_bytes": lambda v: v.isdigit() and int(v) >= 1024,
    "max_columns": lambda v: v.isdigit() and 30 <= int(v) <= 10_000,  # every layout has fewer than 30 items
    "web_idle_minutes": lambda v: v.isdigit() and 1 <= int(v) <= 120,
    "daily_file_overdue_days": lambda v: v.isdigit() and 1 <= int(v) <= 20,
    "audit_origin": lambda v: (
        0 < len(v) <= 200 and v.isprintable() and " " not in v and "+" not in v
    ),  # C2SP origin line
}


def _is_share(value: str) -> bool:
    try:
        return 0.0 <= float(value) <= 1.0
    except ValueError:
        return False


def change_setting(ctx: Context, actor: Actor, key: str, value: str) -> str:
    """Set one of the prefecture's settings; returns the value before."""
    access = guarded(ctx, actor, "setting.change", target=key)
    if key not in SETTABLE:
        raise SetupError(f"設定 {key} は変更できません(変更できる設定: {', '.join(SETTABLE)})")
    if not SETTABLE[key](value):
        raise SetupError(f"設定 {key} の値 {value} は使えません")
    before = ctx.setting(key)
    with ctx.engine.begin() as conn:
        _put_setting(conn, key, value)
        access.log(conn, detail=f"{before} → {value}")
    ctx.forget_setting(key)
    logging.getLogger("shuyaku.setup").info(
        "setting %s changed by=%s from=%s to=%s", key, actor.login_id, before, value
    )
    return before


def _put_setting(conn: Connection, key: str, value: str) -> None:
    if conn.execute(select(setting.c.value).where(setting.c.key == key)).first() is None:
        conn.execute(insert(setting).values(key=key, value=value))
    else:
        conn.execute(update(setting).where(setting.c.key == key).values(value=value))


def rotate_index_key(ctx: Context, actor: Actor) -> tuple[int, int]:
    """Returns (new key version, entries re-keyed). The new key file is written first and
    becomes current only after the transaction that re-keyed every entry has committed;
    if anything fails, the old key stays current and the database unchanged."""
    access = guarded(ctx, actor, "vault.rotate")
    version = ctx.keyring.rotate("index")
    with ctx.engine.begin() as conn:
        write_lock(conn, IDENTITY_LOCK)  # no file is between its look-up by number and its commit
        count = rekey_blind_indexes(conn, ctx.keyring, version, ctx.clock())
        _put_setting(conn, INDEX_VERSION, str(version))  # every process follows it (Vault.follow)
        access.log(conn, target=f"index v{version}", rows=count)
    ctx.keyring.make_current("index", version)
    ctx.__dict__.pop("vault", None)  # the cached Vault holds the old key
    logging.getLogger("shuyaku.vault").info(
        "index key rotated by=%s version=%s entries=%s", actor.login_id, version, count
    )
    return version, count

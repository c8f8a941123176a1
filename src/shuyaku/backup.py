"""`shuyaku backup DIR` / `shuyaku restore DIR`: the database, the key files and the
encrypted archive, together, so that a restored system reads its own vault and archive.

- PostgreSQL: ``pg_dump`` in its custom format (``database.dump``) of a snapshot exported
  by the transaction that counts the rows, restored with
  ``pg_restore --clean --if-exists``; the client tools of the server's major version must
  be on PATH.
- SQLite: the online backup API (``shuyaku.db``): a consistent copy while others read.

``manifest.json`` lists every file with its SHA-256 and the row count of every table; a
restore refuses a backup whose files do not match it, and afterwards compares the counts.
The backup is 特定個人情報 (the vault's sealed numbers and the keys that open them): the
folder is created owner-only, and the backup itself is an event in the access log.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, func, select
from sqlalchemy.engine import make_url

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import metadata
from shuyaku.errors import Unavailable
from shuyaku.files import private_dir, replace_private

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Unavailable, RuntimeError):
    pass


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    files: int
    counts: dict[str, int]


def table_counts(ctx: Context) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        return _counts(conn)


def _counts(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for name, table in sorted(metadata.tables.items())
    }


def backup(ctx: Context, actor: Actor, folder: Path) -> BackupSummary:
    access = guarded(ctx, actor, "backup", target=str(folder))
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} は空ではありません。新しいフォルダを指定してください")
    private_dir(folder)
    access.record()  # before the copy: the copy holds its own event
    # The counts are the copy's own, taken in its snapshot: the system goes on working while
    # a backup is taken, and counts of the live database made a backup that refused to restore.
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
            counts = _counts(conn)
            dump = ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}"]
            _run([*dump, "--file", str(folder / "database.dump"), _libpq_url(ctx)], "pg_dump")
    else:
        source = sqlite3.connect(ctx.engine.url.database or "")
        target = sqlite3.connect(folder / "shuyaku.db")
        with target:
            source.backup(target)
        source.close()
        target.close()
        copy = create_engine(f"sqlite:///{folder / 'shuyaku.db'}")
        with copy.connect() as conn:
            counts = _counts(conn)
        copy.dispose()
    # Archive files of a file applied after the copy may come too: nothing refers to them.
    for name, source_dir in (("keys", ctx.settings.keys_dir), ("archive", ctx.settings.archive_dir)):
        if source_dir.exists():
            shutil.copytree(source_dir, folder / name)
    files = {str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    manifest = {
        "format": FORMAT,
        "database": ctx.engine.dialect.name,
        "at": ctx.clock().isoformat(),
        "counts": counts,
        "files": files,
    }
    replace_private(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return BackupSummary(folder, len(files), counts)


def restore(ctx: Context, actor: Actor, folder: Path) -> BackupSummary:
    """Put a backup back: database, keys, archive. The database named by the settings is
    replaced; the current key files are kept beside the restored ones (``keys.before-restore``)."""
    access = guarded(ctx, actor, "backup", target=str(folder))
    manifest = _manifest(folder)
    if manifest["database"] != ctx.engine.dialect.name:
        raise BackupError(f"この写しは {manifest['database']} のものです(復元先: {ctx.engine.dialect.name})")
    if ctx.engine.dialect.name == "postgresql":
        ctx.engine.dispose()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _libpq_url(ctx),
                str(folder / "database.dump"),
            ],
            "pg_restore",
        )
    else:
        path = Path(ctx.engine.url.database or "")
        ctx.engine.dispose()
        source = sqlite3.connect(folder / "shuyaku.db")
        target = sqlite3.connect(path)
        with target:
            source.backup(target)
        source.close()
        target.close()
    keys = ctx.settings.keys_dir
    if keys.exists():
        kept = keys.with_name("keys.before-restore")
        shutil.rmtree(kept, ignore_errors=True)
        keys.rename(kept)
    shutil.copytree(folder / "keys", keys)
    if (folder / "archive").exists():
        shutil.copytree(folder / "archive", ctx.settings.archive_dir, dirs_exist_ok=True)
    counts = table_counts(ctx)
    differs = {k: (v, counts.get(k)) for k, v in manifest["counts"].items() if counts.get(k) != v}
    if differs:
        raise BackupError(
            "復元後の件数が写しと異なります: " + ", ".join(f"{k} {a}→{b}" for k, (a, b) in differs.items())
        )
    access.record(action="restore", detail=f"backup of {manifest['at']}")
    return BackupSummary(folder, len(manifest["files"]), counts)


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder / MANIFEST} を読めません({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}: 対応していない形式の写しです")
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{path}: 写しが壊れているか、取得後に変更されています(SHA-256 が一致しません)")
    return dict(manifest)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq_url(ctx: Context) -> str:
    url = make_url(ctx.engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(command: list[str], tool: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{tool} が見つかりません(PostgreSQL のクライアントを導入してください)") from None
    if done.returncode != 0:
        raise BackupError(f"{tool} が失敗しました: {done.stderr.strip()[-500:]}")

"""PostgreSQL: the role the application connects as in production.

It may read and write the business tables but only SELECT and INSERT the access log and its
checkpoints: no UPDATE, DELETE or TRUNCATE, so even a compromised application cannot
rewrite history. The owner (who runs migrations) keeps full rights.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from shuyaku.db.schema import metadata

APPEND_ONLY = ("audit_event", "audit_checkpoint")


def grant_app_role(engine: Engine, role: str, password: str | None = None) -> list[str]:
    """Create (if needed) and grant the application role; returns what was done."""
    if engine.dialect.name != "postgresql":
        raise ValueError("アプリケーション用ロールは PostgreSQL でのみ設定できます")
    if not role.replace("_", "").isalnum():
        raise ValueError(f"ロール名 {role} は英数字と _ のみです")
    done = []
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if not exists:
            conn.execute(
                text(f'CREATE ROLE "{role}" LOGIN' + (" PASSWORD :p" if password else "")),
                {"p": password} if password else {},
            )
            done.append(f"ロール {role} を作成しました")
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        for table in metadata.sorted_tables:
            if table.name in APPEND_ONLY:
                conn.execute(text(f'REVOKE ALL ON TABLE {table.name} FROM "{role}"'))
                conn.execute(text(f'GRANT SELECT, INSERT ON TABLE {table.name} TO "{role}"'))
            else:
                conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {table.name} TO "{role}"'))
        conn.execute(text(f'GRANT SELECT ON TABLE alembic_version TO "{role}"'))
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
        done.append(f"ロール {role}: 業務テーブルは読み書き、アクセス記録({', '.join(APPEND_ONLY)})は参照と追加のみ")
    return done

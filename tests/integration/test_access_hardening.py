"""Log-in, the access log and what staff see, under hostile and concurrent use."""

from __future__ import annotations

import csv
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from shuyaku import accounts, ids
from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.verify import export_head, seal_tail, verify
from shuyaku.cli import app
from shuyaku.db.schema import app_user, audit_event
from shuyaku.reports import service as reports
from tests.builders import INSURER_A, MUNI_A, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, rows

SETUP = Actor("setup:root", "system")
AUDITOR = Actor("kansa", "auditor")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _log_text(ctx) -> str:  # type: ignore[no-untyped-def]
    return ids.ascii_digits("\n".join(" ".join(str(v) for v in r) for r in rows(ctx, audit_event)))


@pytest.mark.parametrize(
    "typed",
    [
        number(1),
        number(1).translate(FULL_WIDTH),
        f"{number(1)[:4]} {number(1)[4:8]} {number(1)[8:]}",
        f"id{number(1)}x",
    ],
)
def test_a_number_typed_as_a_login_id_never_reaches_the_log_or_the_review(ctx, tmp_path, typed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(accounts.LoginFailed):
        accounts.login(ctx, typed, "x", "000000")
    assert number(1) not in _log_text(ctx)
    [event] = [e for e in rows(ctx, audit_event) if e.action == "login"]
    assert (event.actor, event.outcome) == ("不明", "failed")
    with pytest.raises(accounts.AccountError, match="数字の並び"):
        accounts.add_user(ctx, SETUP, f"u{number(1)}", "番号 太郎", "架空市", "auditor")
    reports.access_review(ctx, SETUP, date(2000, 1, 1), date(2100, 1, 1), csv_path=tmp_path / "r.csv")
    assert number(1) not in ids.ascii_digits((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))


def test_a_formula_typed_as_a_login_id_is_neutralised_in_the_review_csv(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    formula = '=HYPERLINK("http://evil.example","x")'
    with pytest.raises(accounts.LoginFailed):
        accounts.login(ctx, formula, "x", "000000")
    reports.access_review(ctx, SETUP, date(2000, 1, 1), date(2100, 1, 1), csv_path=tmp_path / "r.csv")
    cells = [c for row in csv.reader((tmp_path / "r.csv").open(encoding="utf-8-sig")) for c in row]
    assert any("HYPERLINK" in c for c in cells)
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def _user(ctx, login: str = "sato") -> str:  # type: ignore[no-untyped-def]
    creds = accounts.add_user(ctx, SETUP, login, "佐藤 一郎", "連合会 電算課", "federation_operator")
    with ctx.engine.begin() as conn:
        conn.execute(app_user.update().values(must_change_password=False))
    return parse_qs(urlparse(creds.totp_uri).query)["secret"][0], creds.password  # type: ignore[return-value]


def test_parallel_wrong_codes_lock_the_account_and_every_attempt_is_logged(ctx) -> None:  # type: ignore[no-untyped-def]
    secret, password = _user(ctx)
    right = pyotp.TOTP(secret).at(ctx.clock.now)
    wrong = "000000" if right != "000000" else "111111"

    def attempt(_: int) -> bool:
        try:
            accounts.login(ctx, "sato", password, wrong)
            return True
        except accounts.LoginFailed:
            return False

    with ThreadPoolExecutor(12) as pool:
        assert not any(pool.map(attempt, range(48)))
    failed = [e for e in rows(ctx, audit_event) if e.action == "login" and e.outcome == "failed"]
    assert len(failed) == 48  # none lost to a collision of sequence numbers
    [user] = rows(ctx, app_user)
    assert user.locked_until is not None
    with pytest.raises(accounts.LoginFailed):  # locked: even the right code
        accounts.login(ctx, "sato", password, right)
    assert verify(ctx, SETUP).ok


def test_an_unknown_login_id_costs_an_argon2_verification_like_a_known_one(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _, password = _user(ctx)
    calls: list[str] = []
    real = accounts._password_ok
    monkeypatch.setattr(accounts, "_password_ok", lambda h, p: calls.append(h) or real(h, p))
    for login in ("nobody", "sato"):
        with pytest.raises(accounts.LoginFailed):
            accounts.login(ctx, login, "wrong-password", "000000")
    assert len(calls) == 2 and all(h.startswith("$argon2id$") for h in calls)


def test_commands_refused_before_login_are_in_the_access_log(tmp_path: Path, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    monkeypatch.setenv("SHUYAKU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", database_url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (
        runner.invoke(
            app, ["user", "add", "kanri", "--name", "管理 太郎", "--organisation", "連合会", "--role", "admin"]
        ).exit_code
        == 0
    )
    refused = runner.invoke(app, ["status"])
    assert refused.exit_code == 2
    from shuyaku.config import load_settings
    from shuyaku.context import open_context

    ctx = open_context(load_settings())
    [event] = [e for e in rows(ctx, audit_event) if e.outcome == "denied"]
    assert event.action == "status" and event.actor.startswith("未ログイン")
    report = verify(ctx, SETUP)
    assert report.ok and report.unsigned_events == 0  # every command signs its tail, a refused one too
    ctx.engine.dispose()


def test_names_with_markup_and_escape_sequences_print_as_written(
    tmp_path: Path, database_url: str, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    monkeypatch.setenv("SHUYAKU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", database_url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["municipality", "add", MUNI_A, "架空市", "--insurer", INSURER_A]).exit_code == 0
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a\x1b[2J.csv").write_bytes(
        exchange_file("SKKS", [skks("1000000001", individual_number=number(1), name="[/red]斎藤")])
    )
    ingested = runner.invoke(app, ["ingest", str(inbox)])
    assert ingested.exit_code == 0, ingested.output
    shown = runner.invoke(app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001"])
    assert shown.exit_code == 0 and "[/red]斎藤" in shown.output
    assert "\x1b" not in ingested.output + shown.output
    home = tmp_path / "home"
    if database_url.startswith("sqlite"):
        assert stat.S_IMODE(Path(database_url.removeprefix("sqlite:///")).stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "log" / "shuyaku.log").stat().st_mode) == 0o600
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (home / "archive").iterdir())


def test_a_cut_or_rewritten_tail_fails_verify_once_the_command_signed_it(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    trail.record(ctx, OPERATOR, trail.Event("person.read", target="x"), trail.Event("person.read", target="y"))
    seal_tail(ctx)
    note = tmp_path / "head.txt"
    export_head(ctx, SETUP, note)
    lines = note.read_text(encoding="utf-8").split("\n")
    assert lines[0].endswith("/access-log") and lines[1].isdigit() and lines[4].startswith("\u2014 ")
    assert verify(ctx, SETUP, note.read_text(encoding="utf-8")).ok
    assert seal_tail(ctx) is not None  # verify's own event was appended after the head
    assert seal_tail(ctx) is None  # nothing new: no new checkpoint
    size = int(lines[1])
    _without_triggers(ctx, f"DELETE FROM audit_event WHERE seq >= {size - 1}")  # cut the tail …
    _without_triggers(
        ctx, f"DELETE FROM audit_checkpoint WHERE tree_size >= {size - 1}"
    )  # … and the checkpoints that signed it
    assert verify(ctx, SETUP).ok  # inside the database alone the cut cannot be seen …
    report = verify(ctx, SETUP, note.read_text(encoding="utf-8"))
    assert not report.ok and any("末尾の削除" in p for p in report.problems)  # … the head kept outside sees it
    forged = note.read_text(encoding="utf-8").replace(lines[1], str(size + 5), 1)
    assert any("署名" in p for p in verify(ctx, SETUP, forged).problems)


def test_an_edit_after_the_last_checkpoint_with_the_chain_recomputed_fails_verify(ctx) -> None:  # type: ignore[no-untyped-def]
    trail.record(ctx, OPERATOR, trail.Event("person.read", target="a"), trail.Event("person.read", target="b"))
    seal_tail(ctx)
    with ctx.engine.connect() as conn:
        last = conn.execute(select(audit_event).order_by(audit_event.c.seq.desc()).limit(1)).first()
    assert last is not None
    row = dict(last._mapping) | {"target": "z"}
    row["hash"] = trail.chain_hash(row["prev_hash"], trail.canonical(row))
    _without_triggers(ctx, f"UPDATE audit_event SET target = 'z', hash = '{row['hash']}' WHERE seq = {last.seq}")
    report = verify(ctx, SETUP)
    assert not report.ok and any("Merkle" in p for p in report.problems)


def _without_triggers(ctx, statement: str) -> None:  # type: ignore[no-untyped-def]
    """What someone with the database owner's rights could do."""
    with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_checkpoint ENABLE TRIGGER USER"))
            return
        names = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all()]
        sql = {
            r[0]: r[1] for r in conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
        }
        for name in names:
            conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(text(statement))
        for name in names:
            conn.execute(text(sql[name]))


def test_backup_then_restore_gives_back_the_same_counts_and_a_log_that_verifies(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.backup import BackupError, backup, restore, table_counts

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    seal_tail(ctx)
    done = backup(ctx, OPERATOR, tmp_path / "bk")
    assert stat.S_IMODE((tmp_path / "bk").stat().st_mode) == 0o700 and (tmp_path / "bk" / "keys").is_dir()
    before = done.counts
    ingest(ctx, exchange_file("SKKS", [skks("1000000002", individual_number=number(2), setai="2000000002")], seq=2))
    assert table_counts(ctx)["person"] == before["person"] + 1
    restored = restore(ctx, OPERATOR, tmp_path / "bk")
    after = table_counts(ctx)
    assert after["person"] == before["person"] and restored.counts == before
    assert after["audit_event"] == before["audit_event"] + 1  # the restore itself is logged
    assert verify(ctx, SETUP).ok
    assert (
        ingest(
            ctx, exchange_file("SKKS", [skks("1000000002", individual_number=number(2), setai="2000000002")], seq=2)
        ).status
        == "applied"
    )  # the restored keys still open the vault
    (tmp_path / "bk" / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BackupError):
        restore(ctx, OPERATOR, tmp_path / "bk")


def test_a_backup_taken_while_files_arrive_restores(ctx, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A backup is taken while the system is in use: a file applied after the database was
    copied (here: while the archive is being copied) is not in the backup, and the
    manifest's counts are those of the copy — so the backup restores, without that file."""
    from shuyaku import backup as backups

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    real_copytree = backups.shutil.copytree
    arrived: list[bool] = []

    def copy_while_a_file_arrives(source, target, **kwargs):  # type: ignore[no-untyped-def]
        if not arrived:
            arrived.append(True)
            new = [skks("1000000002", individual_number=number(2), setai="2000000002")]
            assert ingest(ctx, exchange_file("SKKS", new, seq=2)).status == "applied"
        return real_copytree(source, target, **kwargs)

    monkeypatch.setattr(backups.shutil, "copytree", copy_while_a_file_arrives)
    done = backups.backup(ctx, OPERATOR, tmp_path / "bk")
    monkeypatch.undo()
    assert arrived and done.counts["person"] == 1
    restored = backups.restore(ctx, OPERATOR, tmp_path / "bk")
    assert restored.counts["person"] == 1 and backups.table_counts(ctx)["person"] == 1


def test_a_municipality_added_twice_at_once_is_registered_once_and_the_second_is_told(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The second of two `municipality add`s of one code, which passed the "already
    registered" check before the first committed, says 登録済み — not an unexpected error."""
    from sqlalchemy import insert as real_insert

    from shuyaku import ids, setup
    from shuyaku.db.schema import municipality
    from shuyaku.setup import SetupError, add_municipality

    code, insurer = ids.with_municipality_check_digit("11208"), ids.with_insurer_check_digit("11208")
    row = {"municipality_code": code, "name": "先の町", "insurer_number": insurer, "encoding": "utf-8"}

    def someone_else_first(table):  # type: ignore[no-untyped-def]
        if table is municipality:  # the other add commits between this one's check and insert
            with ctx.engine.begin() as other:
                other.execute(real_insert(municipality).values(registered_at=ctx.clock(), registered_by="op-x", **row))
        return real_insert(table)

    monkeypatch.setattr(setup, "insert", someone_else_first)
    with pytest.raises(SetupError, match="登録済み"):
        add_municipality(ctx, OPERATOR, code, "後の町", insurer)
    monkeypatch.undo()
    [kept] = rows(ctx, municipality, municipality.c.municipality_code == code)
    assert kept.name == "先の町"

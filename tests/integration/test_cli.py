"""The `shuyaku` command as an operator uses it: exit codes, messages, files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuyaku.cli import app
from tests.builders import INSURER_A, MUNI_A, exchange_file, number, skks

runner = CliRunner()


def test_commands_before_init_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUYAKU_HOME", str(tmp_path / "nowhere"))
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2 and "shuyaku init" in result.output


def test_a_database_at_an_older_schema_is_refused_until_init_migrates_it(home: Path) -> None:
    """A new version installed over a store `shuyaku init` has not migrated yet: every
    command says so (before, each SKKS file was refused as an unexpected error, E002),
    and init migrates it."""
    from alembic import command

    from shuyaku.config import load_settings
    from shuyaku.context import open_context
    from shuyaku.db.migrate import alembic_config

    ctx = open_context(load_settings())
    command.downgrade(alembic_config(ctx.engine), "0007")
    ctx.engine.dispose()
    f = home / "a.csv"
    f.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    refused = runner.invoke(app, ["ingest", "--keep-source", str(f)])
    assert refused.exit_code == 2 and "(0007)" in refused.output and "shuyaku init" in refused.output
    assert runner.invoke(app, ["init", "--prefecture", "11"]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(f)]).exit_code == 0


def test_the_schema_revision_the_program_expects_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from shuyaku.db.migrate import alembic_config
    from shuyaku.db.schema import REVISION

    config = alembic_config(None)  # type: ignore[arg-type]
    assert ScriptDirectory.from_config(config).get_current_head() == REVISION


def test_ingest_exits_0_when_applied_or_duplicate_and_1_when_anything_is_refused(home: Path) -> None:
    good = home / "good.csv"
    good.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    assert runner.invoke(app, ["ingest", "--keep-source", str(good)]).exit_code == 0
    assert good.exists()  # kept when asked
    assert runner.invoke(app, ["ingest", str(good)]).exit_code == 0  # duplicate
    assert not good.exists()  # the plain file goes by default once its encrypted copy is kept
    gap = home / "gap.csv"
    gap.write_bytes(exchange_file("SKKS", [skks("1000000002", individual_number=number(2))], seq=5))
    result = runner.invoke(app, ["ingest", str(gap)])
    assert result.exit_code == 1 and "E005" in result.output


def test_ingest_usage_errors_exit_2(home: Path) -> None:
    assert runner.invoke(app, ["ingest", str(home / "missing.csv")]).exit_code == 2
    assert runner.invoke(app, ["ingest"]).exit_code == 2


def test_ingest_remove_source_and_export(home: Path) -> None:
    drop = home / "drop"
    drop.mkdir()
    (drop / "a.csv").write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    assert runner.invoke(app, ["ingest", "--remove-source", str(drop)]).exit_code == 0
    assert list(drop.iterdir()) == []
    for kind in ("KKKK", "IDTB"):
        result = runner.invoke(app, ["export", "--municipality", MUNI_A, "--kind", kind, "--out", str(home / "out")])
        assert result.exit_code == 0, result.output
    assert sorted(p.name.split("_")[1] for p in (home / "out").iterdir()) == ["IDTB", "KKKK"]
    assert runner.invoke(app, ["export", "--municipality", MUNI_A, "--kind", "ZZZZ", "--out", str(home)]).exit_code == 2


def test_municipality_add_refuses_a_bad_check_digit(home: Path) -> None:
    result = runner.invoke(app, ["municipality", "add", "112039", "誤り市", "--insurer", INSURER_A])
    assert result.exit_code == 2 and "検査数字" in result.output


def test_status_and_person_show(home: Path) -> None:
    f = home / "a.csv"
    f.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    runner.invoke(app, ["ingest", str(f)])
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and MUNI_A in status.output
    shown = runner.invoke(app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001"])
    assert shown.exit_code == 0 and "県被保険者ID 11" in shown.output
    assert runner.invoke(app, ["person", "show", "--municipality", MUNI_A, "--atena", "9"]).exit_code == 2


def test_vault_rotate_index_key(home: Path) -> None:
    f = home / "a.csv"
    f.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    runner.invoke(app, ["ingest", str(f)])
    result = runner.invoke(app, ["vault", "rotate-index-key"])
    assert result.exit_code == 0 and "v2" in result.output
    assert "検索用 v2" in runner.invoke(app, ["status"]).output


def test_synth_register_then_ingest_everything(home: Path) -> None:
    out = home / "synth"
    assert (
        runner.invoke(
            app, ["synth", "--out", str(out), "--municipalities", "2", "--persons", "200", "--days", "1", "--register"]
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["ingest", str(out)])
    assert result.exit_code == 0, result.output


def test_demo_runs_end_to_end_on_its_own_sqlite_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--home", str(tmp_path / "demo"), "--persons", "400"])
    assert result.exit_code == 0, result.output
    assert "デモ完了" in result.output and "個人番号らしき12桁: 0 件" in result.output


def test_an_unexpected_failure_is_an_incident_number_and_exit_3(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shuyaku.ingest.inbound as service
    from shuyaku.cli import main

    secret = number(42)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"driver said: value {secret} is odd")

    monkeypatch.setattr(service, "ingest_bytes", broken)
    f = home / "a.csv"
    f.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    monkeypatch.setattr("sys.argv", ["shuyaku", "ingest", str(f)])
    with pytest.raises(SystemExit) as done:
        main()
    captured = capsys.readouterr()
    assert done.value.code == 3 and "予期しないエラー" in captured.err and secret not in captured.err + captured.out
    assert "Traceback" not in captured.err and "RuntimeError" not in captured.err  # no internals on the terminal
    incident = re.search(r"障害番号 ([0-9]{14}-[0-9a-f]{6})", captured.err)
    assert incident is not None and captured.err.count("\n") == 1
    log = (home / "home" / "log" / "shuyaku.log").read_text(encoding="utf-8")
    assert f"incident {incident.group(1)}" in log and "RuntimeError" in log and secret not in log


def test_archive_purge_command(home: Path) -> None:
    result = runner.invoke(app, ["archive", "purge", "--today", "2030-01-01"])
    assert result.exit_code == 0 and "0 件" in result.output


def test_inbox_list_shows_held_files_with_their_reason(home: Path) -> None:
    gap = home / "gap.csv"
    gap.write_bytes(exchange_file("SKKS", [skks("1000000002", individual_number=number(2))], seq=3))
    runner.invoke(app, ["ingest", str(gap)])
    result = runner.invoke(app, ["inbox", "list", "--status", "held"], terminal_width=250)
    assert result.exit_code == 0 and "gap.csv" in result.output and "E005" in result.output
    assert "gap.csv" not in runner.invoke(app, ["inbox", "list", "--status", "applied"], terminal_width=250).output


def test_once_accounts_exist_every_command_runs_as_a_logged_in_user(home: Path) -> None:
    from urllib.parse import parse_qs, urlparse

    import pyotp

    added = runner.invoke(
        app, ["user", "add", "kanri", "--name", "管理 太郎", "--organisation", "国保連合会 総務課", "--role", "admin"]
    )
    assert added.exit_code == 0, added.output
    password = added.output.split("初期パスワード: ")[1].split("(")[0].strip()
    secret = parse_qs(urlparse(added.output.split("認証アプリ登録: ")[1].split()[0]).query)["secret"][0]
    refused = runner.invoke(app, ["status"])
    assert refused.exit_code == 2 and "shuyaku login" in refused.output  # setup mode is over
    wrong = runner.invoke(
        app,
        ["login", "--user", "kanri"],
        input=f"{password}\n000000\n" if pyotp.TOTP(secret).now() != "000000" else f"{password}\n111111\n",
    )
    assert wrong.exit_code == 2 and "ログインできません" in wrong.output
    new = "Renraku#2026-Soumu"
    logged_in = runner.invoke(
        app, ["login", "--user", "kanri"], input=f"{password}\n{pyotp.TOTP(secret).now()}\n{new}\n{new}\n"
    )
    assert logged_in.exit_code == 0, logged_in.output
    assert (home / "home" / "sessions").is_dir()
    assert runner.invoke(app, ["user", "list"]).exit_code == 0
    clerk = runner.invoke(
        app,
        [
            "user",
            "add",
            "madoguchi",
            "--name",
            "窓口 花子",
            "--organisation",
            "架空市 国保年金課",
            "--role",
            "municipal_clerk",
            "--municipality",
            MUNI_A,
            "--approved-by",
            "kacho",
        ],
    )
    assert clerk.exit_code == 0, clerk.output
    # An administrator sees no personal data.
    assert runner.invoke(app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001"]).exit_code == 2
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "見つかりませんでした" in verified.output
    report = runner.invoke(
        app,
        [
            "report",
            "permissions",
            "--from",
            "2026-01-01",
            "--to",
            "2030-12-31",
            "--pdf",
            str(home / "p.pdf"),
            "--csv",
            str(home / "p.csv"),
        ],
    )
    assert report.exit_code == 0 and "2 件" in report.output and (home / "p.pdf").stat().st_size > 10_000
    assert runner.invoke(app, ["user", "suspend", "madoguchi", "--reason", "異動"]).exit_code == 0
    assert runner.invoke(app, ["logout"]).exit_code == 0
    assert runner.invoke(app, ["status"]).exit_code == 2


def test_every_service_error_is_mapped_once_to_its_message_and_exit_code(home: Path) -> None:
    from shuyaku.errors import ShuyakuError

    missing = runner.invoke(app, ["continuity", "confirm", "99999"])
    assert missing.exit_code == 2 and "エラー: 候補番号 99999 はありません" in missing.output
    assert missing.exception is None or isinstance(missing.exception, SystemExit)  # no traceback, no stray exception
    bad_month = runner.invoke(app, ["tasuukai", "run", "--month", "2026"])
    assert bad_month.exit_code == 2 and "エラー:" in bad_month.output

    def leaves(cls: type) -> set[type]:
        return {cls} | {c for sub in cls.__subclasses__() for c in leaves(sub)}

    import shuyaku.cli  # noqa: F401 — every module with an error class is imported by now
    from shuyaku.access.actor import AccessDenied
    from shuyaku.exchange.outbox import OutboxBlocked

    assert {AccessDenied, OutboxBlocked} <= leaves(ShuyakuError)
    assert (AccessDenied.exit_code, AccessDenied.http_status) == (2, 403)
    assert (OutboxBlocked.exit_code, OutboxBlocked.http_status) == (1, 409)


def test_version_and_ordinary_mistakes_answer_in_japanese_without_a_traceback(home: Path, tmp_path: Path) -> None:
    from shuyaku import __version__

    shown = runner.invoke(app, ["--version"])
    assert shown.exit_code == 0 and shown.output.strip() == f"shuyaku {__version__}"
    missing = runner.invoke(app, ["kogaku", "calc", str(tmp_path / "case.json")])
    assert missing.exit_code == 2 and "ファイルまたはフォルダがありません" in missing.output
    assert "No such file" not in missing.output and "Traceback" not in missing.output
    slashed = runner.invoke(
        app, ["report", "permissions", "--from", "2026/11/01", "--to", "2026-11-30", "--csv", str(tmp_path / "p.csv")]
    )
    assert slashed.exit_code == 2 and "--from は YYYY-MM-DD" in slashed.output and "2026/11/01" in slashed.output
    assert "Invalid isoformat" not in slashed.output and not (tmp_path / "p.csv").exists()

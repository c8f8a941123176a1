"""The first hour of a new user: natural mistakes, one language, one clock, listings.

Each mistake is answered with exit 2, one Japanese line that names the option (or file) and
the form it expects, no traceback, and nothing written."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from shuyaku.cli import app
from shuyaku.cli.japanese import exit_codes
from tests.builders import MUNI_A, exchange_file, number, skks

runner = CliRunner()
ENGLISH = re.compile(
    r"Usage:|Options|Arguments|Commands|Show this message|\[required\]|<bool>|<str>|<int>|\bTEXT\b|"
    r"\bINTEGER\b|No such|Missing|Invalid|Error:|Try '|Aborted|Got unexpected"
)


def _refused(args: list[str], *expected: str) -> str:
    result = runner.invoke(app, args)
    said = result.output
    assert result.exit_code == 2, (args, result.exit_code, said)
    assert "Traceback" not in said and not ENGLISH.search(said), said
    assert said.startswith("エラー: ") and all(e in said for e in expected), said
    return said


def _commands(command: Any, path: list[str]) -> list[tuple[list[str], bool]]:
    subcommands = getattr(command, "commands", {})
    found = [(path, bool(subcommands))]
    for name, sub in subcommands.items():
        found += _commands(sub, [*path, name])
    return found


def test_every_help_page_is_japanese_and_lists_its_exit_codes() -> None:
    import typer

    every = _commands(typer.main.get_command(app), [])
    assert len(every) > 50
    for path, group in every:
        result = runner.invoke(app, [*path, "--help"], prog_name="shuyaku")
        page = result.output
        assert result.exit_code == 0 and page.startswith("使い方: shuyaku"), (path, page)
        assert not ENGLISH.search(page), (path, ENGLISH.search(page), page)
        assert "この説明を表示して終わる" in page
        assert bool(re.search(r"^終了コード$", page, flags=re.MULTILINE)) != group, (path, page)
        for code in () if group else exit_codes(" ".join(path)):
            assert re.search(rf"^\s+{code}\s", page, flags=re.MULTILINE), (path, code, page)


def test_usage_mistakes_are_one_japanese_line_naming_the_option() -> None:
    _refused(["person", "show", "--bogus"], "--bogus というオプションはありません")
    _refused(["persn"], "persn というコマンドはありません", "person")
    _refused(["person", "show", "--atena", "1"], "--municipality を指定してください")
    _refused(["synth", "--out", "x", "--persons", "many"], "--persons の値が正しくありません", "整数")
    _refused(["continuity", "confirm", "1", "2"], "余分な引数があります: 2")
    _refused(["continuity", "list", "--format", "xml"], "--format", "table|csv|json")


def test_input_mistakes_name_the_option_and_write_nothing(home: Path) -> None:
    out = home / "synth-out"
    _refused(["synth", "--out", str(out), "--claims-month", "2026-13"], "--claims-month", "YYYYMM", "2026-13")
    assert not out.exists()  # nothing written: the month is checked before the first file
    _refused(["synth", "--out", str(out), "--persons", "0"], "--persons は1以上")
    blocker = home / "a-file"
    blocker.write_text("x", encoding="utf-8")
    _refused(["synth", "--out", str(blocker / "sub")], "--out", "フォルダを作れません")
    _refused(["export", "--kind", "KKKK", "--out", str(blocker)], "--out")
    _refused(
        ["person", "show", "--municipality", MUNI_A, "--atena", "1", "--as-known-at", "2026/01/01"], "--as-known-at"
    )
    _refused(["report", "access-review", "--from", "2026/11/01", "--to", "2026-11-30", "--csv", "r.csv"], "--from")
    _refused(["report", "access-review", "--from", "2026-11-30", "--to", "2026-11-01", "--csv", "r.csv"], "--to")
    missing = home / "no-such-folder"
    _refused(
        ["report", "access-review", "--from", "2026-11-01", "--to", "2026-11-30", "--csv", str(missing / "r.csv")],
        "--csv",
        "がありません",
    )
    assert not missing.exists()  # no folder is made silently
    _refused(["kogaku", "calc", str(home / "case.json")], "ファイルまたはフォルダがありません")
    _refused(["tasuukai", "run", "--month", "26-11"], "--month", "YYYYMM")
    _refused(["archive", "purge", "--today", "tomorrow"], "--today", "YYYY-MM-DD")


def test_a_month_is_accepted_with_or_without_the_dash(home: Path) -> None:
    for month in ("202611", "2026-11"):
        result = runner.invoke(app, ["tasuukai", "run", "--month", month])
        assert result.exit_code == 0 and "202611" in result.output, result.output
    listed = runner.invoke(app, ["tasuukai", "list", "--month", "2026-11"])
    assert listed.exit_code == 0 and "202611 の回数の記録はありません" in listed.output


def _ingest_one(home: Path) -> None:
    f = home / "a.csv"
    f.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    assert runner.invoke(app, ["ingest", str(f)]).exit_code == 0


def test_listings_parse_as_csv_and_json_and_times_are_japan_time(home: Path) -> None:
    _ingest_one(home)
    before = datetime.now(UTC)
    for args in (
        ["inbox", "list"],
        ["municipality", "list"],
        ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001"],
        ["continuity", "list"],
        ["tasuukai", "list", "--month", "202611"],
        ["user", "list"],
        ["token", "list"],
    ):
        as_csv = runner.invoke(app, [*args, "--format", "csv"])
        as_json = runner.invoke(app, [*args, "--format", "json"])
        assert as_csv.exit_code == 0 and as_json.exit_code == 0, (args, as_csv.output, as_json.output)
        table = list(csv.reader(io.StringIO(as_csv.output)))
        listing = json.loads(as_json.output)
        assert isinstance(listing, list) and len(table) == len(listing) + 1, args
        assert all(len(row) == len(table[0]) for row in table)
    person = json.loads(
        runner.invoke(
            app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001", "--format", "json"]
        ).output
    )
    shown = person[0]["recorded_at"]
    assert shown.endswith("+09:00")
    moment = datetime.strptime(shown.replace("+09:00", "+0900"), "%Y-%m-%d %H:%M%z")
    assert abs(moment - before) < timedelta(minutes=2)  # the same instant, written in JST
    files = json.loads(runner.invoke(app, ["inbox", "list", "--format", "json"]).output)
    assert files[0]["received_at"].endswith("+09:00") and files[0]["status"] == "反映"


def test_status_names_its_keys_in_japanese(home: Path) -> None:
    said = runner.invoke(app, ["status"]).output
    assert "鍵の版: 検索用 v1、封印 v1、受信ファイル保管 v1、利用者の二要素認証 v1" in said and "index" not in said


def test_empty_results_say_why(home: Path) -> None:
    _ingest_one(home)
    result = runner.invoke(app, ["continuity", "list", "--status", "提案"])
    assert result.exit_code == 0 and "候補はありません" in result.output
    early = runner.invoke(
        app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001", "--as-known-at", "2020-01-01"]
    )
    assert early.exit_code == 0 and "2020-01-01 23:59+09:00 の時点で把握していた資格の記録はありません" in early.output
    counts = runner.invoke(app, ["tasuukai", "list", "--month", "202611"])
    assert "まだ実行していない" in counts.output


def test_a_file_with_a_quarantined_record_is_partly_applied_and_exits_1(home: Path) -> None:
    f = home / "mixed.csv"
    good = [skks(f"10000000{i:02d}", individual_number=number(i)) for i in range(1, 40)]
    bad = skks("1000000099", individual_number=number(99))
    bad[17] = "9"  # 性別コード: no such code (E012)
    f.write_bytes(exchange_file("SKKS", [*good, bad]))
    result = runner.invoke(app, ["ingest", str(f)])
    assert result.exit_code == 1, result.output
    assert "一部反映" in result.output and "E012" in result.output
    files = json.loads(runner.invoke(app, ["inbox", "list", "--format", "json"]).output)
    assert files[0]["status"] == "一部反映" and files[0]["errors"] == 1


def test_continuity_show_names_the_candidate_or_says_it_does_not_exist(home: Path) -> None:
    result = runner.invoke(app, ["continuity", "show", "999"])
    assert result.exit_code == 2 and "候補番号 999 はありません" in result.output


def test_tasuukai_explain_as_json_and_csv(home: Path) -> None:
    from tests.builders import kggt, kggt_file, skse

    files = {
        "s.csv": exchange_file("SKSE", [skse("2000000001", applied_from="20250101", change_date="20250101")]),
        "p.csv": exchange_file(
            "SKKS",
            [skks("1000000001", individual_number=number(1), qualified_from="20250101", applied_from="20250101")],
        ),
        "k.csv": kggt_file([kggt("2000000001", m) for m in ("202603", "202605")]),
    }
    for name, raw in files.items():
        (home / name).write_bytes(raw)
        assert runner.invoke(app, ["ingest", str(home / name)]).exit_code == 0, name
    person = runner.invoke(
        app, ["person", "show", "--municipality", MUNI_A, "--atena", "1000000001", "--format", "json"]
    )
    household = json.loads(person.output)[0]["pref_household_id"]
    explain = ["tasuukai", "explain", "--household", household]
    whole = json.loads(runner.invoke(app, [*explain, "--month", "2026-07", "--format", "json"]).output)
    assert whole["household"] == household and whole["hit_count"] == 2 and whole["tasuukai"] is False
    as_csv = runner.invoke(app, [*explain, "--month", "202607", "--format", "csv"])
    rows = list(csv.reader(io.StringIO(as_csv.output)))
    assert rows[0][0] == "診療年月" and sorted(r[0] for r in rows[1:]) == ["202603", "202605"]

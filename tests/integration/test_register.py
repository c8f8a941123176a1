"""The register of personal-information work: versions and "as registered on", a
reorganisation, the yearly report row by row, the comparison, destruction dates, the
個人情報ファイル簿, shuyaku's own registration, and who may do what."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from shuyaku.access.actor import AccessDenied, Actor
from shuyaku.db.schema import audit_event, registration_version
from shuyaku.errors import NotFoundError
from shuyaku.register import service
from shuyaku.register.model import RegisterError, Registration

CLERK = Actor("jimukyoku", "register_clerk")
AUDITOR = Actor("kansa", "auditor")
KOKUHO_STAFF = Actor("kokuho-1", "department_staff", unit="kokuho")
FUKUSHI_STAFF = Actor("fukushi-1", "department_staff", unit="fukushi")


def _registration(**changed: object) -> Registration:
    base: dict[str, object] = {
        "name": "国民健康保険の資格管理",
        "purpose": "国民健康保険の被保険者の資格を管理するため",
        "basis": "国民健康保険法",
        "subjects": "被保険者及び世帯主",
        "items": ["氏名", "住所", "生年月日", "性別", "個人番号"],
        "sources": ["本人", "住民基本台帳"],
        "retention_years": 5,
        "started_on": "2016-04-01",
    }
    return Registration.from_mapping({**base, **changed})


@pytest.fixture
def register(ctx):  # type: ignore[no-untyped-def]
    for code, name in (("kokuho", "国保課"), ("hoken", "保険年金課"), ("fukushi", "福祉課")):
        service.add_unit(ctx, CLERK, code, name, date(2016, 4, 1))
    service.add(ctx, CLERK, "K-001", "kokuho", _registration(), date(2016, 4, 1), "新規登録")
    return ctx


def test_every_change_is_a_version_and_any_day_answers_as_registered_then(register) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    more = _registration(items=["氏名", "住所", "生年月日", "性別", "個人番号", "所得・課税"])
    _, changed = service.change(ctx, CLERK, "K-001", more, date(2026, 6, 1), "所得区分の判定に所得を追加")
    assert changed == [("個人情報の項目", "削除: なし", "追加: 所得・課税")]
    service.abolish(ctx, CLERK, "K-001", date(2026, 12, 1), "事務の移管")
    assert len(service.show(ctx, CLERK, "K-001", date(2020, 1, 1)).registration.items) == 5
    assert "所得・課税" in service.show(ctx, CLERK, "K-001", date(2026, 7, 1)).registration.items
    latest = service.show(ctx, CLERK, "K-001")
    assert latest.abolished and latest.registration.abolished_on == "2026-12-01"
    assert [v.kind for v in latest.history] == ["追加", "修正", "廃止"]
    with pytest.raises(NotFoundError, match="まだ登録されていません"):
        service.show(ctx, CLERK, "K-001", date(2015, 1, 1))
    with ctx.engine.connect() as conn:  # nothing overwritten: three rows, the first as it was
        rows = conn.execute(select(registration_version).order_by(registration_version.c.version_no)).all()
    assert [r.version_no for r in rows] == [1, 2, 3] and "所得・課税" not in rows[0].content
    assert [e.reg_no for e in service.entries(ctx, CLERK, date(2026, 7, 1))] == ["K-001"]
    assert service.entries(ctx, CLERK) == []  # abolished: listed only when asked
    with pytest.raises(Exception, match="廃止"):
        service.change(ctx, CLERK, "K-001", _registration(), date(2027, 1, 1), "再開")


def test_a_reorganisation_moves_the_registrations_to_the_successor_and_keeps_both_names(register) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    moved = service.reorganise(ctx, CLERK, "kokuho", "hoken", date(2026, 10, 1), "組織改正(国保課を保険年金課に統合)")
    assert moved == ["K-001"]
    now = service.show(ctx, CLERK, "K-001")
    assert now.version.unit_code == "hoken" and now.unit == "保険年金課(旧 国保課)"
    assert service.show(ctx, CLERK, "K-001", date(2026, 9, 30)).version.unit_code == "kokuho"
    with pytest.raises(RegisterError, match="廃止されています"):
        service.add(ctx, CLERK, "K-002", "kokuho", _registration(name="別の業務"), date(2026, 11, 1), "新規")
    # The successor's staff now read it; the abolished unit's staff no longer do.
    assert service.show(ctx, Actor("hoken-1", "department_staff", unit="hoken"), "K-001").reg_no == "K-001"
    with pytest.raises(NotFoundError):
        service.show(ctx, KOKUHO_STAFF, "K-001")


def test_the_yearly_report_lists_additions_item_level_changes_abolitions_and_approvals(register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    service.change(
        ctx,
        CLERK,
        "K-001",
        _registration(items=["氏名", "住所", "生年月日", "個人番号"]),
        date(2026, 5, 1),
        "性別は不要",
    )
    provided = {"party": "県", "content": "被保険者数", "basis": "条例第8条", "approved_on": "2026-07-01"}
    service.add(
        ctx,
        CLERK,
        "F-001",
        "fukushi",
        _registration(name="福祉医療の給付", provisions=[provided], started_on="2026-06-01"),
        date(2026, 6, 1),
        "新規登録",
    )
    service.abolish(ctx, CLERK, "F-001", date(2027, 3, 31), "制度の廃止")
    service.change(ctx, CLERK, "K-001", _registration(subjects="被保険者"), date(2027, 4, 1), "翌年度の修正")
    report, files = service.write_year_report(
        ctx, AUDITOR, 2026, pdf_path=tmp_path / "r.pdf", csv_path=tmp_path / "r.csv"
    )
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["区分", "登録番号", "業務の名称", "担当課", "日付", "内容"]
    assert rows[1:] == [
        [
            "追加",
            "F-001",
            "福祉医療の給付",
            "福祉課",
            "令和8年6月1日",
            "目的: 国民健康保険の被保険者の資格を管理するため",
        ],
        [
            "修正",
            "K-001",
            "国民健康保険の資格管理",
            "国保課",
            "令和8年5月1日",
            "個人情報の項目: 削除: 性別 → 追加: なし",
        ],
        [
            "廃止",
            "F-001",
            "福祉医療の給付",
            "福祉課",
            "令和9年3月31日",
            "制度の廃止(記録は保存年限 5年まで保存し、その後廃棄)",
        ],
        [
            "目的外利用・外部提供の承認",
            "F-001",
            "福祉医療の給付",
            "福祉課",
            "令和8年7月1日",
            "外部提供 県: 被保険者数(根拠 条例第8条)",
        ],
    ]  # the change of 2027-04-01 belongs to the next 年度
    text = "\n".join(p.get_textpage().get_text_range() for p in pdfium.PdfDocument(str(tmp_path / "r.pdf")))
    assert "令和8年度 個人情報取扱業務登録の報告" in text and "令和8年4月1日" in text and "削除: 性別" in text
    assert len(files) == 2 and report.fiscal_year == 2026


def test_registrations_of_the_same_work_in_two_departments_are_set_side_by_side(register) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    service.add(
        ctx,
        CLERK,
        "F-001",
        "fukushi",
        _registration(name="国民健康保険資格の管理", items=["氏名", "住所"]),
        date(2020, 4, 1),
        "新規登録",
    )
    service.add(
        ctx,
        CLERK,
        "F-002",
        "fukushi",
        _registration(name="予防接種の記録", purpose="予防接種の実施記録のため"),
        date(2020, 4, 1),
        "新規登録",
    )
    [pair] = service.compare(ctx, AUDITOR)
    assert {pair.left.reg_no, pair.right.reg_no} == {"K-001", "F-001"}
    left, right = (
        (pair.only_left, pair.only_right) if pair.left.reg_no == "K-001" else (pair.only_right, pair.only_left)
    )
    assert left == ["生年月日", "性別", "個人番号"] and right == [] and pair.common == ["氏名", "住所"]


def test_the_destruction_list_turns_on_the_retention_boundary(register) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    service.abolish(ctx, CLERK, "K-001", date(2024, 3, 31), "事務の終了")  # 保存年限 5年 → 2029-03-31
    [due] = service.destruction(ctx, AUDITOR, date(2028, 3, 30))
    assert due.due_on == date(2029, 3, 31) and not due.due_within(date(2028, 3, 30))
    assert due.due_within(date(2028, 3, 31)) and due.due_within(date(2030, 1, 1))


def test_the_file_register_holds_no_one_s_personal_data(register, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = service.file_register(register, AUDITOR, "架空県国民健康保険団体連合会")
    assert rows == [
        [
            "国民健康保険の資格管理",
            "架空県国民健康保険団体連合会 国保課",
            "国民健康保険の被保険者の資格を管理するため",
            "氏名、住所、生年月日、性別、個人番号",
            "被保険者及び世帯主",
            "本人、住民基本台帳",
            "含まない",
            "なし",
            "5年",
            "K-001",
        ]
    ]
    assert len(service.FILE_REGISTER_COLUMNS) == len(rows[0])


def test_sensitive_items_must_be_declared_and_the_form_is_checked() -> None:
    with pytest.raises(RegisterError, match="要配慮"):
        _registration(items=["氏名", "健康・医療"])
    assert _registration(items=["氏名", "健康・医療"], sensitive=True).sensitive
    with pytest.raises(RegisterError, match="知らない項目"):
        Registration.from_mapping({"name": "x", "colour": "red"})
    with pytest.raises(RegisterError, match="保存年限"):
        _registration(retention_years=0)
    from tests.builders import number

    typed = _registration(purpose=f"資格管理(例 {number(7)})", sources=["本人", number(8)])
    assert number(7) not in typed.to_json() and number(8) not in typed.to_json()  # never published


def test_roles_the_clerk_edits_auditors_read_all_a_department_reads_its_own(register) -> None:  # type: ignore[no-untyped-def]
    ctx = register
    service.add(ctx, CLERK, "F-001", "fukushi", _registration(name="福祉医療の給付"), date(2020, 4, 1), "新規登録")
    assert [e.reg_no for e in service.entries(ctx, AUDITOR)] == ["F-001", "K-001"]
    assert [e.reg_no for e in service.entries(ctx, KOKUHO_STAFF)] == ["K-001"]
    with pytest.raises(NotFoundError):  # another unit's entry does not exist for them
        service.show(ctx, FUKUSHI_STAFF, "K-001")
    for stranger in (KOKUHO_STAFF, AUDITOR, Actor("op", "federation_operator"), Actor("adm", "admin")):
        with pytest.raises(AccessDenied):
            service.change(ctx, stranger, "K-001", _registration(subjects="被保険者"), date(2026, 1, 1), "変更")
    with pytest.raises(AccessDenied):
        service.entries(ctx, Actor("op", "federation_operator"))
    with ctx.engine.connect() as conn:
        events = conn.execute(select(audit_event).order_by(audit_event.c.seq)).all()
    actions = [(e.actor, e.action, e.outcome) for e in events]
    assert ("jimukyoku", "register.add", "ok") in actions and ("kokuho-1", "register.change", "denied") not in actions
    assert ("kokuho-1", "register.edit", "denied") in actions and ("fukushi-1", "register.read", "denied") in actions


def test_shuyakus_own_registration_comes_from_its_data_inventory() -> None:
    from shuyaku.register import own

    made = own.registration(["111015", "111082"], "2026-04-01", "架空電算株式会社")
    held = {c for categories in own.PERSONAL_STORES.values() for c in categories}
    assert set(made.items) == held and "個人番号" in made.items and made.sensitive  # RECE: 健康・医療
    assert made.sources == ("111015", "111082")
    assert all("個人番号を含まない" in p.content for p in made.provisions)
    assert [e.contractor for e in made.entrustments] == ["架空電算株式会社"]


def test_the_data_inventory_and_the_registrations_source_name_the_same_stores() -> None:
    import re

    from shuyaku.register import own

    text = (Path(__file__).resolve().parents[2] / "docs" / "data-inventory.md").read_text(encoding="utf-8")
    personal = text.partition("## 1.")[2].partition("## 3.")[0]
    named = set()
    for line in personal.splitlines():
        if line.startswith("| `"):
            named |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    assert named == set(own.PERSONAL_STORES), sorted(named ^ set(own.PERSONAL_STORES))


def test_the_register_commands(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from shuyaku.cli import app

    run = CliRunner().invoke
    monkeypatch.setenv("SHUYAKU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHUYAKU_DATABASE_URL", database_url)
    assert run(app, ["init", "--prefecture", "11"]).exit_code == 0
    assert run(app, ["municipality", "add", "111015", "架空市", "--insurer", "110015"]).exit_code == 0
    assert run(app, ["register", "unit", "add", "kokuho", "国保課", "--established", "2016-04-01"]).exit_code == 0
    case = tmp_path / "k.json"
    case.write_text(_registration().to_json(), encoding="utf-8")
    added = run(app, ["register", "add", "K-001", "--unit", "kokuho", "--file", str(case), "--effective", "2016-04-01"])
    assert added.exit_code == 0, added.output
    changed = run(
        app,
        [
            "register",
            "change",
            "K-001",
            "--set",
            "retention_years=10",
            "--reason",
            "条例改正",
            "--effective",
            "2026-04-01",
        ],
    )
    assert changed.exit_code == 0 and "保存年限" in changed.output and "10年" in changed.output, changed.output
    then = json.loads(run(app, ["register", "show", "K-001", "--as-of", "2020-01-01", "--format", "json"]).output)
    assert then["retention_years"] == 5 and [h["kind"] for h in then["history"]] == ["追加"]
    listed = json.loads(run(app, ["register", "list", "--format", "json"]).output)
    assert [r["reg_no"] for r in listed] == ["K-001"]
    own = run(app, ["register", "own", "--unit", "kokuho", "--effective", "2026-04-01"])
    assert own.exit_code == 0 and "SHUYAKU-1" in own.output, own.output
    assert "一致しています" in run(app, ["register", "own", "--unit", "kokuho"]).output
    report = run(app, ["register", "report", "--fiscal-year", "2026", "--csv", str(tmp_path / "r.csv")])
    assert report.exit_code == 0 and "追加 1、修正 1" in report.output, report.output
    published = run(app, ["register", "publish", "--csv", str(tmp_path / "f.csv")])
    assert published.exit_code == 0 and "2 件" in published.output
    text = (tmp_path / "f.csv").read_text(encoding="utf-8-sig")
    assert "国民健康保険 情報集約" in text and "含む" in text and "111015" in text
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    refused = run(app, ["register", "add", "K-002", "--unit", "kokuho", "--file", str(broken)])
    assert refused.exit_code == 2 and "JSON として読めません" in refused.output
    missing = run(app, ["register", "add", "K-002", "--unit", "kokuho", "--file", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "ファイルまたはフォルダがありません" in missing.output

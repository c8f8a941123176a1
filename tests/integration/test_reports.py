"""帳票: the permission-change report and the access review, as PDF and CSV.

The PDF is checked as a reader would: its text (extracted) has the user IDs, names, the
和暦 作成日, the total and 以下余白, and a page rendered to an image has Japanese glyphs
drawn (ink where the title is), with the Japanese font embedded.
"""

from __future__ import annotations

import csv
from datetime import date

import pypdfium2 as pdfium
import pytest

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.qualification.service import lookup_person
from shuyaku.reports import service as reports
from tests.builders import MUNI_A, MUNI_B, exchange_file, number, skks
from tests.integration.helpers import ingest

SETUP = Actor("setup:root", "system")
ADMIN = Actor("admin-1", "admin")
AUDITOR = Actor("kansa-1", "auditor")


def _changes(ctx) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user(
        ctx, SETUP, "tanaka", "田中 花子", "架空市 国保年金課", "municipal_clerk", [MUNI_A], approved_by="kacho"
    )
    accounts.add_user(ctx, SETUP, "watanabe", "渡辺 健", "国保連合会 電算処理課", "federation_operator")
    accounts.set_role(ctx, ADMIN, "tanaka", "municipal_supervisor", [MUNI_A], approved_by="kacho", reason="係長昇任")
    accounts.suspend(ctx, ADMIN, "watanabe", reason="人事異動")


def _pdf_text(path) -> str:  # type: ignore[no-untyped-def]
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_the_permission_report_lists_every_change_with_ids_names_and_renders_japanese(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _changes(ctx)
    done = reports.permissions(
        ctx, AUDITOR, date(2026, 11, 1), date(2026, 11, 30), pdf_path=tmp_path / "p.pdf", csv_path=tmp_path / "p.csv"
    )
    assert done.rows == 4
    text = _pdf_text(tmp_path / "p.pdf").replace("\r", "")
    for expected in (
        "利用者権限変更一覧",
        "作成日 令和8年11月27日",
        "対象期間 令和8年11月1日 〜 令和8年11月30日",
        "tanaka",
        "田中 花子",
        "watanabe",
        "渡辺 健",
        "新規登録",
        "役割変更",
        "利用停止",
        "係長昇任",
        "kacho",
        "合計 4 件",
        "以下余白",
    ):
        assert expected in text, expected
    page = pdfium.PdfDocument(str(tmp_path / "p.pdf"))[0]
    width, height = page.get_size()
    assert width > height  # A4 landscape
    image = page.render(scale=2).to_pil().convert("L")
    title_band = image.crop((int(image.width * 0.35), 0, int(image.width * 0.65), int(image.height * 0.09)))
    assert sum(title_band.histogram()[:128]) > 500  # the title's glyphs are drawn, not blank boxes
    assert b"IPAexGothic" in (tmp_path / "p.pdf").read_bytes() or b"IPAex" in (tmp_path / "p.pdf").read_bytes()
    rows = list(csv.reader((tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:4] == ["No", "変更日時", "区分", "利用者ID"]
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [
        ("新規登録", "tanaka", "田中 花子"),
        ("新規登録", "watanabe", "渡辺 健"),
        ("役割変更", "tanaka", "田中 花子"),
        ("利用停止", "watanabe", "渡辺 健"),
    ]


def test_the_access_review_lists_off_hours_refusals_and_exports(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    night_clerk = Actor("yoru", "municipal_clerk", frozenset({MUNI_A}))
    lookup_person(ctx, night_clerk, MUNI_A, "1000000001")  # 09:00 JST: within hours
    ctx.clock.advance(hours=12)
    lookup_person(ctx, night_clerk, MUNI_A, "1000000001")  # 21:00 JST: off hours
    with pytest.raises(PermissionError):
        lookup_person(ctx, Actor("tonari", "municipal_clerk", frozenset({MUNI_B})), MUNI_A, "1000000001")
    done = reports.access_review(
        ctx, AUDITOR, date(2026, 11, 27), date(2026, 11, 27), pdf_path=tmp_path / "r.pdf", csv_path=tmp_path / "r.csv"
    )
    rows = list(csv.reader((tmp_path / "r.csv").read_text(encoding="utf-8-sig").splitlines()))
    sections = {(r[0].split("(")[0], r[2], r[5]) for r in rows[1:]}
    assert ("担当外・権限外のアクセス", "tonari", "被保険者の照会") in sections
    night = [r for r in rows[1:] if r[0].startswith("時間外")]
    assert [(r[1][11:16], r[2]) for r in night] == [("21:00", "yoru")]
    assert done.rows == len(rows) - 1
    text = _pdf_text(tmp_path / "r.pdf")
    assert "アクセス記録点検表" in text and "tonari" in text and "以下余白" in text
    assert number(1) not in text and number(1) not in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")


def test_the_bundled_font_is_used_without_any_os_font_and_an_override_must_exist(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.reports import pdf

    monkeypatch.delenv("SHUYAKU_REPORT_FONT", raising=False)
    assert pdf.font_path() == pdf.BUNDLED_FONT and pdf.BUNDLED_FONT.stat().st_size > 1_000_000
    assert (
        (pdf.BUNDLED_FONT.parent / "IPA_Font_License_Agreement_v1.0.txt")
        .read_text(encoding="utf-8")
        .startswith("IPAフォントライセンス")
    )
    monkeypatch.setenv("SHUYAKU_REPORT_FONT", str(tmp_path / "missing.ttf"))
    with pytest.raises(pdf.FontMissing, match="SHUYAKU_REPORT_FONT"):
        pdf.font_path()

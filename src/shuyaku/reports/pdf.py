"""帳票 as PDF: A4 landscape, a Japanese TrueType font embedded (subset), 作成日 in 和暦,
a header on every page, page numbers, the total and 「以下余白」 after the last row."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from shuyaku.errors import Unavailable
from shuyaku.files import replace_private
from shuyaku.text import wareki

FONT = "ShuyakuGothic"
# IPAex ゴシック (TrueType outlines, embeddable), shipped inside the package under the IPA
# Font License v1.0 (reports/fonts/README.md): no OS font package is needed.
BUNDLED_FONT = Path(__file__).parent / "fonts" / "ipaexg.ttf"


class FontMissing(Unavailable, RuntimeError):
    pass


def font_path() -> Path:
    configured = os.environ.get("SHUYAKU_REPORT_FONT")
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        raise FontMissing(
            f"SHUYAKU_REPORT_FONT のフォント {configured} がありません(TrueType の .ttf を指定してください)"
        )
    if BUNDLED_FONT.is_file():
        return BUNDLED_FONT
    raise FontMissing(
        f"同梱の帳票用フォント {BUNDLED_FONT} がありません。パッケージを入れ直すか、"
        "SHUYAKU_REPORT_FONT に TrueType フォント(.ttf)を指定してください"
    )


def _register() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(font_path())))


@dataclass(frozen=True)
class Document:
    title: str
    created_on: date
    period: tuple[date, date]
    created_by: str
    columns: Sequence[str]
    widths: Sequence[float]  # mm
    rows: Sequence[Sequence[str]]
    sections: Sequence[tuple[str, Sequence[Sequence[str]]]] = ()  # extra titled tables with the same columns


def write(doc: Document, path: Path) -> Path:
    """Write the PDF atomically (a temporary name, then rename)."""
    _register()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5, wordWrap="CJK")
    head = ParagraphStyle("head", parent=cell, textColor=colors.white)
    note = ParagraphStyle("note", fontName=FONT, fontSize=9, leading=12)

    def table(rows: Sequence[Sequence[str]]) -> LongTable:
        data = [[Paragraph(c, head) for c in doc.columns]] + [[Paragraph(_escape(v), cell) for v in r] for r in rows]
        t = LongTable(data, colWidths=[w * mm for w in doc.widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#34495e")),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f5f7")]),
                ]
            )
        )
        return t

    story: list[object] = []
    if doc.sections:
        for heading, rows in doc.sections:
            story += [
                Paragraph(f"■ {heading}({len(rows)} 件)", note),
                Spacer(1, 2 * mm),
                table(rows) if rows else Paragraph("該当なし", note),
                Spacer(1, 5 * mm),
            ]
        total = sum(len(r) for _, r in doc.sections)
    else:
        story.append(table(doc.rows))
        total = len(doc.rows)
    story += [Spacer(1, 3 * mm), Paragraph(f"合計 {total:,} 件", note), Spacer(1, 2 * mm), Paragraph("以下余白", note)]

    def decorate(canvas: Canvas, template: SimpleDocTemplate) -> None:
        width, height = landscape(A4)
        canvas.saveState()
        canvas.setFont(FONT, 15)
        canvas.drawCentredString(width / 2, height - 14 * mm, doc.title)
        canvas.setFont(FONT, 9)
        canvas.drawRightString(width - 12 * mm, height - 12 * mm, f"作成日 {wareki(doc.created_on)}")
        canvas.drawRightString(width - 12 * mm, height - 17 * mm, f"作成者 {doc.created_by}")
        canvas.drawString(12 * mm, height - 17 * mm, f"対象期間 {wareki(doc.period[0])} 〜 {wareki(doc.period[1])}")
        canvas.drawCentredString(width / 2, 8 * mm, f"{canvas.getPageNumber()} ページ")
        canvas.restoreState()

    template = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=24 * mm,
        bottomMargin=15 * mm,
        title=doc.title,
        author="shuyaku",
    )
    template.build(story, onFirstPage=decorate, onLaterPages=decorate)
    replace_private(path, buffer.getvalue())
    return path


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

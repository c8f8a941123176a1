"""Option types shared by several commands: one spelling, one help text."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Month = Annotated[str, typer.Option(help="診療年月 YYYYMM または YYYY-MM")]
LoginId = Annotated[str, typer.Argument(help="ログインID")]
ApprovedBy = Annotated[str | None, typer.Option(help="承認者のログインID")]
FromDate = Annotated[str, typer.Option("--from", help="期間の始め YYYY-MM-DD")]
ToDate = Annotated[str, typer.Option("--to", help="期間の終わり YYYY-MM-DD")]
PdfOut = Annotated[Path | None, typer.Option(help="PDF の出力先")]
CsvOut = Annotated[Path | None, typer.Option("--csv", help="CSV の出力先")]
Municipality = Annotated[str | None, typer.Option(help="市町村コード")]

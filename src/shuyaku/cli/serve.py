"""`shuyaku serve`: the REST API on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.base import _context, app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="待ち受けるアドレス(既定はこの機械の中だけ)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="ポート番号")] = 8000,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS のサーバー証明書(PEM)。逆プロキシで終端するときは不要")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS の秘密鍵(PEM)")] = None,
    proxy: Annotated[
        str | None, typer.Option(help="X-Forwarded-For を信じる逆プロキシのアドレス(例 127.0.0.1)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="サーバーのプロセス数(CPU の数まで)")] = 1,
) -> None:
    """REST API(/api/v1)を起動する。Ctrl-C で止める。"""
    import uvicorn

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("--ssl-certfile と --ssl-keyfile は両方指定してください")
    _context()  # the installation must be there before any process starts
    scheme = "https" if ssl_certfile else "http"
    console.print(f"API: {scheme}://{host}:{port}/api/v1 (OpenAPI: /api/v1/openapi.json)", markup=False)
    console.print(f"画面: {scheme}://{host}:{port}/login", markup=False)
    uvicorn.run(
        "shuyaku.web.app:served_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        proxy_headers=proxy is not None,
        forwarded_allow_ips=proxy,
        server_header=False,
        log_level="info",
    )

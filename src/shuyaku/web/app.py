"""The ASGI application: ``create_app(ctx)`` for tests, ``shuyaku serve`` for a server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shuyaku.audit.verify import seal_tail
from shuyaku.context import Context
from shuyaku.web import api, problems, screens

log = logging.getLogger("shuyaku.web")

# Every response: nothing cached on the way, nothing sniffed, framed or referred. The API
# serves JSON and files only, so its Content-Security-Policy allows nothing at all; the
# screens load their own style sheets and nothing else — no script, no inline style.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SCREEN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
THREADS = 8  # request threads per server process (anyio's default is 40)
STATIC = Path(__file__).parent / "static"
FONT = Path(__file__).resolve().parent.parent / "reports" / "fonts" / "ipaexg.ttf"


class SecurityHeaders:
    """The headers above on every answer (a plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` costs a task and a stream copy per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", API_CSP if path.startswith("/api/") else SCREEN_CSP)
                if path.startswith("/static/"):
                    headers["Cache-Control"] = "public, max-age=3600"  # style sheets and the font only
            await send(message)

        await self.app(scope, receive, sending)


def create_app(ctx: Context, *, seal_every: float = 60.0) -> FastAPI:
    """The API over ``ctx``. While it runs, the access log's tail is signed every
    ``seal_every`` seconds (and once at shutdown), so a cut tail breaks a signed root."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests run in worker threads that share one interpreter lock: more threads than
        # the database can serve at once only queue for the lock (and for pool connections).
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS

        async def sealer() -> None:
            while True:
                await asyncio.sleep(seal_every)
                try:
                    await run_in_threadpool(seal_tail, ctx)
                except Exception:  # noqa: BLE001 — the next minute tries again; the failure is logged
                    log.exception("signing the access log's tail failed")

        task = asyncio.create_task(sealer())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(seal_tail, ctx)

    app = FastAPI(
        lifespan=lifespan,
        title="shuyaku API",
        version="1",
        summary="国保情報集約システム: 市町村の国保システムからのファイル送受信・照会",
        description=api.DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN; the OpenAPI document is enough
        redoc_url=None,
    )
    app.state.ctx = ctx

    def openapi() -> dict[str, Any]:
        """FastAPI's document, with every 4xx answer as the problem document it is."""
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    for status, answer in operation.get("responses", {}).items():
                        if status.startswith("4"):
                            answer["content"] = {
                                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.limiter = api.RateLimiter()
    problems.install(app, screens.error_page)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(screens.router)

    @app.get("/static/fonts/ipaexg.ttf", include_in_schema=False)
    def font() -> FileResponse:
        return FileResponse(FONT, media_type="font/ttf")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(screens.LoginRequired)
    async def login_required(request: Request, exc: screens.LoginRequired) -> Response:
        target = "/login?message=idle" if "操作がなかった" in exc.message else "/login"
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(screens.SESSION_COOKIE, path="/")
        return response

    app.add_middleware(SecurityHeaders)
    return app


def served_app() -> FastAPI:
    """The application of one server process (``shuyaku serve --workers N`` starts N), over
    the installation named by ``SHUYAKU_HOME`` / ``SHUYAKU_DATABASE_URL``."""
    from shuyaku.config import load_settings
    from shuyaku.context import open_context

    return create_app(open_context(load_settings()))

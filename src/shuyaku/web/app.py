"""The ASGI application: ``create_app(ctx)`` for tests, ``shuyaku serve`` for a server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool

from shuyaku.audit.verify import seal_tail
from shuyaku.context import Context
from shuyaku.web import api, problems

log = logging.getLogger("shuyaku.web")

# Every response: nothing cached on the way, nothing sniffed, framed or referred; the API
# serves JSON and files only, so its Content-Security-Policy allows nothing at all.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


def create_app(ctx: Context, *, seal_every: float = 60.0) -> FastAPI:
    """The API over ``ctx``. While it runs, the access log's tail is signed every
    ``seal_every`` seconds (and once at shutdown), so a cut tail breaks a signed root."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
    app.state.limiter = api.RateLimiter()
    problems.install(app)
    app.include_router(api.router, prefix="/api/v1")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app

"""Errors as RFC 9457 ``application/problem+json`` documents, mapped once for the whole API."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from shuyaku import ids
from shuyaku.errors import ShuyakuError, TooManyRequests
from shuyaku.text import without_controls

log = logging.getLogger("shuyaku.web")
MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "リクエストが正しくありません",
    401: "認証が必要です",
    403: "権限がありません",
    404: "見つかりません",
    405: "このメソッドは使えません",
    409: "現在の状態では処理できません",
    413: "大きすぎます",
    415: "形式が違います",
    422: "リクエストの項目が正しくありません",
    429: "リクエストが多すぎます",
    500: "予期しないエラー",
    503: "利用できません",
}
# A files.md code at the start of a message ("E003: …") is carried as ``code``.
_CODE = re.compile(r"^(E\d{3}|W\d{3})\b")


def problem(
    status: int, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """One problem document. ``detail`` passes the egress redaction: no individual number
    ever leaves in an error, whatever a lower layer put into its message."""
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{status}",
        "title": TITLES.get(status, "エラー"),
        "status": status,
        "detail": without_controls(ids.redact(detail)),
    }
    if code:
        body["code"] = code
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


HtmlPage = Callable[[Request, int, str], Response]


def install(app: FastAPI, html: HtmlPage) -> None:
    """Map errors once: RFC 9457 documents under ``/api/``, ``html`` pages for the screens."""

    def screens(request: Request) -> bool:
        return not request.url.path.startswith("/api/")

    @app.exception_handler(ShuyakuError)
    async def shuyaku_error(request: Request, exc: ShuyakuError) -> Response:
        text = str(exc)
        if screens(request):
            return html(request, exc.http_status, text)
        found = _CODE.match(text)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        if exc.http_status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="shuyaku"'}
        return problem(
            exc.http_status,
            text,
            code=getattr(exc, "code", None) or (found.group(1) if found else None),
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if screens(request):
            return html(request, 400, "入力内容が正しくありません。画面を開き直して、もう一度入力してください")
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("type", "")}
            for e in exc.errors()
        ]
        named = "、".join(f["field"] for f in fields if f["field"]) or "本文"
        return problem(422, f"項目 {named} が正しくありません(型・必須・桁数を確かめてください)", errors=fields)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if screens(request):
            return html(
                request,
                exc.status_code,
                "このページはありません" if exc.status_code == 404 else TITLES.get(exc.status_code, "エラー"),
            )
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else TITLES.get(exc.status_code, "")
        )
        if exc.status_code == 404:
            detail = "このURLはありません"
        return problem(exc.status_code, str(detail), headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4)
        log.exception("unexpected failure in %s %s (incident %s)", request.method, request.url.path, incident)
        if screens(request):
            return html(
                request, 500, f"予期しないエラーが発生しました。連合会に問い合わせ番号 {incident} をお伝えください"
            )
        return problem(
            500,
            f"処理中に予期しないエラーが発生しました。連合会に問い合わせ番号 {incident} をお伝えください",
            incident=incident,
        )

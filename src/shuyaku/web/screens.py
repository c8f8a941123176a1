"""Staff screens: server-rendered Japanese pages over the same services as the CLI.

Works without JavaScript (no script at all). A session is the same as `shuyaku login`'s
(password + TOTP, 8 hours) held in an ``HttpOnly; Secure; SameSite=Strict`` cookie, ended
after ``web_idle_minutes`` without use. Every form carries a CSRF token derived from the
session; no personal data is put in a URL (persons are looked up by POST).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.formparsers import MultiPartParser

from shuyaku import accounts, ids
from shuyaku.access import policy
from shuyaku.access.actor import Actor
from shuyaku.audit import search as audit_search
from shuyaku.audit.verify import verify
from shuyaku.context import Context
from shuyaku.errors import Conflict, InvalidRequest, NotFoundError, ShuyakuError
from shuyaku.ingest import returns
from shuyaku.ingest import service as ingest
from shuyaku.kogaku import service as kogaku
from shuyaku.kogaku import tasuukai
from shuyaku.month import Month
from shuyaku.qualification import service as persons
from shuyaku.register import service as register
from shuyaku.reports import service as reports
from shuyaku.review import continuity, quarantine
from shuyaku.status import feed, unfinished_initial_load, unjudged_households
from shuyaku.text import wareki, wareki_year, without_controls
from shuyaku.timeutil import JST, jst_date
from shuyaku.web.api import attachment

IdPath = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # a larger number is no ID of ours (404 page)
BeforeQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]  # the next page: rows with a lower ID
SESSION_COOKIE = "shuyaku_session"
LOGIN_COOKIE = "shuyaku_login"  # the log-in form's CSRF token (double submit) before any session
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

FILE_STATUS = {"applied": "反映", "held": "保留", "rejected": "受付不可", "duplicate": "重複", "released": "再処理済み"}
CANDIDATE_STATUS = continuity.STATUS_LABEL
RESULT = {"9": "エラー(反映せず)", "1": "警告(反映済み)"}
PAGE = 50  # rows per page of a long list
FILES_PAGE = 30  # files on a municipality's page


# ── formatting ───────────────────────────────────────────────────────────────


def _day(value: date | datetime | None) -> str:
    """和暦 with 西暦 beside: 令和8年11月28日(2026-11-28)."""
    if value is None:
        return ""
    day = jst_date(value) if isinstance(value, datetime) else value
    return f"{wareki(day)}({day.isoformat()})"


def _moment(value: datetime | str | None) -> str:
    """A stored moment in Japan time, said so: 令和8年11月28日(2026-11-28) 14:05+09:00. Stored
    times are UTC: a naive value (SQLite) and the access log's ``…Z`` text are UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(JST)
    return f"{_day(local.date())} {local:%H:%M}+09:00"


def _page_of(found: list[Any], size: int, key: str) -> tuple[list[Any], int | None]:
    """A page of ``size`` rows out of ``size + 1`` read, and the ``before`` of the next page
    (the last shown row's ID) when there is one."""
    if len(found) > size:
        return found[:size], getattr(found[size - 1], key)
    return found, None


def _month(value: str) -> str:
    """A 診療年月 in 和暦 with 西暦 beside: 令和8年9月(2026-09)."""
    m = Month.parse(value)
    return f"{wareki_year(m.first_day)}{m.number}月({m.dashed})"


TEMPLATES.env.filters["day"] = _day
TEMPLATES.env.filters["month"] = _month
TEMPLATES.env.filters["moment"] = _moment
TEMPLATES.env.filters["action"] = policy.action_label
TEMPLATES.env.globals.update(
    FILE_STATUS=FILE_STATUS, CANDIDATE_STATUS=CANDIDATE_STATUS, RESULT=RESULT, ROLES=policy.ROLES
)


# ── sessions and CSRF ────────────────────────────────────────────────────────


class LoginRequired(Exception):
    def __init__(self, message: str = "") -> None:
        self.message = message


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def csrf_of(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"shuyaku-csrf", hashlib.sha256).hexdigest()[:40]


def staff(request: Request) -> Actor:
    """The logged-in staff member, or a redirect to the log-in page."""
    ctx = _ctx(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    idle = timedelta(minutes=int(ctx.setting("web_idle_minutes")))
    try:
        actor = accounts.session_actor(ctx, token, idle=idle)
    except accounts.LoginFailed as exc:
        raise LoginRequired(str(exc)) from None
    request.state.actor = actor
    request.state.csrf = csrf_of(token)
    return actor


Staff = Annotated[Actor, Depends(staff)]


def checked(request: Request, csrf: str) -> None:
    """A form's CSRF token must be the session's (constant-time comparison)."""
    expected = getattr(request.state, "csrf", "")
    if not expected or not hmac.compare_digest(expected, csrf):
        raise InvalidRequest("フォームの有効期限が切れました。画面を開き直して、もう一度送信してください")


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    actor: Actor | None = getattr(request.state, "actor", None)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "csrf": getattr(request.state, "csrf", ""),
            "role_label": policy.ROLES.get(actor.role, actor.role) if actor else "",
            "is_federation": actor is not None and actor.municipalities is None,
            **values,
        },
        status_code=status_code,
    )


def error_page(request: Request, status: int, message: str) -> Response:
    titles = {
        400: "入力内容が正しくありません",
        401: "ログインが必要です",
        403: "権限がありません",
        404: "見つかりません",
    }
    # The one way an error reaches a screen: masked, as the API's problem documents are.
    shown = without_controls(ids.redact(message))
    return page(request, "error.html", status, title=titles.get(status, "エラー"), message=shown)


def _cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


# ── log-in, password, log-out ────────────────────────────────────────────────


def _login_page(request: Request, status: int = 200, **values: Any) -> Response:
    """The log-in form with a fresh double-submit token (its cookie lives 15 minutes)."""
    token = secrets.token_urlsafe(24)
    response = page(request, "login.html", status, login_csrf=token, **values)
    _cookie(response, LOGIN_COOKIE, token, max_age=900)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, message: str = "") -> Response:
    notice = "一定時間操作がなかったため、ログアウトしました" if message == "idle" else ""
    return _login_page(request, errors=[], notice=notice)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    login_id: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    ctx = _ctx(request)
    client = request.client.host if request.client else "?"
    request.app.state.limiter.take("login:" + client)  # besides each account's own lockout
    expected = request.cookies.get(LOGIN_COOKIE, "")
    errors = []
    if not expected or not hmac.compare_digest(expected, csrf):
        errors.append(("login_id", "画面の有効期限が切れました。もう一度ログインしてください"))
    for field, label, value in (
        ("login_id", "ログインID", login_id),
        ("password", "パスワード", password),
        ("code", "確認コード", code),
    ):
        if not value.strip():
            errors.append((field, f"{label}を入力してください"))
    if not errors:
        try:
            session = accounts.login(ctx, login_id.strip(), password, code.strip())
        except accounts.LoginFailed as exc:
            errors.append(("login_id", str(exc)))
    if errors:
        # What was typed is shown again — masked: an individual number typed as a log-in ID
        # must not come back in the page.
        return _login_page(request, 400, errors=errors, login_id=ids.redact(login_id)[:64], notice="")
    target = "/password" if session.must_change_password else "/"
    moved = RedirectResponse(target, status_code=303)
    _cookie(moved, SESSION_COOKIE, session.token)
    moved.delete_cookie(LOGIN_COOKIE, path="/")
    return moved


@router.get("/password", response_class=HTMLResponse)
def password_form(request: Request, actor: Staff) -> Response:
    return page(request, "password.html", errors=[])


@router.post("/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    actor: Staff,
    current: Annotated[str, Form(max_length=256)] = "",
    new: Annotated[str, Form(max_length=256)] = "",
    again: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    errors = []
    if new != again:
        errors.append(("again", "新しいパスワードが2回とも同じになるように入力してください"))
    else:
        try:
            accounts.change_password(_ctx(request), actor.login_id, current, new)
        except ShuyakuError as exc:
            errors.append(("new", str(exc)))
    if errors:
        return page(request, "password.html", 400, errors=errors)
    return RedirectResponse("/?changed=1", status_code=303)


@router.post("/logout")
def logout(request: Request, actor: Staff, csrf: Annotated[str, Form(max_length=64)] = "") -> Response:
    checked(request, csrf)
    token = request.cookies.get(SESSION_COOKIE, "")
    accounts.logout(_ctx(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ── dashboards ───────────────────────────────────────────────────────────────


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Staff, changed: str = "") -> Response:
    ctx = _ctx(request)
    if actor.role in (policy.AUDITOR,):
        return RedirectResponse("/audit", status_code=303)
    if actor.role == policy.ADMIN:
        return RedirectResponse("/admin", status_code=303)
    if actor.role in (policy.REGISTER_CLERK, policy.DEPARTMENT):
        return RedirectResponse("/register", status_code=303)
    feeds = feed(ctx, actor)
    if actor.municipalities is not None and len(feeds) == 1:
        return RedirectResponse(f"/municipalities/{feeds[0].code}", status_code=303)
    notice = "パスワードを変更しました" if changed else ""
    return page(
        request,
        "federation.html",
        feeds=feeds,
        notice=notice,
        overdue=[f for f in feeds if f.overdue_since],
        initial_load=unfinished_initial_load(ctx),
        unjudged=unjudged_households(ctx),
    )


@router.get("/municipalities/{code}", response_class=HTMLResponse)
def municipality_page(
    request: Request,
    actor: Staff,
    code: str,
    before: BeforeQuery = None,
) -> Response:
    ctx = _ctx(request)
    feeds = [f for f in feed(ctx, actor) if f.code == code]
    if not feeds:
        raise NotFoundError(f"市町村 {code} はありません")
    found = ingest.inbox(ctx, actor, municipality_code=code, limit=FILES_PAGE + 1, before=before)
    files, more = _page_of(found, FILES_PAGE, "file_id")
    waiting = continuity.list_candidates(ctx, actor, municipality_code=code, status="proposed")
    sent_back = returns.available(ctx, actor, code)
    # The forms only; the services decide (and log a refusal) whatever the page offers.
    may_send = actor.role in policy.OPERATIONS["ingest"].roles
    return page(
        request,
        "municipality.html",
        m=feeds[0],
        files=files,
        more=more,
        waiting=waiting,
        returns=sent_back,
        may_send=may_send,
        errors=[],
    )


class _InMemory(MultiPartParser):
    """Starlette spools an uploaded file to a temporary file past 1 MiB; an inbound file must
    never sit on disk in plain text, so it is kept in memory (its size is capped below)."""

    spool_max_size = 2**62


@router.post("/municipalities/{code}/files")
async def upload(request: Request, actor: Staff, code: str) -> Response:
    """A file sent from the screen: the inbox path, as over the API (held in memory only)."""
    ctx = _ctx(request)
    limit = int(ctx.setting("max_file_bytes"))
    cap = limit + 64 * 1024  # the file and the form around it
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise InvalidRequest(f"ファイルが大きすぎます(上限 {limit:,} バイト: 設定 max_file_bytes)")

    async def capped() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > cap:
                raise InvalidRequest(f"ファイルが大きすぎます(上限 {limit:,} バイト: 設定 max_file_bytes)")
            yield chunk

    form = await _InMemory(request.headers, capped(), max_files=1, max_fields=4, max_part_size=4096).parse()
    try:
        checked(request, str(form.get("csrf", "")))
        sent = form.get("file")
        if sent is None or isinstance(sent, str) or not sent.filename:
            raise InvalidRequest("送るファイルを選んでください")
        raw = await sent.read()
        if not raw:
            raise InvalidRequest("ファイルが空です")
        outcome = await run_in_threadpool(ingest.receive, ctx, actor, raw, sent.filename)
    finally:
        await form.close()
    return RedirectResponse(f"/files/{outcome.file_id}", status_code=303)


@router.post("/municipalities/{code}/returns")
def make_returns(
    request: Request,
    actor: Staff,
    code: str,
    kind: Annotated[str, Form(pattern="^(KKKK|IDTB|KZKH|TSKG)$")],
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    returns.prepare(_ctx(request), actor, code, kind)
    return RedirectResponse(f"/municipalities/{code}#returns", status_code=303)


@router.get("/files/{file_id}", response_class=HTMLResponse)
def file_page(request: Request, actor: Staff, file_id: IdPath) -> Response:
    found = ingest.file_detail(_ctx(request), actor, file_id)
    return page(request, "file.html", f=found.file, results=found.results)


def _quarantine_view(
    request: Request,
    actor: Actor,
    code: str,
    *,
    show: str = "open",
    before: int | None = None,
    done: str = "",
    status: int = 200,
    errors: list[tuple[str, str]] | None = None,
) -> Response:
    open_only = show != "all"
    found = quarantine.quarantined(_ctx(request), actor, code, open_only=open_only, limit=PAGE + 1, before=before)
    records, more = _page_of(found, PAGE, "result_id")
    return page(
        request,
        "quarantine.html",
        status,
        code=code,
        records=records,
        more=more,
        show="open" if open_only else "all",
        outcomes=quarantine.REVIEW_OUTCOMES,
        done=done,
        errors=errors or [],
    )


@router.get("/municipalities/{code}/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request, actor: Staff, code: str, show: str = "open", before: BeforeQuery = None, done: str = ""
) -> Response:
    return _quarantine_view(request, actor, code, show=show, before=before, done=done)


@router.post("/quarantine/{result_id}", response_class=HTMLResponse)
def review_quarantined(
    request: Request,
    actor: Staff,
    result_id: IdPath,
    outcome: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=quarantine.NOTE_MAX * 2)] = "",
    back: Annotated[str, Form(pattern="^[0-9]{6}$")] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    ctx = _ctx(request)
    try:
        code = quarantine.review(ctx, actor, result_id, outcome, note)
    except (InvalidRequest, Conflict) as exc:
        if not actor.sees(back):  # the form's own municipality, for showing the page again only
            raise
        return _quarantine_view(
            request,
            actor,
            back,
            status=exc.http_status,
            errors=[(f"note-{result_id}", f"隔離レコード {result_id}: {exc}")],
        )
    return RedirectResponse(f"/municipalities/{code}/quarantine?done={result_id}", status_code=303)


# ── 高額療養費 ────────────────────────────────────────────────────────────────


@router.get("/kogaku", response_class=HTMLResponse)
def kogaku_runs(request: Request, actor: Staff) -> Response:
    ctx = _ctx(request)
    return page(request, "kogaku_runs.html", runs=kogaku.runs(ctx, actor), stale=kogaku.stale(ctx, actor))


@router.get("/kogaku/{month}", response_class=HTMLResponse)
def kogaku_run(request: Request, actor: Staff, month: Annotated[str, PathParam(pattern="^[0-9]{6}$")]) -> Response:
    ctx = _ctx(request)
    run = kogaku.run_of(ctx, actor, month)
    names = {f.code: f.name for f in feed(ctx, actor)}
    return page(request, "kogaku_run.html", run=run, names=names, lists=returns.kogaku_lists(ctx, actor, run.month))


@router.get("/returns/{outbound_id}")
def return_file(request: Request, actor: Staff, outbound_id: IdPath) -> Response:
    name, payload = returns.fetch(_ctx(request), actor, outbound_id)
    return attachment(payload, "text/csv", name)


# ── continuity candidates ────────────────────────────────────────────────────


@router.get("/candidates", response_class=HTMLResponse)
def candidates_page(request: Request, actor: Staff, status: str = "proposed") -> Response:
    chosen = status if status in CANDIDATE_STATUS or status == "all" else "proposed"
    found = continuity.list_candidates(_ctx(request), actor, status=None if chosen == "all" else chosen)
    return page(request, "candidates.html", candidates=found, status=chosen)


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
def candidate_page(request: Request, actor: Staff, candidate_id: IdPath, done: str = "") -> Response:
    found = continuity.get_candidate(_ctx(request), actor, candidate_id)
    may_decide = actor.role in policy.OPERATIONS["continuity.decide"].roles and actor.sees(found.to_municipality_code)
    return page(request, "candidate.html", c=found, may_decide=may_decide, done=done, errors=[])


@router.post("/candidates/{candidate_id}", response_class=HTMLResponse)
def decide(
    request: Request,
    actor: Staff,
    candidate_id: IdPath,
    decision: Annotated[str, Form(pattern="^(confirm|reject)$")],
    note: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    ctx = _ctx(request)
    try:
        if decision == "confirm":
            continuity.confirm(ctx, actor, candidate_id, note or None)
        else:
            continuity.reject(ctx, actor, candidate_id, note)
    except continuity.DecisionError as exc:
        found = continuity.get_candidate(ctx, actor, candidate_id)
        return page(request, "candidate.html", 400, c=found, may_decide=True, done="", errors=[("note", str(exc))])
    return RedirectResponse(f"/candidates/{candidate_id}?done={decision}", status_code=303)


# ── persons and households ───────────────────────────────────────────────────


@router.get("/persons", response_class=HTMLResponse)
def person_form(request: Request, actor: Staff) -> Response:
    return page(request, "person_form.html", errors=[], values={})


@router.post("/persons", response_class=HTMLResponse)
def person_page(
    request: Request,
    actor: Staff,
    municipality_code: Annotated[str, Form(max_length=6)] = "",
    atena_no: Annotated[str, Form(max_length=15)] = "",
    as_known_on: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    # Shown again if something is wrong, masked (a number typed into the wrong box stays out).
    values = {
        k: ids.redact(v)
        for k, v in (("municipality_code", municipality_code), ("atena_no", atena_no), ("as_known_on", as_known_on))
    }
    errors = []
    if not (municipality_code.isdigit() and len(municipality_code) == 6):
        errors.append(("municipality_code", "市町村コードは半角数字6桁で入力してください"))
    if not (atena_no.isdigit() and 1 <= len(atena_no) <= 15):
        errors.append(("atena_no", "宛名番号は半角数字で入力してください"))
    known_at = None
    if as_known_on:
        try:
            known_at = datetime.combine(date.fromisoformat(as_known_on), datetime.max.time(), JST)
        except ValueError:
            errors.append(("as_known_on", "時点は YYYY-MM-DD の日付で入力してください"))
    if errors:
        return page(request, "person_form.html", 400, errors=errors, values=values)
    ctx = _ctx(request)
    view = persons.lookup_person(ctx, actor, municipality_code, atena_no, known_at)
    # The same person's history in the other municipalities the actor may see (a move).
    others = [
        persons.lookup_person(ctx, actor, m, a, known_at)
        for m, a in persons.person_keys(ctx, actor, view.pref_person_id)
        if (m, a) != (view.municipality_code, view.atena_no)
    ]
    return page(request, "person.html", view=view, others=others, as_known_on=as_known_on)


@router.get("/households/{household}/tasuukai", response_class=HTMLResponse)
def tasuukai_page(request: Request, actor: Staff, household: str, month: str = "") -> Response:
    ctx = _ctx(request)
    chosen = Month.parse(month) if month else Month.of_date(jst_date(ctx.clock())) - 1
    found = tasuukai.explain(ctx, actor, household, chosen.compact)
    return page(request, "tasuukai.html", e=found, month=chosen, lineage=_lineage(found))


def _lineage(found: tasuukai.Explanation) -> dict[str, Any]:
    """The households a count reaches, left (the oldest) to right (this one), as boxes and arrows."""
    edges = [(c[1], c[2], c[0], c[4], c[6]) for c in found.candidates if c[1] != c[2]]
    order: list[str] = [found.household]
    frontier = [found.household]
    while frontier:
        nxt = [src for src, dst, *_ in edges if dst in frontier and src not in order]
        order = nxt + order
        frontier = nxt
    width, box = 220, 180
    x = {h: 20 + i * width for i, h in enumerate(order)}
    boxes = [{"id": h, "x": x[h], "this": h == found.household} for h in order]
    arrows = [
        {"x1": x[s] + box, "x2": x[d], "label": f"候補{cid} {rule} {CANDIDATE_STATUS.get(status, status)}"}
        for s, d, cid, rule, status in edges
        if s in x and d in x
    ]
    return {"boxes": boxes, "arrows": arrows, "width": 40 + len(boxes) * width, "box": box}


# ── auditors and administrators ──────────────────────────────────────────────


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: Staff,
    start: str = "",
    end: str = "",
    user: str = "",
    action: str = "",
    outcome: str = "",
) -> Response:
    ctx = _ctx(request)
    today = jst_date(ctx.clock())
    try:
        lo = date.fromisoformat(start) if start else today - timedelta(days=7)
        hi = date.fromisoformat(end) if end else today
    except ValueError:
        raise InvalidRequest("期間は YYYY-MM-DD で入力してください") from None
    events = audit_search.search(ctx, actor, lo, hi, user=user or None, action=action or None, outcome=outcome or None)
    report = verify(ctx, actor)
    return page(
        request,
        "audit.html",
        events=events,
        report=report,
        values={"start": lo.isoformat(), "end": hi.isoformat(), "user": user, "action": action, "outcome": outcome},
    )


@router.get("/audit/reports/{name}.{suffix}")
def audit_report(request: Request, actor: Staff, name: str, suffix: str, start: str, end: str) -> Response:
    if name not in ("permissions", "access-review") or suffix not in ("pdf", "csv"):
        raise NotFoundError("この帳票はありません")
    try:
        lo, hi = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidRequest("期間は YYYY-MM-DD で入力してください") from None
    make = reports.permissions if name == "permissions" else reports.access_review
    with tempfile.TemporaryDirectory(prefix="shuyaku-report-") as folder:
        path = Path(folder) / f"{name}.{suffix}"
        make(_ctx(request), actor, lo, hi, **{f"{suffix}_path": path})
        payload = path.read_bytes()
    media = "application/pdf" if suffix == "pdf" else "text/csv"
    filename = f"{name}_{lo.isoformat()}_{hi.isoformat()}.{suffix}"
    return attachment(payload, media, filename)


@router.get("/register", response_class=HTMLResponse)
def register_list(request: Request, actor: Staff, as_of: str = "", abolished: str = "") -> Response:
    day = _day_param(as_of)
    ctx = _ctx(request)
    found = register.entries(ctx, actor, day, include_abolished=bool(abolished))
    pairs = register.compare(ctx, actor, as_of=day) if actor.role != policy.DEPARTMENT else []
    return page(request, "register_list.html", entries=found, as_of=day, abolished=bool(abolished), pairs=pairs)


@router.get("/register/{reg_no}", response_class=HTMLResponse)
def register_entry(
    request: Request,
    actor: Staff,
    reg_no: Annotated[str, PathParam(pattern="^[A-Za-z0-9-]{1,16}$")],
    as_of: str = "",
) -> Response:
    from shuyaku.register.model import LABELS, shown

    day = _day_param(as_of)
    entry = register.show(_ctx(request), actor, reg_no, day)
    items = [(LABELS[k], shown(k, getattr(entry.registration, k))) for k in LABELS]
    return page(request, "register_entry.html", entry=entry, as_of=day, items=items)


def _day_param(text: str) -> date | None:
    """A YYYY-MM-DD query parameter (empty: none); anything else is a 400 naming the form."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"日付は YYYY-MM-DD で指定してください(指定: {ids.redact(text)[:20]})") from None


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, actor: Staff) -> Response:
    ctx = _ctx(request)
    may_manage = actor.role in policy.OPERATIONS["token.manage"].roles  # the form only; the service decides
    return page(
        request,
        "admin.html",
        users=accounts.list_users(ctx, actor),
        tokens=accounts.list_tokens(ctx, actor),
        may_manage=may_manage,
    )


@router.post("/admin/tokens/{token_id}/revoke")
def revoke(
    request: Request,
    actor: Staff,
    token_id: IdPath,
    reason: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    checked(request, csrf)
    accounts.revoke_token(_ctx(request), actor, token_id, reason=reason)
    return RedirectResponse("/admin", status_code=303)

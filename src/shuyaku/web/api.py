"""``/api/v1``: what a municipality's NHI system does over the network.

Every route authenticates its caller (``Authorization: Bearer <APIトークン>``), calls one
service function with that actor, and shapes the answer; the services ask the policy and
write the access log exactly as for the CLI. No personal data travels in a URL or query
string: a person is looked up by POST, households and files by their opaque IDs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from pydantic import AfterValidator, BaseModel, Field, SerializeAsAny, TypeAdapter

from shuyaku import accounts
from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.errors import InvalidRequest, ShuyakuError, TooManyRequests, Unauthenticated
from shuyaku.exchange.layouts import INBOUND
from shuyaku.ingest import returns
from shuyaku.ingest import service as ingest
from shuyaku.ingest.inbound import IngestOutcome
from shuyaku.kogaku import tasuukai
from shuyaku.qualification import service as persons
from shuyaku.review import continuity

DESCRIPTION = """
市町村の国保システムが連合会と受け渡しするための API です。

- **認証**: 連合会が発行した APIトークンを `Authorization: Bearer shy_…` で送ります。トークンは
  1市町村の国保システム用で、有効期限があり、失効させられます。職員は `shuyaku login`
  (パスワードと確認コード)のセッションでも呼べます(継続性候補の確定・却下は転入先の確認者だけ)。
- **送信**: `POST /api/v1/files` に交換ファイル(SKKS, SKSE, KGGT, RECE, SKBN)の本文をそのまま送ります。
  受信フォルダと同じ検査(ヘッダ、連番、重複、隔離)を1トランザクションで行い、世帯の継続性を判定してから、
  `202` と受付番号を返します。
  同じ内容を再送すると、同じ受付番号を返します。
- **結果と返却ファイル**: `GET /api/v1/files/{file_id}` で結果と問題の行を、`/api/v1/returns` で
  KKKK・IDTB・KZKH・TSKG・支給一覧を作成・取得します。取得は記録されます。
- **照会**: 被保険者は宛名番号を本文に入れて POST で照会します。個人番号では照会できず、応答に
  個人番号が含まれることはありません。個人番号は照合(一致・不一致)だけができ、目的とともに記録されます。
- **エラー**: RFC 9457 の `application/problem+json` で返します。交換ファイルの規約に該当するコード
  (E001 など)があれば `code` に入ります。
- 一覧は `limit` と `before`(または `page`)で区切り、`ETag` / `If-None-Match` に対応します。
"""


class Problem(BaseModel):
    """RFC 9457 problem document (``application/problem+json``)."""

    type: str = Field(examples=["/api/v1/problems/404"])
    title: str = Field(examples=["見つかりません"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["受付番号 12 のファイルはありません"])
    code: str | None = Field(None, description="交換ファイルの規約のコード(E001 など)があれば")
    errors: list[dict[str, Any]] | None = Field(None, description="項目ごとの問題(422)")
    incident: str | None = Field(None, description="問い合わせ番号(500)")


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        400: "リクエストが正しくない",
        401: "APIトークンがない・正しくない・期限切れ",
        403: "この操作の権限がない",
        404: "ない(他の市町村のものを含む)",
        409: "一部を個人番号の検査で止めた",
        413: "大きすぎる",
        422: "項目が正しくない",
        429: "リクエストが多すぎる(Retry-After 秒後に再送)",
    }.items()
}
router = APIRouter(responses=PROBLEMS)


def _aware(moment: datetime) -> datetime:
    """The store keeps UTC; SQLite hands it back without its zone. The API always says it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(_aware)]
MAX_ID = 2**31 - 1  # IDs are 32-bit integers in both databases
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


# ── authentication and rate limits ───────────────────────────────────────────


class RateLimiter:
    """A token bucket per caller (the token's hash, or the client address before it is
    known): ``rate`` requests a second on average, bursts up to ``burst``."""

    def __init__(self, rate: float = 20.0, burst: float = 40.0) -> None:
        self.rate, self.burst = rate, burst
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> None:
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1:
                wait = max(1, int((1 - tokens) / self.rate) + 1)
                raise TooManyRequests(f"リクエストが多すぎます。{wait} 秒後に再度送ってください", wait)
            self.buckets[key] = (tokens - 1, now)
            if len(self.buckets) > 100_000:  # forget the idle ones
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < 60}


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def caller(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer shy_… (連合会が発行した APIトークン)")] = None,
) -> Actor:
    ctx = context_of(request)
    limiter: RateLimiter = request.app.state.limiter
    client = request.client.host if request.client else "?"
    if not authorization or not authorization.startswith("Bearer "):
        limiter.take("anon:" + client)
        raise Unauthenticated("Authorization: Bearer <APIトークン> が必要です")
    token = authorization.removeprefix("Bearer ").strip()
    limiter.take("token:" + hashlib.sha256(token.encode()).hexdigest())
    try:
        if token.startswith(accounts.TOKEN_PREFIX):
            return accounts.token_actor(ctx, token)
        return accounts.session_actor(ctx, token)  # a staff member's session (password + TOTP)
    except Unauthenticated:
        limiter.take("anon:" + client)  # a wrong token also spends the address's allowance
        raise


Caller = Annotated[Actor, Depends(caller)]
Ctx = Annotated[Context, Depends(context_of)]


# ── shapes ───────────────────────────────────────────────────────────────────


class FileOut(BaseModel):
    file_id: int = Field(description="受付番号")
    filename: str
    status: str = Field(
        description="applied 反映 / held 保留 / rejected 受付不可 / duplicate 重複 / released 再処理済み"
    )
    code: str | None = Field(None, description="ファイル全体の結果コード(E001–E005)")
    message: str
    municipality_code: str | None = None
    kind: str | None = None
    seq: int | None = None
    records: int = 0
    applied: int = 0
    warnings: int = 0
    errors: int = 0
    status_url: str = ""

    @classmethod
    def of(cls, outcome: IngestOutcome) -> FileOut:
        return cls(**outcome.__dict__, status_url=f"/api/v1/files/{outcome.file_id}")


class ProblemRow(BaseModel):
    line_no: int = Field(description="行番号(ヘッダが1行目)")
    record_key: str | None = Field(None, description="宛名番号または世帯番号")
    history_no: str | None = None
    result: str = Field(description="9 エラー(反映せず) / 1 警告(反映済み)")
    code: str
    field: str | None = None
    message: str


class FileDetailOut(FileOut):
    received_at: Moment
    decided_at: Moment | None = None
    problems: list[ProblemRow] = []


class ReturnFileOut(BaseModel):
    outbound_id: int
    kind: str
    seq: int
    filename: str
    row_count: int
    created_at: Moment
    fetches: int = Field(0, description="この API で取得された回数")
    last_fetched_at: Moment | None = None
    content_url: str


class Prepared(BaseModel):
    written: list[str] = Field(description="作成したファイル名")
    blocked: list[str] = Field(description="個人番号の検査で止めたファイル(理由)")


class PersonQuery(BaseModel):
    municipality_code: str = Field(min_length=6, max_length=6, examples=["111015"])
    atena_no: str = Field(min_length=1, max_length=15, description="宛名番号", examples=["1000000001"])
    as_known_at: datetime | None = Field(None, description="この時点で分かっていた内容(省略時は現在)")


class PersonOut(BaseModel):
    pref_person_id: str = Field(description="県被保険者ID(13桁)")
    municipality_code: str
    atena_no: str
    records: list[dict[str, Any]] = Field(description="資格の履歴(履歴番号順)")


class NumberCheck(BaseModel):
    municipality_code: str = Field(min_length=6, max_length=6)
    atena_no: str = Field(min_length=1, max_length=15)
    individual_number: str = Field(min_length=12, max_length=14, description="照合する個人番号(保存・記録されません)")
    purpose: str = Field(min_length=1, max_length=200, description="照合の目的(アクセス記録に残ります)")


class NumberCheckOut(BaseModel):
    match: bool = Field(description="その宛名番号の被保険者の個人番号と一致するか")


class CandidateOut(BaseModel):
    candidate_id: int
    to_municipality_code: str
    to_setai_no: str
    to_household: str
    from_municipality_code: str
    from_setai_no: str
    from_household: str
    change_date: date
    rule: str
    continuous: bool
    status: str
    reason: str
    persons: dict[str, str]
    decided_by: str | None
    decided_at: Moment | None
    decision_note: str | None


class Decision(BaseModel):
    note: str | None = Field(None, max_length=500)


class Rejection(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class Decided(BaseModel):
    candidates: list[int]


class ExplainLineOut(BaseModel):
    month: str
    household: str
    municipality_code: str
    setai_no: str
    source: str
    filename: str
    line_no: int | None
    kind: str
    counted: bool
    via: str
    note: str


class ExplanationOut(BaseModel):
    household: str
    municipality_code: str
    setai_no: str
    month: str
    first: str
    last: str
    hit_count: int
    tasuukai: bool
    lines: list[ExplainLineOut]


# ── lists: pages and validators ──────────────────────────────────────────────


def listed(
    request: Request, items: Sequence[BaseModel], next_url: str | None = None, total: int | None = None
) -> Response:
    """A list answer, serialised once: a strong ``ETag`` of its bytes, ``304`` when it
    matches ``If-None-Match``, a ``Link: rel="next"`` when there is more."""
    body = _LIST.dump_json(list(items))
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag}
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
    if total is not None:
        headers["X-Total-Count"] = str(total)
    if tag in [t.strip() for t in (request.headers.get("if-none-match") or "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


_LIST: TypeAdapter[list[BaseModel]] = TypeAdapter(list[SerializeAsAny[BaseModel]])


Limit = Annotated[int, Query(ge=1, le=500, description="件数の上限")]


# ── files in ─────────────────────────────────────────────────────────────────


@router.post(
    "/files",
    status_code=202,
    response_model=FileOut,
    summary="交換ファイルを送る",
    description="本文にファイルのバイト列をそのまま入れます(`Content-Type: text/csv` または "
    "`application/octet-stream`)。ファイル名は `X-Filename` で送ります。受信フォルダと同じ処理を行い、"
    "結果を返します。同じ内容の再送には、既にある受付番号を返します。",
    responses={413: {"description": "大きすぎる(設定 max_file_bytes)"}},
    tags=["files"],
)
async def upload(
    request: Request,
    response: Response,
    actor: Caller,
    x_filename: Annotated[
        str, Header(description="ファイル名(例 SKKS_111015_000001.csv)", max_length=255)
    ] = "upload.csv",
) -> FileOut:
    ctx = context_of(request)
    limit = int(ctx.setting("max_file_bytes"))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"ファイルが大きすぎます({int(declared):,} バイト、上限 {limit:,} バイト: 設定 max_file_bytes)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # held in memory only: the plain bytes never touch the disk
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"ファイルが大きすぎます(上限 {limit:,} バイト: 設定 max_file_bytes)")
        chunks.append(chunk)
    if size == 0:
        raise InvalidRequest("本文が空です。ファイルのバイト列をそのまま送ってください")
    outcome = await run_in_threadpool(ingest.receive, ctx, actor, b"".join(chunks), x_filename)
    response.headers["Location"] = f"/api/v1/files/{outcome.file_id}"
    return FileOut.of(outcome)


class PayloadTooLarge(ShuyakuError):
    http_status = 413


@router.get("/files", summary="送ったファイルの一覧(新しい順)", response_model=list[FileOut], tags=["files"])
def files(
    request: Request,
    ctx: Ctx,
    actor: Caller,
    status: Annotated[str | None, Query(description="applied / held / rejected / duplicate / released")] = None,
    limit: Limit = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="この受付番号より前(次のページ)")] = None,
) -> Any:
    rows = ingest.inbox(ctx, actor, status=status, limit=limit, before=before)
    items = [FileOut.of(IngestOutcome.of_row(r)) for r in rows]
    following = None
    if len(rows) == limit:
        following = f"/api/v1/files?limit={limit}&before={rows[-1].file_id}" + (f"&status={status}" if status else "")
    return listed(request, items, following)


@router.get(
    "/files/{file_id}",
    summary="ファイルの結果と問題の行(KKKK と同じ内容)",
    response_model=FileDetailOut,
    tags=["files"],
)
def file_status(ctx: Ctx, actor: Caller, file_id: IdPath) -> FileDetailOut:
    found = ingest.file_detail(ctx, actor, file_id)
    base = FileOut.of(IngestOutcome.of_row(found.file))
    return FileDetailOut(
        **base.model_dump(),
        received_at=found.file.received_at,
        decided_at=found.file.decided_at,
        problems=[ProblemRow(**r._mapping) for r in found.results],
    )


@router.get("/kinds", summary="送れるファイルの種別", tags=["files"])
def kinds(actor: Caller) -> dict[str, str]:
    return {kind: layout.title for kind, layout in INBOUND.items()}


# ── files out ────────────────────────────────────────────────────────────────


def _municipality(actor: Actor, given: str | None) -> str:
    """The municipality a request is about: the one given, or the caller's only one."""
    if given is not None:
        return given
    if actor.municipalities is None or len(actor.municipalities) != 1:
        raise InvalidRequest("市町村コード(municipality_code)を指定してください")
    return next(iter(actor.municipalities))


MunicipalityQuery = Annotated[
    str | None, Query(pattern="^[0-9]{6}$", description="市町村コード(1市町村のトークンでは省略)")
]


@router.post("/returns/{kind}", summary="返却ファイルを作成する", response_model=Prepared, tags=["returns"])
def prepare(
    ctx: Ctx,
    actor: Caller,
    kind: Annotated[str, Path(pattern="^(KKKK|IDTB|KZKH|TSKG)$")],
    municipality_code: MunicipalityQuery = None,
) -> Prepared:
    done = returns.prepare(ctx, actor, _municipality(actor, municipality_code), kind)
    return Prepared(written=[p.name for p in done.written], blocked=done.blocked)


@router.get(
    "/returns", summary="取得できる返却ファイルの一覧(新しい順)", response_model=list[ReturnFileOut], tags=["returns"]
)
def return_files(
    request: Request,
    ctx: Ctx,
    actor: Caller,
    kind: Annotated[str | None, Query(pattern="^(KKKK|IDTB|KZKH|TSKG|KGSK|KBMT|KGCK)$")] = None,
    municipality_code: MunicipalityQuery = None,
) -> Any:
    rows = returns.available(ctx, actor, _municipality(actor, municipality_code), kind)
    items = [
        ReturnFileOut(
            outbound_id=r.outbound_id,
            kind=r.kind,
            seq=r.seq,
            filename=r.filename,
            row_count=r.row_count,
            created_at=r.created_at,
            fetches=r.fetches or 0,
            last_fetched_at=r.last_fetched_at,
            content_url=f"/api/v1/returns/{r.outbound_id}/content",
        )
        for r in rows
    ]
    return listed(request, items)


@router.get(
    "/returns/{outbound_id}/content",
    summary="返却ファイルを取得する(取得は記録されます)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
    tags=["returns"],
)
def return_content(ctx: Ctx, actor: Caller, outbound_id: IdPath) -> Response:
    name, payload = returns.fetch(ctx, actor, outbound_id)
    return attachment(payload, "text/csv", name)


def attachment(payload: bytes, media_type: str, filename: str) -> Response:
    """A file to save (the names are ours: ASCII, no quotes), for the API and the screens."""
    return Response(
        payload, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


# ── persons and households ───────────────────────────────────────────────────


@router.post("/persons/lookup", summary="被保険者の照会(宛名番号で)", response_model=PersonOut, tags=["persons"])
def person_lookup(ctx: Ctx, actor: Caller, query: Annotated[PersonQuery, Body()]) -> PersonOut:
    view = persons.lookup_person(ctx, actor, query.municipality_code, query.atena_no, query.as_known_at)
    return _person(view)


def _person(view: persons.PersonView) -> PersonOut:
    records = [{k: _aware(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in view.records]
    return PersonOut(**jsonable_encoder({**view.__dict__, "records": records}))


@router.get(
    "/persons/{pref_person_id}",
    summary="被保険者の照会(県被保険者IDで)",
    response_model=list[PersonOut],
    tags=["persons"],
)
def person_by_id(
    ctx: Ctx, actor: Caller, pref_person_id: Annotated[str, Path(pattern="^[0-9]{13}$")]
) -> list[PersonOut]:
    keys = persons.person_keys(ctx, actor, pref_person_id)
    return [_person(persons.lookup_person(ctx, actor, m, a)) for m, a in keys]


@router.post(
    "/persons/check-number",
    summary="個人番号の照合(一致・不一致のみ)",
    response_model=NumberCheckOut,
    tags=["persons"],
)
def check_number(ctx: Ctx, actor: Caller, query: Annotated[NumberCheck, Body()]) -> NumberCheckOut:
    same = persons.check_number(
        ctx, actor, query.municipality_code, query.atena_no, query.individual_number, query.purpose
    )
    return NumberCheckOut(match=same)


@router.get(
    "/households/{pref_household_id}/tasuukai",
    summary="多数回該当の回数と内訳",
    response_model=ExplanationOut,
    tags=["households"],
)
def household_tasuukai(
    ctx: Ctx,
    actor: Caller,
    pref_household_id: Annotated[str, Path(pattern="^[0-9]{13}$")],
    month: Annotated[str, Query(description="診療年月 YYYYMM または YYYY-MM", examples=["202609"])],
) -> ExplanationOut:
    found = tasuukai.explain(ctx, actor, pref_household_id, month)
    return ExplanationOut(
        household=found.household,
        municipality_code=found.municipality_code,
        setai_no=found.setai_no,
        month=found.month,
        first=found.first,
        last=found.last,
        hit_count=found.hit_count,
        tasuukai=found.tasuukai,
        lines=[ExplainLineOut(**line.__dict__) for line in found.lines],
    )


# ── continuity candidates ────────────────────────────────────────────────────


@router.get(
    "/continuity/candidates", summary="世帯継続性の候補", response_model=list[CandidateOut], tags=["continuity"]
)
def candidates(
    request: Request,
    ctx: Ctx,
    actor: Caller,
    status: Annotated[str | None, Query(description="proposed / confirmed / rejected / withdrawn")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Limit = 100,
) -> Any:
    found = continuity.list_candidates(ctx, actor, status=status)
    start = (page - 1) * limit
    items = [CandidateOut(**c.__dict__) for c in found[start : start + limit]]
    following = None
    if start + limit < len(found):
        following = f"/api/v1/continuity/candidates?page={page + 1}&limit={limit}" + (
            f"&status={status}" if status else ""
        )
    return listed(request, items, following, total=len(found))


@router.post(
    "/continuity/candidates/{candidate_id}/confirm",
    summary="候補を確定する(転入先)",
    response_model=Decided,
    tags=["continuity"],
)
def confirm(
    ctx: Ctx,
    actor: Caller,
    candidate_id: IdPath,
    decision: Annotated[Decision | None, Body()] = None,
) -> Decided:
    return Decided(candidates=continuity.confirm(ctx, actor, candidate_id, decision.note if decision else None))


@router.post(
    "/continuity/candidates/{candidate_id}/reject",
    summary="候補を却下する(理由必須)",
    response_model=Decided,
    tags=["continuity"],
)
def reject(ctx: Ctx, actor: Caller, candidate_id: IdPath, rejection: Annotated[Rejection, Body()]) -> Decided:
    return Decided(candidates=continuity.reject(ctx, actor, candidate_id, rejection.reason))

"""The 多数回 count: household-level hit months in m−11 … m−1 over a household's lineage.

For household H and treatment month m (kogaku.md, continuity.md):

- a hit month is a month with a household-level hit (該当区分 1) reported by a
  municipality (KGGT) or computed by the federation (`kogaku run`); 外来特例-only months
  (該当区分 2) never count; months before 2018-04 never count (K9);
- H's own months count from its latest confirmed restart (a confirmed "not continuous"
  judgement of H about itself) on;
- through every confirmed continuous candidate P → H of month c ≤ m whose month is not
  before H's restart, P's counted months up to c count for H, and so on back along the
  lineage;
- a household-month counts once, however many municipalities or sources report it.

Everything is set-at-a-time (Polars): the hits of the window are carried forward along the
lineage edges one step per round, so the work grows with the hits and the edges, never
with a loop over households.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, exists, null, select, union_all, update

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.engine import bulk_insert
from shuyaku.db.history import MONTHS_NARROWED
from shuyaku.db.locks import write_lock
from shuyaku.db.query import SQLITE_CHUNK, read_frame
from shuyaku.db.schema import (
    hit_month,
    hit_report,
    household_key,
    tasuukai_count,
)
from shuyaku.errors import InvalidRequest, NotFoundError
from shuyaku.exchange import ledger
from shuyaku.household import continuity
from shuyaku.household.continuity import CandidateStatus
from shuyaku.kogaku import rules
from shuyaku.month import Month, MonthError
from shuyaku.qualification.households import keys_of

log = logging.getLogger("shuyaku.tasuukai")

FIRST_COUNTED = rules.FIRST_COUNTED_MONTH.replace("-", "")  # K9, as YYYYMM (the form stored counts use)
THRESHOLD = rules.TASUUKAI_FROM  # 3 earlier hit months make month m the 4th: 多数回
COUNT_SCHEMA = {
    "household": pl.String,
    "hit_count": pl.Int64,
    "months": pl.String,
    "predecessors": pl.String,
    "provisional": pl.Boolean,  # 暫定: a counted month rests on `kogaku run` alone (no KGGT yet)
}
FEDERATION = "federation"  # hit_month.source of the months `kogaku run` calculated


class CountError(InvalidRequest, ValueError):
    pass


def check_month(month: str) -> str:
    """The month as YYYYMM (``YYYY-MM`` is read too)."""
    try:
        return Month.parse(month).compact
    except MonthError as exc:
        raise CountError(str(exc)) from None


def shift(month: str, months: int) -> str:
    return (Month.parse(month) + months).compact


def window(month: str) -> tuple[str, str]:
    """The months that count for ``month``: m−11 … m−1, not before 2018-04."""
    return max(shift(month, -11), FIRST_COUNTED), shift(month, -1)


def covered(municipality: Any, month: Any) -> Any:
    """Whether a KGGT of ``municipality`` covering ``month`` has arrived: any row it ever
    sent for that month, current, corrected or deleted (kogaku.md, "Which source counts")."""
    r = hit_report.alias("covering").c
    return exists().where(r.municipality_code == municipality, r.month == month)


def hit_rows(conn: Connection, first: str, last: str, households: list[str] | None = None) -> pl.DataFrame:
    """Household-level hit months in [first, last]: household, month, source, file_id, line_no.

    The municipality's KGGT is authoritative: a month the federation calculated (`kogaku
    run`) counts only while no KGGT of the household's municipality covers that month —
    a provisional (暫定) month; once one has arrived, only its rows count (a KGGT deletion
    removes the month even where our calculation found it)."""
    r, h, k = hit_report.c, hit_month.c, household_key.c
    reported = select(r.pref_household_id, r.month, r.municipality_code.label("source"), r.file_id, r.line_no).where(
        r.kind == "1", r.superseded_at.is_(None), r.month >= first, r.month <= last
    )
    computed = (
        select(h.pref_household_id, h.month, h.source, null(), null())
        .join(household_key, k.pref_household_id == h.pref_household_id)
        .where(
            h.kind == "1",
            h.superseded_at.is_(None),
            h.month >= first,
            h.month <= last,
            ~covered(k.municipality_code, h.month),
        )
    )
    if households is not None:
        reported = reported.where(r.pref_household_id.in_(households))
        computed = computed.where(h.pref_household_id.in_(households))
    return read_frame(
        conn,
        union_all(reported, computed),  # type: ignore[arg-type]
        {"household": pl.String, "month": pl.String, "source": pl.String, "file_id": pl.Int64, "line_no": pl.Int64},
    )


def touched_by_kggt(conn: Connection, municipality_code: str, named: list[str], months: list[str]) -> list[str] | None:
    """The households whose counted months a KGGT of ``months`` can change: those it names,
    and those of its municipality whose months the federation calculated (its arrival covers
    them: ``covered``). None (every household) for a file of very many months."""
    if len(months) > MONTHS_NARROWED:
        return None
    h, k = hit_month.c, household_key.c
    calculated = conn.execute(
        select(h.pref_household_id)
        .join(household_key, k.pref_household_id == h.pref_household_id)
        .where(
            k.municipality_code == municipality_code,
            h.month.in_(months),
            h.source == FEDERATION,
            h.superseded_at.is_(None),
        )
        .distinct()
    ).scalars()
    return sorted({*named, *calculated})


def confirmed_lineage(conn: Connection) -> pl.DataFrame:
    """Every confirmed candidate as candidate_id, src, dst, cutoff (YYYYMM of its 異動日),
    continuous: read once by a recount of several months (``lineage`` takes its months')."""
    return continuity.confirmed(conn).select(
        "candidate_id", "src", "dst", pl.col("change_date").dt.strftime("%Y%m").alias("cutoff"), "continuous"
    )


def lineage(conn: Connection, month: str, confirmed: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Confirmed edges (src, dst, cutoff, candidate_id) and restarts (household, restart)
    in force for ``month`` (their month is not after it), of ``confirmed_lineage`` (read
    here if not given)."""
    frame = confirmed_lineage(conn) if confirmed is None else confirmed
    frame = frame.filter(pl.col("cutoff") <= month)
    edges = frame.filter(pl.col("continuous") & (pl.col("src") != pl.col("dst"))).drop("continuous")
    restarts = (
        frame.filter(~pl.col("continuous") & (pl.col("src") == pl.col("dst")))
        .select(pl.col("dst").alias("household"), pl.col("cutoff").alias("restart"))
        .unique()
    )
    return edges, restarts


def moved_mid_month(conn: Connection, month: str) -> list[str]:
    """Both households of every confirmed continuous move between two municipalities that
    took effect in ``month`` after its 1st: their caps for the month are halved."""
    day = pl.col("change_date")
    moved = continuity.confirmed(conn).filter(
        pl.col("continuous"),
        pl.col("from_municipality_code") != pl.col("to_municipality_code"),
        day.dt.strftime("%Y%m") == month,
        day.dt.day() != 1,
    )
    return sorted({*moved["src"].to_list(), *moved["dst"].to_list()})


def contributions(hits: pl.DataFrame, edges: pl.DataFrame, restarts: pl.DataFrame, first: str) -> pl.DataFrame:
    """(household, month, origin, via): each hit month and every household it counts for.

    A month *arrives* in a household in its own month (its own hits) or in the month of the
    edge that carried it. A restart of a household at month r drops what arrived before r
    from its own count, and from what it passes on along an edge of a later month; an
    edge of the restart's own month still carries the earlier months (the head's part of
    a split takes the history, the rest starts again).
    """
    own = (
        hits.select("household", "month")
        .unique()
        .select(
            "household",
            "month",
            pl.col("household").alias("origin"),
            pl.lit(None, pl.Int64).alias("via"),
            pl.col("month").alias("arrived"),
        )
    )
    steps = edges.filter(pl.col("cutoff") >= first).select("src", "dst", "cutoff", "candidate_id")
    keys = ["household", "month", "origin", "arrived"]
    found, frontier = own, own
    for _ in range(64):  # a lineage longer than this would be a cycle; stop anyway
        if frontier.height == 0 or steps.height == 0:
            break
        moving = (
            frontier.join(steps, left_on="household", right_on="src")
            .filter(pl.col("month") <= pl.col("cutoff"))
            .with_row_index("_n")
        )
        cut = (
            moving.join(restarts, on="household")
            .filter((pl.col("arrived") < pl.col("restart")) & (pl.col("restart") < pl.col("cutoff")))
            .select("_n")
        )
        step = moving.join(cut, on="_n", how="anti").select(
            pl.col("dst").alias("household"),
            "month",
            "origin",
            pl.col("candidate_id").alias("via"),
            pl.col("cutoff").alias("arrived"),
        )
        step = step.unique(keys).join(found, on=keys, how="anti")
        found = pl.concat([found, step])
        frontier = step
    latest = restarts.group_by("household").agg(pl.col("restart").max())
    return (
        found.join(latest, on="household", how="left")
        .filter(pl.col("restart").is_null() | (pl.col("arrived") >= pl.col("restart")))
        .drop("restart", "arrived")
    )


def counts(
    conn: Connection, month: str, households: list[str] | None = None, confirmed: pl.DataFrame | None = None
) -> pl.DataFrame:
    """household, hit_count, months (YYYYMM;…), predecessors (県世帯ID;…) for every household
    with at least one counted month (of ``households`` only, where given: then only their
    hits and those of their predecessors are read, up to ``FEW_HOUSEHOLDS``)."""
    month = check_month(month)
    first, last = window(month)
    if last < first:
        return pl.DataFrame(schema=COUNT_SCHEMA)
    edges, restarts = lineage(conn, month, confirmed)
    needed = None if households is None else _along(edges, households, "dst", "src")
    hits = hit_rows(conn, first, last, needed if needed is not None and len(needed) <= FEW_HOUSEHOLDS else None)
    found = contributions(hits, edges, restarts, first)
    if households is not None:
        found = found.filter(pl.col("household").is_in(households))
    # A month of an origin household rests on our calculation alone when no KGGT row gave it.
    resting = hits.group_by("household", "month").agg((pl.col("source") == FEDERATION).all().alias("calculated_only"))
    found = found.join(resting, left_on=["origin", "month"], right_on=["household", "month"], how="left")
    per_month = found.group_by("household", "month").agg(pl.col("calculated_only").fill_null(False).all())
    provisional = per_month.group_by("household").agg(pl.col("calculated_only").any().alias("provisional"))
    return (
        found.group_by("household")
        .agg(
            pl.col("month").n_unique().cast(pl.Int64).alias("hit_count"),
            pl.col("month").unique().sort().str.join(";").alias("months"),
            pl.col("origin")
            .filter(pl.col("origin") != pl.col("household"))
            .unique()
            .sort()
            .str.join(";")
            .alias("predecessors"),
        )
        .join(provisional, on="household", how="left")
        .with_columns(pl.col("provisional").fill_null(False))
        .select(list(COUNT_SCHEMA))
    )


@dataclass
class RunSummary:
    month: str
    households: int
    tasuukai: int
    changed: int


# Held by every transaction that writes counts (a run, a recount after a KGGT, a judgement,
# a decision on a candidate, a month's 高額 run) from before it reads what it compares: two
# at once would each supersede the same current row and both insert its successor.
LOCK = "tasuukai"


def store(
    conn: Connection,
    month: str,
    now: datetime,
    households: list[str] | None = None,
    confirmed: pl.DataFrame | None = None,
) -> RunSummary:
    """Compute the month's counts and keep them: a household whose count, months,
    predecessors or 暫定 flag changed gets a new row (the old one superseded); one that had a count and
    has none now gets a row with 0, so the change reaches the next TSKG. With ``households``,
    only theirs and their successors' (the counts their months reach) are computed and compared."""
    write_lock(conn, LOCK)
    t = tasuukai_count.c
    current: list[ColumnElement[bool]] = [t.month == month, t.superseded_at.is_(None)]
    if households is not None:
        confirmed = confirmed_lineage(conn) if confirmed is None else confirmed
        reached = _along(lineage(conn, month, confirmed)[0], households, "src", "dst")
        if len(reached) <= FEW_HOUSEHOLDS:
            current.append(t.pref_household_id.in_(reached))
            households = reached
        else:
            households = None
    fresh = counts(conn, month, households, confirmed)
    stored = read_frame(
        conn,
        select(t.row_id, t.pref_household_id, t.hit_count, t.months, t.predecessors, t.provisional).where(*current),
        {
            "row_id": pl.Int64,
            "household": pl.String,
            "old_count": pl.Int64,
            "old_months": pl.String,
            "old_predecessors": pl.String,
            "old_provisional": pl.Boolean,
        },
    )
    both = fresh.join(stored, on="household", how="full", coalesce=True).with_columns(
        pl.col("hit_count").fill_null(0),
        pl.col("months").fill_null(""),
        pl.col("predecessors").fill_null(""),
        pl.col("provisional").fill_null(False),
    )
    changed = both.filter(
        pl.col("row_id").is_null()
        | (pl.col("hit_count") != pl.col("old_count"))
        | (pl.col("months") != pl.col("old_months"))
        | (pl.col("predecessors") != pl.col("old_predecessors"))
        | (pl.col("provisional") != pl.col("old_provisional").fill_null(False))
    ).filter(~(pl.col("row_id").is_null() & (pl.col("hit_count") == 0)))
    old = changed["row_id"].drop_nulls().to_list()
    for start in range(0, len(old), SQLITE_CHUNK):
        conn.execute(
            update(tasuukai_count).where(t.row_id.in_(old[start : start + SQLITE_CHUNK])).values(superseded_at=now)
        )
    keys = keys_of(conn, changed["household"].to_list())
    rows = changed.join(keys, left_on="household", right_on="pref_household_id", how="left").select(
        pl.col("household").alias("pref_household_id"),
        pl.col("municipality_code").fill_null(""),
        pl.col("setai_no").fill_null(""),
        pl.lit(month).alias("month"),
        "hit_count",
        "months",
        "predecessors",
        "provisional",
        pl.lit(now).alias("computed_at"),
    )
    bulk_insert(conn, tasuukai_count, rows)
    return RunSummary(month, fresh.height, fresh.filter(pl.col("hit_count") >= THRESHOLD).height, changed.height)


def recount(conn: Connection, since: str, now: datetime, households: list[str] | None = None) -> list[RunSummary]:
    """Recompute every stored month a change at month ``since`` can reach (since … since+11):
    of every household, or where the change touched only ``households`` (a KGGT), of those
    and the households their months reach."""
    write_lock(conn, LOCK)  # before the stored months are read: a run may be storing a new one
    t = tasuukai_count.c
    months = (
        conn.execute(select(t.month).where(t.month >= since, t.month <= shift(since, 11)).distinct()).scalars().all()
    )
    confirmed = confirmed_lineage(conn) if months else None
    return [store(conn, m, now, households, confirmed) for m in sorted(months)]


# A count of a few households reads their hits and their predecessors' only; past this many
# (a bound list in one statement) it reads the window's hits of the whole prefecture.
FEW_HOUSEHOLDS = 5_000


def _along(edges: pl.DataFrame, households: list[str], start: str, end: str) -> list[str]:
    """``households`` and every household reached from them along the lineage edges, from the
    ``start`` column to the ``end`` one (src → dst: their successors; dst → src: their
    predecessors)."""
    reached = set(households)
    frontier = reached
    pairs = edges.select(start, end)
    while frontier and pairs.height:
        step = set(pairs.filter(pl.col(start).is_in(list(frontier)))[end].to_list()) - reached
        reached |= step
        frontier = step
    return sorted(reached)


def run_month(ctx: Context, actor: Actor, month: str) -> RunSummary:
    """`shuyaku tasuukai run --month YYYYMM`: every household's count for the month, kept."""
    month = check_month(month)
    with guarded(ctx, actor, "tasuukai.run", target=month) as access, ctx.engine.begin() as conn:
        summary = store(conn, month, ctx.clock())
        access.log(conn, rows=summary.changed, detail=f"households={summary.households}")
    log.info(
        "tasuukai run by=%s month=%s households=%s tasuukai=%s changed=%s",
        actor.login_id,
        month,
        summary.households,
        summary.tasuukai,
        summary.changed,
    )
    return summary


@dataclass(frozen=True)
class ExplainLine:
    month: str
    household: str
    municipality_code: str
    setai_no: str
    source: str  # 市町村コード or "federation"
    filename: str
    line_no: int | None
    kind: str
    counted: bool
    via: str  # 候補番号 chain, "" for the household's own months
    note: str


@dataclass(frozen=True)
class Explanation:
    household: str
    municipality_code: str
    setai_no: str
    month: str
    first: str
    last: str
    hit_count: int
    lines: list[ExplainLine]
    candidates: list[tuple[int, str, str, str, str, bool, str]]  # id, from, to, date, rule, continuous, status

    @property
    def tasuukai(self) -> bool:
        return self.hit_count >= THRESHOLD


def explain(ctx: Context, actor: Actor, household: str, month: str) -> Explanation:
    """Which months counted for the household's month, from where and through which
    candidate; which were left out and why."""
    month = check_month(month)
    first, last = window(month)
    with ctx.engine.connect() as conn:
        found = keys_of(conn, [household])
        missing = f"県世帯ID {household} はありません"
        if found.height == 0:
            raise NotFoundError(missing)
        key = found.row(0, named=True)
        key_municipality, key_setai = str(key["municipality_code"]), str(key["setai_no"])
        access = guarded(ctx, actor, "tasuukai.explain", key_municipality, target=household, conceal=missing)
        # Every household a candidate (any status) links back to, with the path's candidates.
        paths: dict[str, list[Any]] = {household: []}
        candidates: list[Any] = []
        frontier = [household]
        while frontier:
            linked = continuity.linked_into(conn, frontier)
            candidates.extend(linked)
            frontier = []
            for row in linked:
                if row.continuous and row.from_household != row.to_household and row.from_household not in paths:
                    paths[row.from_household] = [*paths[row.to_household], row]
                    frontier.append(row.from_household)
        r, h = hit_report.c, hit_month.c
        related = sorted(paths)
        lo = shift(month, -23)
        reports = conn.execute(
            select(r.pref_household_id, r.month, r.kind, r.municipality_code, r.setai_no, r.file_id, r.line_no).where(
                r.pref_household_id.in_(related), r.superseded_at.is_(None), r.month >= lo, r.month <= month
            )
        ).all()
        names = ledger.filenames(conn, sorted({x.file_id for x in reports}))
        reported = [
            (hh, m, kind, src, setai, names.get(fid, ""), line) for hh, m, kind, src, setai, fid, line in reports
        ]
        computed = conn.execute(
            select(h.pref_household_id, h.month, h.kind).where(
                h.pref_household_id.in_(related), h.superseded_at.is_(None), h.month >= lo, h.month <= month
            )
        ).all()
        keyed = list(keys_of(conn, related).iter_rows())
        keys = {hh: code for hh, code, _ in keyed}
        setais = {hh: setai for hh, _, setai in keyed}
        # (municipality, month) a KGGT has covered: there our calculation no longer counts.
        kggt_months = set(
            conn.execute(
                select(r.municipality_code, r.month)
                .where(r.municipality_code.in_(sorted(set(keys.values()))), r.month >= lo, r.month <= month)
                .distinct()
            ).all()
        )
        hits = (
            hit_rows(conn, first, last, related)
            if first <= last
            else pl.DataFrame(
                schema={
                    "household": pl.String,
                    "month": pl.String,
                    "source": pl.String,
                    "file_id": pl.Int64,
                    "line_no": pl.Int64,
                }
            )
        )
        edges, restarts = lineage(conn, month)
    counted = (
        contributions(hits, edges, restarts, first).filter(pl.col("household") == household)
        if first <= last
        else pl.DataFrame()
    )
    counted_pairs = {(o, m) for o, m in counted.select("origin", "month").iter_rows()} if counted.height else set()
    restart = dict(restarts.group_by("household").agg(pl.col("restart").max()).iter_rows())
    rows: list[tuple[Any, ...]] = [tuple(x) for x in reported]  # noqa: C416
    rows += [
        (hh, m, kind, FEDERATION, setais.get(hh, ""), "連合会の計算(kogaku run)", None) for hh, m, kind in computed
    ]
    rows.sort(key=lambda x: (x[1], x[0] != household, x[3]))
    seen: set[str] = set()
    lines = []
    for hh, m, kind, src, setai, name, line in rows:
        path = paths.get(hh, [])
        via = "→".join(str(p.candidate_id) for p in reversed(path))
        note = _why(hh, m, kind, household, month, first, path, restart)
        calculated = src == FEDERATION
        if note == "" and calculated and (keys.get(hh, ""), m) in kggt_months:
            note = "この月の市町村の高額該当(KGGT)が届いているため、連合会の計算は数えません(KGGT が優先)"
        ok = note == "" and (hh, m) in counted_pairs
        if ok and m in seen:
            ok, note = False, "同じ月を別の報告で数え済み(1世帯1か月は1回)"
        elif ok:
            seen.add(m)
            note = "数える" + (f"(継続性候補 {via} を通じて引継ぎ)" if via else "")
            if calculated:
                note += "(暫定: この月の市町村の KGGT がまだ届いていません)"
        elif note == "":
            note = "数えない"
        lines.append(ExplainLine(m, hh, keys.get(hh, ""), setai, src, name, line, kind, ok, via, note))
    listed = [
        (x.candidate_id, x.from_household, x.to_household, x.change_date.isoformat(), x.rule, x.continuous, x.status)
        for x in candidates
    ]
    access.record(rows=len(lines), target=f"{household} {month}")
    return Explanation(household, key_municipality, key_setai, month, first, last, len(seen), lines, listed)


def _why(
    hh: str, m: str, kind: str, household: str, month: str, first: str, path: list[Any], restart: dict[str, str]
) -> str:
    """Why a hit month does not count ("" when nothing stands in its way)."""
    if m >= month:
        return "対象月そのもの・以降の月は数えません(数えるのは m−11〜m−1)"
    if m < FIRST_COUNTED:
        return "2018年3月以前の該当月は数えません(K9)"
    if m < first:
        return f"直近12か月({first}〜{shift(month, -1)})より前です"
    if kind != "1":
        return "外来特例のみ(該当区分 2)の月は数えません"
    own_restart = restart.get(hh)
    passed_on = path[-1].change_date.strftime("%Y%m") if path else None
    if own_restart is not None and m < own_restart and (passed_on is None or own_restart < passed_on):
        return f"世帯の数え直し({own_restart}〜、継続しないと確定した候補)より前の月です"
    for step in path:  # from the household back to the predecessor
        label = f"継続性候補 {step.candidate_id}({step.rule}、{step.change_date.isoformat()})"
        if step.status != CandidateStatus.CONFIRMED:
            state = {CandidateStatus.PROPOSED: "未確定", CandidateStatus.REJECTED: "却下"}.get(step.status, step.status)
            return f"{label}が{state}のため引き継ぎません"
        cutoff = step.change_date.strftime("%Y%m")
        if m > cutoff:
            return f"{label}の異動月より後の、元の世帯の月は引き継ぎません"
        if cutoff > month:
            return f"{label}は対象月より後の異動です"
        target_restart = restart.get(step.to_household)
        if target_restart is not None and cutoff < target_restart:
            return f"{label}の後で引継ぎ先の世帯が数え直しになりました({target_restart}〜)"
    return ""


@dataclass(frozen=True)
class CountRow:
    household: str
    municipality_code: str
    setai_no: str
    month: str
    hit_count: int
    months: str
    predecessors: str
    provisional: bool

    @property
    def tasuukai(self) -> bool:
        return self.hit_count >= THRESHOLD


def stored_counts(
    ctx: Context, actor: Actor, month: str, *, municipality_code: str | None = None, tasuukai_only: bool = False
) -> list[CountRow]:
    """The stored counts of a month (``tasuukai run``), most hit months first: every
    household the actor may see, or one municipality's."""
    month = check_month(month)
    t = tasuukai_count.c
    with guarded(ctx, actor, "tasuukai.explain", municipality_code) as access, ctx.reading() as conn:
        query = select(tasuukai_count).where(t.month == month, t.superseded_at.is_(None))
        if access.scope is not None:
            query = query.where(t.municipality_code.in_(sorted(access.scope)))
        if municipality_code is not None:
            query = query.where(t.municipality_code == municipality_code)
        if tasuukai_only:
            query = query.where(t.hit_count >= THRESHOLD)
        rows = conn.execute(query.order_by(t.hit_count.desc(), t.municipality_code, t.setai_no)).all()
        access.done(rows=len(rows), target=f"{municipality_code or trail.scope_of(actor)} {month}")
    return [
        CountRow(
            r.pref_household_id,
            r.municipality_code,
            r.setai_no,
            r.month,
            r.hit_count,
            r.months,
            r.predecessors,
            bool(r.provisional),
        )
        for r in rows
    ]

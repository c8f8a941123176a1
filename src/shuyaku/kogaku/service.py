"""`shuyaku kogaku run --month YYYYMM`: every household of the prefecture for one month.

Reads the store set at a time (claims of the month, the persons and households in force,
income classes, prior hit months), computes with ``batch.calculate_month`` and writes, in
one transaction, the federation's hit months for the month (a re-run supersedes the last
one); then one 支給 list per municipality (CSV, no individual number, outbox-guarded).

The 多数回 count comes from ``tasuukai.counts`` (the household's lineage of confirmed
candidates); the move-month half caps apply to both households of a confirmed continuous
move between two municipalities that took effect after the 1st of the month.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, exists, func, insert, select, update

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.engine import bulk_insert
from shuyaku.db.locks import write_lock
from shuyaku.db.query import ids_as_text, one_snapshot, read_alongside
from shuyaku.db.schema import claim_unit, hit_month, income_class, income_class_change, kogaku_run
from shuyaku.errors import InvalidRequest, NotFoundError
from shuyaku.exchange import outbox
from shuyaku.exchange.codes import ESTIMATED_CLASSES, INCOME_CLASSES
from shuyaku.kogaku import batch, crosscheck, tables, tasuukai
from shuyaku.month import Month, MonthError
from shuyaku.qualification import periods

log = logging.getLogger("shuyaku.kogaku")
SETTING = {"1": "inpatient", "2": "outpatient", "3": "dental"}
LIST_COLUMNS = (
    "市町村コード",
    "世帯番号",
    "県世帯ID",
    "診療年月",
    "限度額表",
    "直近12か月該当月数",
    "多数回該当",
    "該当区分",
    "外来特例",
    "70歳以上世帯合算",
    "世帯合算",
    "支給額",
    "区分推定",  # 1: the 70–74 class was 19 未申告, calculated as 一般 (kogaku.md)
)
# 区分未登録一覧: households with claims whose income class is unknown (no payment recorded).
UNREGISTERED_COLUMNS = ("市町村コード", "世帯番号", "県世帯ID", "診療年月", "理由")
# 突合結果: where the federation's calculation and the municipality's KGGT disagree (W302/W303).
CROSSCHECK_COLUMNS = ("市町村コード", "世帯番号", "県世帯ID", "診療年月", "コード", "内容")
UNREGISTERED_REASON = {True: "所得区分(SKBN)の記録がありません", False: "所得区分の項目が空欄です(請求のある年齢区分)"}


class RunError(InvalidRequest, ValueError):
    pass


@dataclass
class RunSummary:
    month: str
    cap_table: str
    households: int = 0
    paid_households: int = 0
    payment_total: int = 0
    household_hits: int = 0
    unmatched_claims: int = 0
    unregistered: int = 0  # 区分未登録: households with claims and no income class; nothing paid
    disagreements: int = 0  # W302/W303 against the KGGT of the month, where it has arrived
    files: list[Path] = field(default_factory=list)


def _month_dash(month: str) -> str:
    try:
        return Month.parse(month).dashed
    except MonthError:
        raise RunError(f"--month は YYYYMM の年月です(指定: {month})") from None


@dataclass
class MonthInputs:
    """What the batch needs for one month, read from the store (see ``batch`` for columns).
    The prefecture IDs (household_id, member_id) are their numbers: the batch joins and
    groups millions of them, in half the time of the 13-digit text."""

    households: pl.DataFrame  # + municipality_code, setai_no for the 支給 lists
    members: pl.DataFrame
    claims: pl.DataFrame
    unmatched_claims: int


def load_month(conn: Connection, month: str) -> MonthInputs:
    """Claims of ``month`` (YYYYMM), the persons and households in force, classes, prior hits."""
    dashed = _month_dash(month)
    first, last_day = Month.parse(dashed).first_day, Month.parse(dashed).end
    c, k = claim_unit.c, income_class.c
    # The claims (the largest read) and the income classes come in on connections of their
    # own that see this transaction's snapshot, while the records in force are read.
    claims_read = read_alongside(
        conn,
        select(c.municipality_code, c.atena_no, c.institution, c.setting_code, c.total_cost, c.copay).where(
            c.month == month, c.superseded_at.is_(None)
        ),
        {
            "municipality_code": pl.String,
            "atena_no": pl.String,
            "institution": pl.String,
            "setting_code": pl.String,
            "total_cost": pl.Int64,
            "copay": pl.Int64,
        },
    )
    classes_read = read_alongside(
        conn,
        select(k.municipality_code, k.setai_no, k.applied_from_month, k.class_under70, k.class_over70).where(
            k.superseded_at.is_(None),
            k.applied_from_month <= month,
            (k.applied_to_month.is_(None)) | (k.applied_to_month >= month),
        ),
        {
            "municipality_code": pl.String,
            "setai_no": pl.String,
            "applied_from_month": pl.String,
            "class_under70": pl.String,
            "class_over70": pl.String,
        },
    )
    in_force = periods.in_force(conn, first, last_day)
    claims = claims_read()
    matched = claims.join(
        in_force.select("municipality_code", "atena_no", "pref_person_id", "pref_household_id"),
        on=["municipality_code", "atena_no"],
        how="inner",
    )
    households = in_force.join(matched.select("pref_household_id").unique(), on="pref_household_id", how="semi")
    members = households.select(
        pl.col("pref_household_id").alias("household_id"), pl.col("pref_person_id").alias("member_id"), "birth_date"
    ).unique(["household_id", "member_id"])
    heads = households.group_by("pref_household_id").agg(
        pl.col("municipality_code").first(), pl.col("setai_no").first()
    )
    classes = classes_read().sort("applied_from_month").group_by("municipality_code", "setai_no").last()
    names = pl.DataFrame({"code": list(INCOME_CLASSES), "name": list(INCOME_CLASSES.values())})
    hh = (
        heads.join(classes, on=["municipality_code", "setai_no"], how="left")
        .join(names.rename({"code": "class_under70", "name": "under70_class"}), on="class_under70", how="left")
        .join(names.rename({"code": "class_over70", "name": "over70_class"}), on="class_over70", how="left")
        .with_columns(
            pl.col("class_over70").is_in(list(ESTIMATED_CLASSES)).fill_null(False).alias("over70_estimated"),
            pl.col("applied_from_month").is_null().alias("no_record"),
        )
    )
    prior = tasuukai.counts(conn, month).select(
        pl.col("household").cast(pl.Int64).alias("household_id"), pl.col("hit_count").alias("prior_hits")
    )
    moved = [int(household) for household in tasuukai.moved_mid_month(conn, month)]
    hh = (
        hh.rename({"pref_household_id": "household_id"})
        .with_columns(pl.col("household_id").is_in(moved).alias("in_prefecture_move"))
        .join(prior, on="household_id", how="left")
        .with_columns(pl.col("prior_hits").fill_null(0))
        .select(
            "household_id",
            "municipality_code",
            "setai_no",
            "under70_class",
            "over70_class",
            "over70_estimated",
            "no_record",
            "in_prefecture_move",
            "prior_hits",
        )
    )
    claim_frame = matched.select(
        pl.col("pref_household_id").alias("household_id"),
        pl.col("pref_person_id").alias("member_id"),
        "institution",
        pl.col("setting_code").replace_strict(SETTING).alias("setting"),
        "total_cost",
        "copay",
    )
    return MonthInputs(hh, members, claim_frame, claims.height - matched.height)


def run_month(ctx: Context, actor: Actor, month: str, out_dir: Path) -> RunSummary:
    dashed = _month_dash(month)
    month = dashed.replace("-", "")  # YYYY-MM was accepted too; the store keeps YYYYMM
    try:
        table = tables.table_for(dashed)
    except tables.NoTableInForce as exc:
        raise RunError(str(exc)) from None
    summary = RunSummary(month, table.id)
    h = hit_month.c
    with guarded(ctx, actor, "kogaku.run", target=month) as access:
        # Claims, records in force, classes and counts as of one moment: a file committed
        # while the month is read shows in none of them, not in some.
        with one_snapshot(ctx.engine) as reader:
            inputs = load_month(reader, month)
        summary.unmatched_claims = inputs.unmatched_claims
        result = (
            batch.calculate_month(dashed, table, inputs.households, inputs.members, inputs.claims)
            .join(
                inputs.households.select(
                    "household_id", "municipality_code", "setai_no", "prior_hits", "over70_estimated", "no_record"
                ),
                on="household_id",
            )
            .with_columns(ids_as_text("household_id"))  # from here on, as every list and table writes it
        )
        with ctx.engine.begin() as conn:
            # The federation's own hit months for this month replace those of any earlier run. A
            # second run of the month at once waits here until the first commits and then
            # supersedes what it recorded; without the lock both superseded the same rows and
            # both inserted. Taken here, not first: SQLite's one writer is not held while the
            # month is read and calculated (nothing read depends on this month's hit months).
            write_lock(conn, f"kogaku:{month}")
            now = ctx.clock()
            conn.execute(
                update(hit_month)
                .where(h.month == month, h.source == "federation", h.superseded_at.is_(None))
                .values(superseded_at=now)
            )
            hits = result.filter(pl.col("hit") != "none")
            bulk_insert(
                conn,
                hit_month,
                hits.select(
                    pl.col("household_id").alias("pref_household_id"),
                    pl.lit(month).alias("month"),
                    pl.when(pl.col("hit") == "household").then(pl.lit("1")).otherwise(pl.lit("2")).alias("kind"),
                    pl.lit("federation").alias("source"),
                    "payment",
                    pl.lit(now).alias("recorded_at"),
                ),
            )
            tasuukai.recount(conn, month, now)  # the stored 多数回 counts these months reach
            # Where a municipality's KGGT of the month has arrived: where the two sources disagree.
            differences = crosscheck.disagreements(conn, [month])
            summary.disagreements = differences.height
            by_municipality = _figures(result)
            for key, total in _totals(by_municipality).items():
                setattr(summary, key, total)
            conn.execute(
                insert(kogaku_run).values(
                    month=month,
                    cap_table=table.id,
                    run_at=now,
                    actor=actor.login_id,
                    households=summary.households,
                    paid_households=summary.paid_households,
                    payment_total=summary.payment_total,
                    household_hits=summary.household_hits,
                    unmatched_claims=summary.unmatched_claims,
                    unregistered=summary.unregistered,
                    by_municipality=json.dumps(by_municipality, ensure_ascii=False),
                )
            )
            access.log(conn, rows=result.height)
    summary.files = _write_lists(ctx, actor, result, differences, month, table.id, out_dir)
    log.info(
        "kogaku run by=%s month=%s households=%s paid=%s total=%s unmatched_claims=%s",
        actor.login_id,
        month,
        summary.households,
        summary.paid_households,
        summary.payment_total,
        summary.unmatched_claims,
    )
    return summary


@dataclass(frozen=True)
class RunRecord:
    """One `kogaku run` as recorded, cut to what the reader may see: a municipality's user
    gets its own municipalities' figures and totals over them only."""

    run_id: int
    month: str
    cap_table: str
    run_at: datetime
    actor: str
    households: int
    paid_households: int
    payment_total: int
    household_hits: int
    unmatched_claims: int | None  # the prefecture's figure: not shown to a municipality
    unregistered: int
    by_municipality: dict[str, dict[str, int]]


def _record(row: Any, scope: frozenset[str] | None) -> RunRecord:
    figures: dict[str, dict[str, int]] = json.loads(row.by_municipality)
    values = row._asdict() | {"by_municipality": figures}
    if scope is not None:
        figures = {code: f for code, f in figures.items() if code in scope}
        values |= _totals(figures) | {"by_municipality": figures, "unmatched_claims": None}
    return RunRecord(**values)


_FIGURES = ("households", "paid_households", "payment_total", "household_hits", "unregistered")


def _totals(figures: dict[str, dict[str, int]]) -> dict[str, int]:
    """The prefecture's (or a reader's) totals: the sum of the municipalities' figures."""
    return {key: sum(f[key] for f in figures.values()) for key in _FIGURES}


def runs(ctx: Context, actor: Actor, municipality_code: str | None = None, *, limit: int = 24) -> list[RunRecord]:
    """The recorded runs, newest first (a month run again appears once per run)."""
    r = kogaku_run.c
    with (
        guarded(ctx, actor, "kogaku.read", municipality_code, target="月次計算の一覧") as access,
        ctx.reading() as conn,
    ):
        rows = conn.execute(select(kogaku_run).order_by(r.run_id.desc()).limit(limit)).all()
        found = [_record(row, access.scope) for row in rows]
        access.done(rows=len(found))
    return found


def run_of(ctx: Context, actor: Actor, month: str, municipality_code: str | None = None) -> RunRecord:
    """The run in force for ``month`` (the newest)."""
    month = _month_dash(month).replace("-", "")
    r = kogaku_run.c
    with (
        guarded(ctx, actor, "kogaku.read", municipality_code, target=f"月次計算 {month}") as access,
        ctx.reading() as conn,
    ):
        row = conn.execute(select(kogaku_run).where(r.month == month).order_by(r.run_id.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(f"{Month.parse(month).dashed} の高額療養費はまだ計算されていません(kogaku run)")
        access.done(rows=1)
        return _record(row, access.scope)


def stale_months(conn: Connection) -> list[str]:
    """Months whose run in force was computed before an SKBN record that reaches them was
    recorded or corrected: a household's class changed (or arrived: 区分未登録) since, and
    the month must be run again (kogaku.md: a later SKBN recomputes every month it reaches)."""
    r, k = kogaku_run.c, income_class_change.c  # a few rows per SKBN file, not every class kept
    newest = select(r.month, func.max(r.run_at).label("run_at")).group_by(r.month).subquery()
    reaches = (k.applied_from_month <= newest.c.month) & (
        k.applied_to_month.is_(None) | (k.applied_to_month >= newest.c.month)
    )
    found = conn.execute(
        select(newest.c.month).where(exists().where(reaches, k.changed_at > newest.c.run_at)).order_by(newest.c.month)
    ).scalars()
    return list(found)


def stale(ctx: Context, actor: Actor) -> list[str]:
    """The months to run again (see ``stale_months``); no personal data."""
    with guarded(ctx, actor, "kogaku.read", target="再計算が必要な月") as access, ctx.reading() as conn:
        months = stale_months(conn)
        access.done(rows=len(months))
    return months


def _figures(result: pl.DataFrame) -> dict[str, dict[str, int]]:
    """The run's figures per municipality (code → households, paid, total, hits, 区分未登録)."""
    per = result.group_by("municipality_code").agg(
        pl.len().alias("households"),
        (pl.col("payment") > 0).sum().alias("paid_households"),
        pl.col("payment").sum().alias("payment_total"),
        (pl.col("hit") == "household").sum().alias("household_hits"),
        pl.col("unregistered").sum().alias("unregistered"),
    )
    figures: dict[str, dict[str, int]] = {}
    for row in per.sort("municipality_code").iter_rows(named=True):
        code = str(row.pop("municipality_code"))
        figures[code] = {k: int(v or 0) for k, v in row.items()}
    return figures


def _write_lists(
    ctx: Context,
    actor: Actor,
    result: pl.DataFrame,
    differences: pl.DataFrame,
    month: str,
    table_id: str,
    out_dir: Path,
) -> list[Path]:
    """Per municipality, the month's 支給一覧 (KGSK), and where it has any, its 区分未登録一覧
    (KBMT) and 突合結果 (KGCK): CSV, UTF-8 with BOM for spreadsheet users, released like every
    outbound file (the guard, a ledger row of its kind, fsync and rename after the commit). A
    refused list is recorded as blocked; the others still go."""
    listing = (
        result.filter(pl.col("hit") != "none")
        .sort("municipality_code", "setai_no")
        .select(
            "municipality_code",
            "setai_no",
            "household_id",
            pl.lit(month).alias("month"),
            pl.lit(table_id).alias("table"),
            "prior_hits",
            pl.col("tasuukai").cast(pl.Int8),
            pl.col("hit").replace_strict({"household": "1", "outpatient_only": "2"}),
            "outpatient_special",
            "over70_household",
            "household",
            "payment",
            pl.col("over70_estimated").cast(pl.Int8),
        )
    )
    listing.columns = list(LIST_COLUMNS)
    unknown = (
        result.filter(pl.col("unregistered"))
        .sort("municipality_code", "setai_no")
        .select(
            "municipality_code",
            "setai_no",
            "household_id",
            pl.lit(month).alias("month"),
            pl.col("no_record").replace_strict(UNREGISTERED_REASON, return_dtype=pl.String),
        )
    )
    unknown.columns = list(UNREGISTERED_COLUMNS)
    checked = differences.select(
        "municipality_code",
        "setai_no",
        "household",
        "month",
        "code",
        pl.col("code").replace_strict(crosscheck.MESSAGES, return_dtype=pl.String).alias("message"),
    )
    checked.columns = list(CROSSCHECK_COLUMNS)

    def one_list(
        kind: str, columns: tuple[str, ...], code: str, part: pl.DataFrame
    ) -> Callable[[Connection], outbox.Staged]:
        rows = [["" if v is None else str(v) for v in row] for row in part.rows()]
        text = part.write_csv(line_terminator="\r\n")
        return lambda conn: outbox.release_document(
            conn,
            ctx.vault,
            layout=outbox.OutboundLayout(kind, columns),
            municipality_code=code,
            filename=f"{code}_{kind}_{month}.csv",
            rows=rows,
            text=text,
            payload=b"\xef\xbb\xbf" + text.encode("utf-8"),
            out_dir=out_dir,
            now=ctx.clock(),
            actor=actor.login_id,
        )

    builds = [
        one_list(kind, columns, str(code), part)
        for kind, columns, frame in (
            ("KGSK", LIST_COLUMNS, listing),
            ("KBMT", UNREGISTERED_COLUMNS, unknown),
            ("KGCK", CROSSCHECK_COLUMNS, checked),
        )
        for (code,), part in frame.group_by("市町村コード", maintain_order=True)
    ]
    return outbox.release_each(ctx.engine, out_dir, iter(builds)).raise_if_blocked()

"""Find household changes in the store and keep one candidate per judgement.

A person's *state* on a day is the household (and head flag) of their record in force in
the municipality that covers them that day: per municipality the latest 履歴 whose 異動年月日
has come, if its 適用 period covers the day and NHI has not ended; of two municipalities
covering the same day (the 転出 has not arrived yet) the later 適用開始 wins. A change is a
day on which a person's state differs from the day before. Because states are read from
every municipality's records at once, the order in which the 転出 and the 転入 arrive does
not change the judgement: a candidate judged on partial data is withdrawn and replaced
when the rest arrives (decided candidates are kept as they are).

A file does not judge: it queues the persons whose household it may have changed
(``queue``), and the run judges every queued person at its end in one pass
(``judge_pending``) — one set of reads over all the run's movers instead of one a file, and
no candidate proposed on a file's partial view only to be withdrawn by the next file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, func, insert, select, update

from shuyaku.db.engine import bulk_insert
from shuyaku.db.locks import write_lock
from shuyaku.db.query import Lookup, read_frame
from shuyaku.db.schema import continuity_candidate, continuity_pending
from shuyaku.household import rules
from shuyaku.qualification import periods
from shuyaku.qualification.households import keys_of


class CandidateStatus(StrEnum):
    """Where a continuity candidate stands (proposed → confirmed / rejected; withdrawn when
    data that arrived later replaced a proposal)."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


PROPOSED, CONFIRMED, REJECTED, WITHDRAWN = (
    CandidateStatus.PROPOSED,
    CandidateStatus.CONFIRMED,
    CandidateStatus.REJECTED,
    CandidateStatus.WITHDRAWN,
)
IN_PREFECTURE_MOVE_OUT = "12"

_c = continuity_candidate.c
# The changes of some households (as source or as target) with proposed candidates.
_PROPOSED_BY = [
    Lookup(
        [_c.from_household, _c.change_date],
        column,
        _c.status == PROPOSED,
        _c.rule != "K8",
        schema={"from_household": pl.String, "change_date": pl.Date},
    )
    for column in (_c.from_household, _c.to_household)
]
_CANDIDATE_SCHEMA = {
    "candidate_id": pl.Int64,
    "from_household": pl.String,
    "to_household": pl.String,
    "change_date": pl.Date,
    "rule": pl.String,
    "continuous": pl.Boolean,
    "status": pl.String,
}
# The candidates of some source households that are not withdrawn.
_CANDIDATES_FROM = Lookup.of(continuity_candidate, _CANDIDATE_SCHEMA, "from_household", _c.status != WITHDRAWN)


def states(records: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
    """(pref_person_id, day) → pref_household_id, is_head, municipality_code; no row = not covered."""
    day = pl.col("day")
    return (
        queries.join(records, on="pref_person_id")
        .filter(pl.col("change_date") <= day)
        .sort("history_no")
        .group_by("pref_person_id", "day", "municipality_code", "atena_no")
        .last()
        .filter(
            (pl.col("applied_from") <= day)
            & (pl.col("applied_to").is_null() | (pl.col("applied_to") >= day))
            & (pl.col("qualified_until").is_null() | (pl.col("qualified_until") > day))
        )
        .sort("applied_from")
        .group_by("pref_person_id", "day")
        .last()
        .select("pref_person_id", "day", "pref_household_id", "is_head", "municipality_code")
    )


def _states_and_day_before(records: pl.DataFrame, queries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``states`` on each queried day, and on the day before it (under the queried day's
    date): one pass over the records for both."""
    one = pl.duration(days=1)
    wanted = pl.concat([queries, queries.with_columns(pl.col("day") - one)]).unique()
    found = states(records, wanted)
    on_day = found.join(queries, on=["pref_person_id", "day"], how="semi")
    day_before = found.with_columns(pl.col("day") + one).join(queries, on=["pref_person_id", "day"], how="semi")
    return on_day, day_before


def _change_days(records: pl.DataFrame) -> pl.DataFrame:
    one = pl.duration(days=1)
    days = pl.concat(
        [
            records.select("pref_person_id", pl.col(c).alias("day"))
            for c in ("change_date", "applied_from", "qualified_until")
        ]
        + [records.select("pref_person_id", (pl.col("applied_to") + one).alias("day"))]
    )
    return days.drop_nulls().unique()


def transitions(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(changes between two households or of the head flag, returns after a loss of NHI)."""
    days = _change_days(records)
    now, before = _states_and_day_before(records, days)
    both = days.join(before, on=["pref_person_id", "day"], how="left").join(
        now, on=["pref_person_id", "day"], how="left", suffix="_now"
    )
    moved = both.filter(
        pl.col("pref_household_id").is_not_null()
        & pl.col("pref_household_id_now").is_not_null()
        & (
            (pl.col("pref_household_id") != pl.col("pref_household_id_now"))
            | (pl.col("is_head") != pl.col("is_head_now"))
        )
    )
    arrivals = both.filter(pl.col("pref_household_id").is_null() & pl.col("pref_household_id_now").is_not_null())
    # A return: NHI had ended (not a 県内転出) in another household before the arrival.
    ended = records.filter(
        pl.col("qualified_until").is_not_null()
        & (pl.col("qualified_until_reason").fill_null("") != IN_PREFECTURE_MOVE_OUT)
    )
    returns = (
        arrivals.join(
            ended.select("pref_person_id", pl.col("pref_household_id").alias("old_household"), "qualified_until"),
            on="pref_person_id",
        )
        .filter(
            (pl.col("qualified_until") <= pl.col("day")) & (pl.col("old_household") != pl.col("pref_household_id_now"))
        )
        .sort("qualified_until")
        .group_by("pref_person_id", "day")
        .last()
    )
    return moved.select("pref_person_id", "day", pl.col("pref_household_id").alias("source")), returns


def queue(conn: Connection, persons: list[str], file_id: int, now: datetime) -> None:
    """Queue persons whose household this file may have changed, in the file's transaction:
    the run judges them at its end (``judge_pending``)."""
    if persons:
        bulk_insert(
            conn,
            continuity_pending,
            pl.DataFrame({"pref_person_id": persons}, schema={"pref_person_id": pl.String}).with_columns(
                pl.lit(file_id).alias("file_id"), pl.lit(now).alias("queued_at")
            ),
        )


def pending_count(conn: Connection) -> int:
    """Queued persons not judged yet (a run killed before its end leaves them)."""
    return int(conn.execute(select(func.count()).select_from(continuity_pending)).scalar_one())


@dataclass(frozen=True)
class Judged:
    persons: int  # distinct persons judged
    proposed: int  # candidates added (proposed or confirmed automatically)
    confirmed_since: str | None  # earliest month (YYYYMM) of an automatic confirmation


NOTHING_JUDGED = Judged(0, 0, None)


LOCK = "continuity"


def judge_pending(conn: Connection, *, now: datetime, auto_confirm_k1: bool) -> Judged:
    """Judge every queued person at once and take them off the queue, in the caller's
    transaction. Judgements are serialised (a lock), and only what was committed to the
    queue when this began is taken: a file committing meanwhile leaves its persons for its
    own run's judgement. Each candidate names the latest file that queued one of its persons."""
    write_lock(conn, LOCK)
    taken = conn.execute(
        delete(continuity_pending).returning(continuity_pending.c.pref_person_id, continuity_pending.c.file_id)
    ).all()
    file_of: dict[str, int] = {}
    for person, file_id in taken:
        file_of[person] = max(file_id, file_of.get(person, file_id))
    return detect(conn, file_of, now=now, auto_confirm_k1=auto_confirm_k1)


def detect(conn: Connection, file_of: Mapping[str, int], *, now: datetime, auto_confirm_k1: bool) -> Judged:
    """Judge every change of these persons' households and keep the candidates (``file_of``:
    each person → the file that changed them). ``confirmed_since``: the counts from that
    month on must be recomputed."""
    persons = sorted(file_of)
    if not persons:
        return NOTHING_JUDGED
    records = periods.current_records(conn, persons)
    moved, returns = transitions(records)
    judgements: list[tuple[rules.Judgement, date]] = []
    # The changes found now, and those of these persons' households that have proposed
    # candidates already: judged again, a change a correction took away loses its candidates.
    households = records["pref_household_id"].unique().to_list()
    earlier = pl.concat([proposed(conn, households) for proposed in _PROPOSED_BY]).rename(
        {"from_household": "source", "change_date": "day"}
    )
    events = pl.concat([moved.select("source", "day"), earlier]).unique().sort("source", "day")
    if events.height:
        judgements += _judge_events(conn, events)
    for row in returns.iter_rows(named=True):
        judgements.append(
            (
                rules.returned_after_loss(row["old_household"], row["pref_household_id_now"], row["pref_person_id"]),
                row["day"],
            )
        )
    judged_events = {(s, d) for s, d in events.iter_rows()} | {(j.source, d) for j, d in judgements}
    added = _keep(conn, judgements, judged_events, file_of=file_of, now=now, auto_confirm_k1=auto_confirm_k1)
    confirmed = [r["change_date"] for r in added if r["status"] == CONFIRMED]
    return Judged(len(persons), len(added), min(confirmed).strftime("%Y%m") if confirmed else None)


def _judge_events(conn: Connection, events: pl.DataFrame) -> list[tuple[rules.Judgement, date]]:
    """Judge each (source household, day). A household's members on a day are among the
    persons any current row places in it, so each event reads the states of those ever in
    its source and of those ever in a household a member of the source is in on its day —
    on its own day only: a run's events spread over many days, and every person on every
    day would grow as their product."""
    on_day = events.select(pl.col("source").alias("pref_household_id"), "day")
    ever_in = periods.members_of(conn, on_day["pref_household_id"].unique().to_list())
    members = on_day.join(ever_in, on="pref_household_id").select("pref_person_id", "day").unique()
    after = states(periods.current_records(conn, members["pref_person_id"].unique().to_list()), members)
    # The households the sources' members are in on each day, and everybody ever in those.
    targets = after.select("pref_household_id", "day").unique()
    ever_in = periods.members_of(conn, targets["pref_household_id"].unique().to_list())
    queries = pl.concat(
        [members, targets.join(ever_in, on="pref_household_id").select("pref_person_id", "day")]
    ).unique()
    records = periods.current_records(conn, queries["pref_person_id"].unique().to_list())
    after, before = _states_and_day_before(records, queries)
    munis = _municipalities(
        conn, set(after["pref_household_id"].to_list()) | set(before["pref_household_id"].to_list())
    )

    def members_of(frame: pl.DataFrame) -> dict[tuple[str, date], tuple[rules.Member, ...]]:
        out: dict[tuple[str, date], list[rules.Member]] = {}
        for person, day, household, head in (
            frame.select("pref_person_id", "day", "pref_household_id", "is_head").sort("pref_person_id").iter_rows()
        ):
            out.setdefault((household, day), []).append(rules.Member(person, head))
        return {k: tuple(v) for k, v in out.items()}

    was, now = members_of(before), members_of(after)
    where_now = {(p, d): h for p, d, h in after.select("pref_person_id", "day", "pref_household_id").iter_rows()}

    def household(hh: str, day: date) -> rules.Household:
        return rules.Household(hh, munis.get(hh, ("", ""))[0], was.get((hh, day), ()), now.get((hh, day), ()))

    out: list[tuple[rules.Judgement, date]] = []
    for source, day in events.iter_rows():
        src = household(source, day)
        lost = frozenset(m.person for m in src.before if (m.person, day) not in where_now)
        elsewhere = sorted({where_now[(m.person, day)] for m in src.before if (m.person, day) in where_now} - {source})
        change = rules.Change(src, day, tuple(household(h, day) for h in elsewhere), lost)
        out.extend((j, day) for j in rules.judge(change))
    return out


def _municipalities(conn: Connection, households: set[str]) -> dict[str, tuple[str, str]]:
    return {h: (m, s) for h, m, s in keys_of(conn, sorted(households)).iter_rows()}


CONFIRMED_SCHEMA = {
    "candidate_id": pl.Int64,
    "src": pl.String,  # from_household
    "dst": pl.String,  # to_household
    "change_date": pl.Date,
    "continuous": pl.Boolean,
    "from_municipality_code": pl.String,
    "to_municipality_code": pl.String,
}


def confirmed(conn: Connection) -> pl.DataFrame:
    """Every confirmed candidate (what 多数回 carries counts along), in one bulk read
    (``CONFIRMED_SCHEMA``)."""
    c = continuity_candidate.c
    return read_frame(
        conn,
        select(
            c.candidate_id,
            c.from_household,
            c.to_household,
            c.change_date,
            c.continuous,
            c.from_municipality_code,
            c.to_municipality_code,
        ).where(c.status == CONFIRMED),
        CONFIRMED_SCHEMA,
    )


def linked_into(conn: Connection, households: list[str]) -> list[Any]:
    """Every candidate that is not withdrawn whose destination is one of the households."""
    c = continuity_candidate.c
    return list(
        conn.execute(select(continuity_candidate).where(c.to_household.in_(households), c.status != WITHDRAWN)).all()
    )


def _keep(
    conn: Connection,
    judgements: list[tuple[rules.Judgement, date]],
    judged_events: set[tuple[str, date]],
    *,
    file_of: Mapping[str, int],
    now: datetime,
    auto_confirm_k1: bool,
) -> list[dict[str, Any]]:
    """Insert new judgements; withdraw proposed candidates of the same changes that the
    data no longer supports (or judges differently). Decided candidates stay. Returns the
    rows inserted."""
    c = continuity_candidate.c
    sources = sorted({s for s, _ in judged_events})
    existing = _CANDIDATES_FROM(conn, sources)
    wanted = {(j.source, j.target, d, j.rule, j.continuous) for j, d in judgements}
    kept: set[tuple[str, str, date]] = set()
    withdraw: list[int] = []
    for cid, src, dst, day, rule, cont, status in existing.iter_rows():
        if (src, day) not in judged_events:
            continue
        if status != PROPOSED or (src, dst, day, rule, cont) in wanted:
            kept.add((src, dst, day))
        else:
            withdraw.append(cid)
    if withdraw:
        conn.execute(
            update(continuity_candidate)
            .where(c.candidate_id.in_(withdraw))
            .values(
                status=WITHDRAWN,
                decided_at=now,
                decided_by="system",
                decision_note="再判定により取り下げ(後から届いた異動で判定が変わりました)",
            )
        )
    munis = _municipalities(conn, {j.source for j, _ in judgements} | {j.target for j, _ in judgements})
    latest = max(file_of.values())
    rows: list[dict[str, Any]] = []
    for j, day in judgements:
        if (j.source, j.target, day) in kept:
            continue
        kept.add((j.source, j.target, day))
        auto = auto_confirm_k1 and j.rule == rules.AUTO_CONFIRMABLE
        rows.append(
            {
                "from_household": j.source,
                "from_municipality_code": munis.get(j.source, ("", ""))[0],
                "from_setai_no": munis.get(j.source, ("", ""))[1],
                "to_household": j.target,
                "to_municipality_code": munis.get(j.target, ("", ""))[0],
                "to_setai_no": munis.get(j.target, ("", ""))[1],
                "change_date": day,
                "rule": j.rule,
                "continuous": j.continuous,
                "status": CONFIRMED if auto else PROPOSED,
                "reason": j.reason,
                "persons": json.dumps(j.persons, ensure_ascii=False),
                "households": json.dumps(list(j.households)),
                "proposed_at": now,
                "file_id": max((file_of[p] for p in j.persons if p in file_of), default=latest),
                "decided_by": "system(K1自動確定)" if auto else None,
                "decided_at": now if auto else None,
            }
        )
    if rows:
        conn.execute(insert(continuity_candidate), rows)
    return rows

"""Clock helpers. Times are stored in UTC; 日付 shown to staff and in files are JST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")


def utc_now() -> datetime:
    return datetime.now(UTC)


def jst_date(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def jst_stamp(moment: datetime) -> str:
    """``YYYYMMDDhhmmss`` in JST, the timestamp form of the exchange files."""
    return moment.astimezone(JST).strftime("%Y%m%d%H%M%S")


def shown(moment: datetime | None, seconds: bool = False) -> str:
    """A stored time as a person reads it: Japan time with its offset marked
    (``2026-11-29 13:20+09:00``). A naive value is UTC (SQLite returns stored UTC naive)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S+09:00" if seconds else "%Y-%m-%d %H:%M+09:00")

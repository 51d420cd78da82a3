"""The moments and date ranges reads take: ISO 8601 with a zone, and report periods."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from ledger.application.errors import InvalidQuery
from projections.logic import timestamp_text
from projections.reports import month_bounds

_PERIOD = re.compile(r"^(19|[2-8][0-9])\d{2}-(0[1-9]|1[0-2])$")  # 1900-01 .. 8999-12
MAX_REPORT_DAYS = 366


def moment(value: str | None, name: str) -> str | None:
    """An ISO 8601 date-time with a zone, as the read models' fixed-width UTC text."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"{name} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidQuery(f"{name} must carry a time zone (e.g. Z)")
    if not 1900 <= parsed.year <= 9000:
        raise InvalidQuery(f"{name} must be between the years 1900 and 9000")
    return timestamp_text(parsed)


def effective_time(value: str | None, name: str) -> datetime | None:
    """When a provider says something happened (ISO 8601 with a zone), or None for now."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"{name} must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidQuery(f"{name} must carry a time zone (e.g. Z)")
    if not 1900 <= parsed.year <= 9000:
        raise InvalidQuery(f"{name} must be between the years 1900 and 9000")
    return parsed


def period(value: str) -> str:
    """An accounting period: YYYY-MM."""
    if not _PERIOD.match(value):
        raise InvalidQuery("period must be YYYY-MM, from 1900 to 8999")
    return value


def report_range(period: str | None, start: str | None, end: str | None) -> tuple[date, date]:
    """Either period=YYYY-MM or from/to (inclusive dates); returns [start, end)."""
    if period is not None:
        if start is not None or end is not None:
            raise InvalidQuery("give either period or from/to, not both")
        if not _PERIOD.match(period):
            raise InvalidQuery("period must be YYYY-MM, from 1900 to 8999")
        return month_bounds(period)
    if start is None or end is None:
        raise InvalidQuery("give period=YYYY-MM, or both from and to")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidQuery("from and to must be YYYY-MM-DD dates") from None
    if not (1900 <= first.year <= 8999 and 1900 <= last.year <= 8999):
        raise InvalidQuery("from and to must fall between 1900 and 8999")
    if last < first or (last - first).days >= MAX_REPORT_DAYS:
        raise InvalidQuery(f"to must be on or after from, within {MAX_REPORT_DAYS} days")
    return first, last + timedelta(days=1)

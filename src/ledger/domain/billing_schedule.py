"""Billing dates for subscriptions: pure functions of an anchor date, an interval and an index.

The anchor is the first billing date (the trial's end when there is a trial, else the start date,
as Stripe does). Billing is in advance: period n runs from ``period_start(anchor, interval, n)``
up to (not including) ``period_start(anchor, interval, n + 1)`` and is charged on its first day.

Every date is computed from the anchor and n, never from the previous period's date, so a clamped
month end does not drift: anchor Jan 31 gives Feb 28 (29 in a leap year), Mar 31, Apr 30, May 31.
A yearly anchor of Feb 29 gives Feb 28 in common years and Feb 29 again in leap years. A weekly
anchor keeps its weekday.

A period's key is the ISO date its period starts on (``"2026-03-31"``): start dates strictly
increase with n, so the key names exactly one period of a subscription and never changes. The
application puts it (with the attempt number) into the idempotency key of the period's charge.

Dunning: after a period's first attempt fails, retries follow a tuple of day offsets counted from
that first failure (which is the due date when billing runs on time): (1, 3, 7) retries on the
day after, three days after and a week after. When every retry has failed the subscription is
canceled.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from itertools import pairwise
from typing import Literal, get_args

from ledger.domain.errors import InvalidInput

Interval = Literal["weekly", "monthly", "yearly"]
INTERVALS: tuple[str, ...] = get_args(Interval)

DEFAULT_DUNNING: tuple[int, ...] = (1, 3, 7)
MAX_DUNNING_RETRIES = 10
MAX_DUNNING_OFFSET_DAYS = 60
MAX_TRIAL_DAYS = 730


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _require_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")


def period_start(anchor: date, interval: str, n: int) -> date:
    """The n-th billing date (n = 0 is the anchor itself)."""
    _require_interval(interval)
    if n < 0:
        raise ValueError("period index must not be negative")
    if interval == "weekly":
        return anchor + timedelta(weeks=n)
    if interval == "monthly":
        year, month_index = divmod(anchor.month - 1 + n, 12)
        year += anchor.year
        month = month_index + 1
    else:
        year, month = anchor.year + n, anchor.month
    if year > date.max.year:
        raise ValueError("billing date beyond the year 9999")
    return date(year, month, min(anchor.day, days_in_month(year, month)))


def period_end(anchor: date, interval: str, n: int) -> date:
    """The first day after period n, which is period n + 1's billing date."""
    return period_start(anchor, interval, n + 1)


def period_key(anchor: date, interval: str, n: int) -> str:
    return period_start(anchor, interval, n).isoformat()


def period_containing(anchor: date, interval: str, day: date) -> int | None:
    """The index of the period that day falls in; None before the anchor."""
    _require_interval(interval)
    if day < anchor:
        return None
    if interval == "weekly":
        return (day - anchor).days // 7
    if interval == "monthly":
        n = (day.year - anchor.year) * 12 + day.month - anchor.month
    else:
        n = day.year - anchor.year
    # period_start(n) falls in day's month (or year): if it is later than day, day is in n - 1.
    return n - 1 if period_start(anchor, interval, n) > day else n


def next_due(anchor: date, interval: str, after: date) -> date:
    """The first billing date strictly after the given day."""
    n = period_containing(anchor, interval, after)
    return anchor if n is None else period_start(anchor, interval, n + 1)


def first_billing_date(start: date, trial_days: int) -> date:
    """The anchor of a subscription starting on start: the day its trial ends (start if none)."""
    return start + timedelta(days=trial_days)


def validate_dunning(offsets: Sequence[int]) -> tuple[int, ...]:
    """Day offsets of the retries: strictly increasing whole days, at most 10 retries."""
    values = tuple(offsets)
    if len(values) > MAX_DUNNING_RETRIES:
        raise InvalidInput(f"dunning allows at most {MAX_DUNNING_RETRIES} retries")
    for value in values:
        if type(value) is not int or not 1 <= value <= MAX_DUNNING_OFFSET_DAYS:
            raise InvalidInput(
                f"dunning offsets must be whole days from 1 to {MAX_DUNNING_OFFSET_DAYS}"
            )
    if any(later <= earlier for earlier, later in pairwise(values)):
        raise InvalidInput("dunning offsets must be strictly increasing")
    return values


def next_retry(
    dunning: Sequence[int], *, failures: int, first_failed_on: date, last_failed_on: date
) -> date | None:
    """When to retry a period after its failures-th failed attempt; None when none is left.

    Offsets count from the first failure, so a period first attempted late keeps the schedule's
    shape. A retry is never earlier than the day after the last failure: a late billing run
    must not fire several retries at once.
    """
    if failures < 1:
        raise ValueError("failures must be at least 1")
    if failures > len(dunning):
        return None
    scheduled = first_failed_on + timedelta(days=dunning[failures - 1])
    return max(scheduled, last_failed_on + timedelta(days=1))

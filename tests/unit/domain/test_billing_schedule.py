from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.billing_schedule import (
    DEFAULT_DUNNING,
    INTERVALS,
    days_in_month,
    first_billing_date,
    next_due,
    next_retry,
    period_containing,
    period_end,
    period_key,
    period_start,
    validate_dunning,
)
from ledger.domain.errors import InvalidInput

anchors = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
intervals = st.sampled_from(INTERVALS)
indexes = st.integers(min_value=0, max_value=600)


def starts(anchor: date, interval: str, count: int) -> list[date]:
    return [period_start(anchor, interval, n) for n in range(count)]


def test_monthly_31st_clamps_through_a_common_and_a_leap_year_without_drift() -> None:
    assert starts(date(2027, 1, 31), "monthly", 15) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
        date(2027, 7, 31),
        date(2027, 8, 31),
        date(2027, 9, 30),
        date(2027, 10, 31),
        date(2027, 11, 30),
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
    ]


@pytest.mark.parametrize(
    ("anchor", "february", "march"),
    [
        (date(2027, 1, 30), date(2027, 2, 28), date(2027, 3, 30)),
        (date(2027, 1, 29), date(2027, 2, 28), date(2027, 3, 29)),
        (date(2028, 1, 29), date(2028, 2, 29), date(2028, 3, 29)),
        (date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)),
        (date(2027, 1, 28), date(2027, 2, 28), date(2027, 3, 28)),
    ],
)
def test_monthly_clamps_in_february_and_returns_to_the_anchor_day(
    anchor: date, february: date, march: date
) -> None:
    assert period_start(anchor, "monthly", 1) == february
    assert period_start(anchor, "monthly", 2) == march


def test_monthly_anchored_in_a_short_month_keeps_its_day() -> None:
    assert starts(date(2027, 2, 28), "monthly", 3) == [
        date(2027, 2, 28),
        date(2027, 3, 28),
        date(2027, 4, 28),
    ]


def test_monthly_crosses_year_ends() -> None:
    assert period_start(date(2026, 11, 15), "monthly", 2) == date(2027, 1, 15)
    assert period_start(date(2026, 11, 15), "monthly", 26) == date(2029, 1, 15)


def test_yearly_feb_29_is_feb_28_in_common_years_and_feb_29_in_leap_years() -> None:
    assert starts(date(2028, 2, 29), "yearly", 5) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]
    # 2100 is not a leap year.
    assert period_start(date(2096, 2, 29), "yearly", 4) == date(2100, 2, 28)


def test_yearly_keeps_month_and_day() -> None:
    assert starts(date(2026, 3, 10), "yearly", 3) == [
        date(2026, 3, 10),
        date(2027, 3, 10),
        date(2028, 3, 10),
    ]


def test_weekly_keeps_the_weekday() -> None:
    anchor = date(2026, 3, 11)  # a Wednesday
    dates = starts(anchor, "weekly", 6)
    assert dates[1] == date(2026, 3, 18)
    assert dates[5] == date(2026, 4, 15)
    assert {d.weekday() for d in dates} == {2}


def test_period_key_is_the_iso_start_date_and_end_is_the_next_start() -> None:
    anchor = date(2027, 1, 31)
    assert period_key(anchor, "monthly", 1) == "2027-02-28"
    assert period_end(anchor, "monthly", 1) == date(2027, 3, 31)


def test_period_containing_uses_the_clamped_boundaries() -> None:
    anchor = date(2027, 1, 31)
    assert period_containing(anchor, "monthly", date(2027, 1, 30)) is None
    assert period_containing(anchor, "monthly", date(2027, 1, 31)) == 0
    assert period_containing(anchor, "monthly", date(2027, 2, 27)) == 0
    assert period_containing(anchor, "monthly", date(2027, 2, 28)) == 1
    assert period_containing(anchor, "monthly", date(2027, 3, 30)) == 1
    assert period_containing(anchor, "monthly", date(2027, 3, 31)) == 2
    assert period_containing(date(2028, 2, 29), "yearly", date(2029, 2, 27)) == 0
    assert period_containing(date(2028, 2, 29), "yearly", date(2029, 2, 28)) == 1
    assert period_containing(date(2026, 3, 11), "weekly", date(2026, 3, 17)) == 0
    assert period_containing(date(2026, 3, 11), "weekly", date(2026, 3, 18)) == 1


def test_next_due_is_strictly_after_the_day() -> None:
    anchor = date(2027, 1, 31)
    assert next_due(anchor, "monthly", date(2026, 12, 1)) == anchor
    assert next_due(anchor, "monthly", date(2027, 1, 31)) == date(2027, 2, 28)
    assert next_due(anchor, "monthly", date(2027, 2, 28)) == date(2027, 3, 31)


def test_unknown_interval_and_negative_index_are_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        period_start(date(2026, 1, 1), "daily", 1)
    with pytest.raises(ValueError, match="negative"):
        period_start(date(2026, 1, 1), "monthly", -1)
    with pytest.raises(ValueError, match="9999"):
        period_start(date(9999, 1, 1), "monthly", 12)


def test_trial_moves_the_first_billing_date() -> None:
    assert first_billing_date(date(2026, 1, 20), 0) == date(2026, 1, 20)
    assert first_billing_date(date(2026, 1, 20), 14) == date(2026, 2, 3)


def test_default_dunning_retries_one_three_and_seven_days_after_the_due_date() -> None:
    due = date(2026, 3, 31)
    retries = []
    failed_on = due
    for failures in range(1, 5):
        retry = next_retry(
            DEFAULT_DUNNING, failures=failures, first_failed_on=due, last_failed_on=failed_on
        )
        retries.append(retry)
        if retry is not None:
            failed_on = retry
    assert retries == [date(2026, 4, 1), date(2026, 4, 3), date(2026, 4, 7), None]


def test_dunning_counts_from_the_first_failure_and_never_fires_twice_a_day() -> None:
    first = date(2026, 3, 10)
    assert next_retry((1, 3, 7), failures=1, first_failed_on=first, last_failed_on=first) == date(
        2026, 3, 11
    )
    # Retry 1 only ran on the 20th: retry 2, scheduled for the 13th, moves to the day after.
    assert next_retry(
        (1, 3, 7), failures=2, first_failed_on=first, last_failed_on=date(2026, 3, 20)
    ) == date(2026, 3, 21)
    assert next_retry((), failures=1, first_failed_on=first, last_failed_on=first) is None
    with pytest.raises(ValueError, match="failures"):
        next_retry((1,), failures=0, first_failed_on=first, last_failed_on=first)


def test_validate_dunning_accepts_increasing_whole_days() -> None:
    assert validate_dunning([2, 5, 10]) == (2, 5, 10)
    assert validate_dunning(()) == ()


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        ((3, 1), "strictly increasing"),
        ((1, 1), "strictly increasing"),
        ((0, 1), "whole days from 1 to 60"),
        ((61,), "whole days from 1 to 60"),
        ((True,), "whole days"),
        (("1",), "whole days"),
        (tuple(range(1, 12)), "at most 10 retries"),
    ],
)
def test_validate_dunning_refuses(offsets: tuple[object, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_dunning(offsets)  # type: ignore[arg-type]


# ----- properties ------------------------------------------------------------------------------
@given(anchor=anchors, interval=intervals, n=indexes)
def test_consecutive_billing_dates_strictly_increase(anchor: date, interval: str, n: int) -> None:
    assert period_start(anchor, interval, n) < period_start(anchor, interval, n + 1)


@given(anchor=anchors, n=indexes)
def test_monthly_dates_fall_on_the_anchor_day_or_the_month_end(anchor: date, n: int) -> None:
    billed = period_start(anchor, "monthly", n)
    months = (billed.year - anchor.year) * 12 + billed.month - anchor.month
    assert months == n
    assert billed.day == min(anchor.day, days_in_month(billed.year, billed.month))


@given(anchor=anchors, n=indexes)
def test_yearly_dates_keep_the_month_and_clamp_the_day(anchor: date, n: int) -> None:
    billed = period_start(anchor, "yearly", n)
    assert (billed.year, billed.month) == (anchor.year + n, anchor.month)
    assert billed.day == min(anchor.day, days_in_month(billed.year, billed.month))


@given(anchor=anchors, n=indexes)
def test_weekly_dates_are_seven_days_apart(anchor: date, n: int) -> None:
    assert period_start(anchor, "weekly", n) - anchor == timedelta(weeks=n)


@given(anchor=anchors, interval=intervals, n=indexes)
def test_each_period_holds_exactly_one_billing_date(anchor: date, interval: str, n: int) -> None:
    start = period_start(anchor, interval, n)
    last_day = period_start(anchor, interval, n + 1) - timedelta(days=1)
    assert period_containing(anchor, interval, start) == n
    assert period_containing(anchor, interval, last_day) == n
    assert next_due(anchor, interval, start) == period_start(anchor, interval, n + 1)
    assert next_due(anchor, interval, last_day) == period_start(anchor, interval, n + 1)


@given(anchor=anchors, interval=intervals, offset=st.integers(min_value=0, max_value=20_000))
def test_any_day_lies_in_the_period_that_contains_it(
    anchor: date, interval: str, offset: int
) -> None:
    day = anchor + timedelta(days=offset)
    n = period_containing(anchor, interval, day)
    assert n is not None
    assert period_start(anchor, interval, n) <= day < period_start(anchor, interval, n + 1)

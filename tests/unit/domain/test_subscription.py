from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import cycle
from typing import Any

import pytest
from eventsourcing.application import Application
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.base import using_clock
from ledger.domain.billing_schedule import INTERVALS, period_start
from ledger.domain.errors import IllegalTransition, InvalidInput, SplitsMismatch, UnknownCurrency
from ledger.domain.subscription import Charge, Subscription

TODAY = date(2026, 1, 31)


def at(day: date) -> Any:
    return using_clock(lambda: datetime(day.year, day.month, day.day, 9, tzinfo=UTC))


def fields(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer_id": "cus_1",
        "provider": "sandbox",
        "payment_method": "pm_tok_visa",
        "amount": 1000,
        "currency_code": "USD",
        "splits": [
            {"manufacturer_id": "mfr_a", "amount": 600},
            {"manufacturer_id": "mfr_b", "amount": 400},
        ],
        "interval": "monthly",
    }
    base.update(overrides)
    return base


def start(**overrides: Any) -> Subscription:
    with at(TODAY):
        return Subscription.start(**fields(**overrides))


def event_names(subscription: Subscription) -> list[str]:
    return [type(e).__name__ for e in subscription.pending_events]


def due(subscription: Subscription, day: date) -> Charge:
    charge = subscription.due_charge(day)
    assert charge is not None, f"expected a charge on {day}"
    return charge


def pay(subscription: Subscription, day: date, payment_id: str = "pay_x") -> Charge:
    charge = due(subscription, day)
    assert subscription.record_charge_succeeded(charge.period, payment_id, charge.attempt)
    return charge


def decline(subscription: Subscription, day: date) -> Charge:
    charge = due(subscription, day)
    recorded = subscription.record_charge_failed(
        charge.period, f"pay_{day}", charge.attempt, "card_declined", failed_on=day
    )
    assert recorded
    return charge


# ----- starting ----------------------------------------------------------------------------
def test_start_without_trial_charges_on_the_start_date() -> None:
    subscription = start(id_seed="req-1")
    assert subscription.status == "active"
    assert subscription.trial_ends_on is None
    assert subscription.anchor == TODAY
    assert subscription.dunning == [1, 3, 7]
    assert subscription.due_charge(TODAY - timedelta(days=1)) is None
    charge = due(subscription, TODAY)
    assert charge.period == "2026-01-31"
    assert (charge.period_start, charge.period_end) == (TODAY, date(2026, 2, 28))
    assert (charge.attempt, charge.amount, charge.currency) == (1, 1000, "USD")
    assert charge.payment_method == "pm_tok_visa"
    assert [s["amount"] for s in charge.splits] == [600, 400]
    assert charge.id_seed == f"subscription:{subscription.id.hex}:2026-01-31:1"
    assert event_names(subscription) == ["Started"]


def test_the_same_seed_gives_the_same_id_and_no_seed_a_fresh_one() -> None:
    assert start(id_seed="req-1").id == start(id_seed="req-1").id
    assert start().id != start().id


def test_start_defaults_to_today_by_the_ledger_clock() -> None:
    with at(date(2026, 5, 2)):
        subscription = Subscription.start(**fields())
    assert subscription.started_on == "2026-05-02"


def test_a_trial_moves_the_anchor_to_the_trial_end() -> None:
    subscription = start(trial_days=14)
    trial_end = date(2026, 2, 14)
    assert subscription.trial_ends_on == "2026-02-14"
    assert subscription.anchor == trial_end
    assert subscription.status == "active"
    assert subscription.in_trial(date(2026, 2, 13))
    assert not subscription.in_trial(trial_end)
    assert subscription.due_charge(date(2026, 2, 13)) is None
    assert pay(subscription, trial_end).period == "2026-02-14"
    assert subscription.next_billing_on == date(2026, 3, 14)


def test_start_in_the_future_is_billed_from_that_day() -> None:
    subscription = start(start_on=date(2026, 3, 1), trial_days=7)
    assert subscription.anchor == date(2026, 3, 8)
    assert subscription.due_charge(date(2026, 3, 7)) is None
    assert due(subscription, date(2026, 3, 8)).period == "2026-03-08"


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"customer_id": " "}, InvalidInput, "customer_id must not be blank"),
        ({"provider": "Stripe!"}, InvalidInput, "provider must be a lowercase"),
        ({"payment_method": ""}, InvalidInput, "payment_method must not be blank"),
        ({"payment_method": "4242424242424242"}, InvalidInput, "never a card number"),
        ({"payment_method": "4242-4242-4242-4242"}, InvalidInput, "never a card number"),
        ({"payment_method": "4242 4242 4242 4242"}, InvalidInput, "without spaces"),
        ({"amount": 0}, InvalidInput, "amount must be positive"),
        ({"amount": "1000"}, InvalidInput, "amount must be an integer"),
        ({"amount": True}, InvalidInput, "amount must be an integer"),
        ({"amount": 10**12 + 1}, InvalidInput, "must not exceed"),
        ({"currency_code": "usd"}, UnknownCurrency, "not an ISO 4217"),
        ({"interval": "daily"}, InvalidInput, "interval must be one of weekly, monthly"),
        ({"trial_days": -1}, InvalidInput, "trial_days must be a whole number from 0 to 730"),
        ({"trial_days": 731}, InvalidInput, "trial_days"),
        ({"trial_days": True}, InvalidInput, "trial_days"),
        ({"dunning": (3, 1)}, InvalidInput, "strictly increasing"),
        ({"start_on": TODAY - timedelta(days=1)}, InvalidInput, "must not be in the past"),
        ({"start_on": TODAY + timedelta(days=367)}, InvalidInput, "within 366 days"),
        ({"splits": []}, SplitsMismatch, "at least one split"),
        (
            {"splits": [{"manufacturer_id": "mfr_a", "amount": 999}]},
            SplitsMismatch,
            "must sum to the subscription amount",
        ),
        (
            {
                "splits": [
                    {"manufacturer_id": "mfr_a", "amount": 500},
                    {"manufacturer_id": "mfr_a", "amount": 500},
                ]
            },
            SplitsMismatch,
            "only one split",
        ),
        (
            {"splits": [{"manufacturer_id": "mfr_a", "amount": 1000, "fee_bps": 100}]},
            SplitsMismatch,
            r"splits\[0\] must have exactly manufacturer_id and amount",
        ),
        ({"splits": [{"amount": 1000}]}, SplitsMismatch, "exactly manufacturer_id"),
        (
            {"splits": [{"manufacturer_id": "", "amount": 1000}]},
            InvalidInput,
            r"splits\[0\].manufacturer_id must not be blank",
        ),
        (
            {
                "splits": [
                    {"manufacturer_id": "a", "amount": 0},
                    {"manufacturer_id": "b", "amount": 1000},
                ]
            },
            InvalidInput,
            r"splits\[0\].amount must be positive",
        ),
        (
            {
                "splits": [{"manufacturer_id": f"m{i}", "amount": 1} for i in range(21)],
                "amount": 21,
            },
            SplitsMismatch,
            "at most 20 splits",
        ),
    ],
)
def test_start_refuses_invalid_input(
    overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        start(**overrides)


def test_start_on_must_be_a_date_not_a_datetime() -> None:
    with pytest.raises(TypeError, match="start_on must be a date"):
        start(start_on=datetime(2026, 2, 1, tzinfo=UTC))


# ----- exactly once per period -------------------------------------------------------------
def test_a_paid_period_is_not_charged_again_and_the_next_follows_the_anchor() -> None:
    subscription = start()
    charge = pay(subscription, TODAY, "pay_1")
    assert subscription.is_settled(charge.period)
    assert subscription.attempt_outcome(charge.period, 1) == "succeeded"
    assert subscription.due_charge(TODAY) is None
    assert subscription.due_charge(date(2026, 2, 27)) is None
    assert subscription.next_billing_on == date(2026, 2, 28)
    assert pay(subscription, date(2026, 2, 28)).period == "2026-02-28"
    # Back to the 31st after the clamped February: computed from the anchor, no drift.
    assert pay(subscription, date(2026, 3, 31)).period == "2026-03-31"
    assert pay(subscription, date(2026, 4, 30)).period == "2026-04-30"
    assert [i["period"] for i in subscription.invoice_list()] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]


def test_recording_the_same_success_twice_raises_no_second_event() -> None:
    subscription = start()
    charge = pay(subscription, TODAY, "pay_1")
    events = len(subscription.pending_events)
    assert not subscription.record_charge_succeeded(charge.period, "pay_1", 1)
    assert len(subscription.pending_events) == events
    assert subscription.period_index == 1


def test_a_second_payment_for_a_paid_period_is_refused() -> None:
    subscription = start()
    charge = pay(subscription, TODAY, "pay_1")
    with pytest.raises(IllegalTransition, match="already recorded as succeeded with payment pay_1"):
        subscription.record_charge_succeeded(charge.period, "pay_2", 1)
    with pytest.raises(IllegalTransition, match="already paid"):
        subscription.record_charge_succeeded(charge.period, "pay_2", 2)
    with pytest.raises(IllegalTransition, match="already recorded as succeeded"):
        subscription.record_charge_failed(charge.period, "pay_1", 1, "late", failed_on=TODAY)


def test_outcomes_for_other_periods_or_attempts_are_refused() -> None:
    subscription = start()
    with pytest.raises(IllegalTransition, match="not the period being billed"):
        subscription.record_charge_succeeded("2026-02-28", "pay_1", 1)
    with pytest.raises(IllegalTransition, match="attempt 2 is not the attempt due"):
        subscription.record_charge_succeeded("2026-01-31", "pay_1", 2)
    with pytest.raises(InvalidInput, match="attempt must be an integer"):
        subscription.record_charge_succeeded("2026-01-31", "pay_1", True)
    with pytest.raises(InvalidInput, match="payment_id must not be blank"):
        subscription.record_charge_succeeded("2026-01-31", "", 1)
    assert event_names(subscription) == ["Started"]


def test_missed_periods_are_caught_up_one_at_a_time_each_once() -> None:
    subscription = start()
    run_day = date(2026, 5, 15)  # the billing run did not run from January to mid-May
    charged = []
    while (charge := subscription.due_charge(run_day)) is not None:
        charged.append(charge.period)
        assert subscription.record_charge_succeeded(charge.period, f"pay_{charge.period}", 1)
    assert charged == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    assert subscription.next_billing_on == date(2026, 5, 31)
    assert event_names(subscription).count("InvoicePaid") == 4


# ----- dunning -----------------------------------------------------------------------------
def test_dunning_retries_after_one_three_and_seven_days_then_cancels() -> None:
    subscription = start()
    first = decline(subscription, TODAY)
    assert subscription.status == "past_due"
    invoice = subscription.invoices[first.period]
    assert invoice["status"] == "open"
    assert invoice["next_attempt_on"] == "2026-02-01"
    assert subscription.due_charge(TODAY) is None

    assert decline(subscription, date(2026, 2, 1)).attempt == 2
    assert subscription.due_charge(date(2026, 2, 2)) is None
    assert decline(subscription, date(2026, 2, 3)).attempt == 3
    assert subscription.due_charge(date(2026, 2, 6)) is None
    last = decline(subscription, date(2026, 2, 7))
    assert (last.attempt, last.period, last.due_on) == (4, "2026-01-31", date(2026, 2, 7))

    assert subscription.status == "canceled"
    assert subscription.cancellation is not None
    assert subscription.cancellation["by"] == "system"
    assert subscription.cancellation["reason"] == "dunning_exhausted"
    invoice = subscription.invoices[first.period]
    assert invoice["status"] == "failed"
    assert [a["attempt"] for a in invoice["attempts"]] == [1, 2, 3, 4]
    assert subscription.is_settled(first.period)
    assert subscription.due_charge(date(2026, 3, 31)) is None
    assert subscription.due_charge(date(2027, 1, 31)) is None
    assert event_names(subscription) == ["Started"] + ["InvoiceFailed"] * 4 + ["Canceled"]
    with pytest.raises(IllegalTransition, match="already canceled"):
        subscription.cancel("user_1", "too late")


def test_a_paid_retry_makes_the_subscription_active_on_its_original_schedule() -> None:
    subscription = start()
    decline(subscription, TODAY)
    charge = pay(subscription, date(2026, 2, 1), "pay_retry")
    assert charge.attempt == 2
    assert subscription.status == "active"
    invoice = subscription.invoices["2026-01-31"]
    assert invoice["status"] == "paid"
    assert [(a["attempt"], a["outcome"]) for a in invoice["attempts"]] == [
        (1, "failed"),
        (2, "succeeded"),
    ]
    assert subscription.next_billing_on == date(2026, 2, 28)
    # The next period starts again at attempt 1.
    assert due(subscription, date(2026, 2, 28)).attempt == 1


def test_a_custom_dunning_schedule_and_no_retries_at_all() -> None:
    subscription = start(dunning=(2,))
    decline(subscription, TODAY)
    assert subscription.due_charge(date(2026, 2, 1)) is None
    decline(subscription, date(2026, 2, 2))
    assert subscription.status == "canceled"

    no_retries = start(dunning=())
    decline(no_retries, TODAY)
    assert no_retries.status == "canceled"
    assert no_retries.invoices["2026-01-31"]["status"] == "failed"


def test_a_late_first_attempt_keeps_the_dunning_gaps() -> None:
    subscription = start()
    late = date(2026, 3, 1)  # the January period is first attempted a month late
    assert decline(subscription, late).period == "2026-01-31"
    assert subscription.next_billing_on == date(2026, 3, 2)
    decline(subscription, date(2026, 3, 2))
    assert subscription.next_billing_on == date(2026, 3, 4)


def test_a_retry_run_late_is_not_repeated_the_same_day() -> None:
    subscription = start()
    decline(subscription, TODAY)
    decline(subscription, date(2026, 2, 5))  # retry 1 ran four days late
    assert subscription.next_billing_on == date(2026, 2, 6)


def test_a_later_period_waits_while_an_earlier_one_is_in_dunning() -> None:
    subscription = start(interval="weekly")
    decline(subscription, TODAY)
    decline(subscription, date(2026, 2, 1))
    decline(subscription, date(2026, 2, 3))
    # The last retry falls on the next period's billing day: the old period comes first.
    retry = due(subscription, date(2026, 2, 7))
    assert (retry.period, retry.attempt) == ("2026-01-31", 4)
    subscription.record_charge_succeeded(retry.period, "pay_4", retry.attempt)
    assert due(subscription, date(2026, 2, 7)).period == "2026-02-07"


def test_a_duplicate_failure_is_ignored_and_a_conflicting_one_refused() -> None:
    subscription = start()
    charge = decline(subscription, TODAY)
    events = len(subscription.pending_events)
    assert not subscription.record_charge_failed(
        charge.period, f"pay_{TODAY}", 1, "card_declined", failed_on=TODAY
    )
    assert len(subscription.pending_events) == events
    with pytest.raises(IllegalTransition, match="already recorded as failed"):
        subscription.record_charge_succeeded(charge.period, f"pay_{TODAY}", 1)
    assert subscription.attempt_outcome(charge.period, 1) == "failed"
    assert subscription.attempt_outcome(charge.period, 2) is None
    assert not subscription.is_settled(charge.period)


def test_a_failure_without_a_payment_uses_the_clock_for_its_day() -> None:
    subscription = start()
    with at(TODAY):
        assert subscription.record_charge_failed("2026-01-31", None, 1, "provider_unavailable")
    invoice = subscription.invoices["2026-01-31"]
    assert invoice["attempts"][0]["payment_id"] is None
    assert invoice["dunning_from"] == "2026-01-31"
    assert subscription.next_billing_on == date(2026, 2, 1)
    with pytest.raises(InvalidInput, match="reason must not be blank"):
        subscription.record_charge_failed("2026-01-31", None, 2, " ", failed_on=TODAY)


# ----- cancellation ------------------------------------------------------------------------
def test_cancel_stops_charges_and_voids_an_invoice_awaiting_a_retry() -> None:
    subscription = start()
    decline(subscription, TODAY)
    subscription.cancel("user_1", "customer asked")
    assert subscription.status == "canceled"
    assert subscription.current_period is None
    assert subscription.next_billing_on is None
    assert subscription.cancellation is not None
    assert subscription.cancellation["by"] == "user_1"
    assert subscription.invoices["2026-01-31"]["status"] == "void"
    assert subscription.is_settled("2026-01-31")
    assert subscription.due_charge(date(2026, 2, 1)) is None
    assert subscription.due_charge(date(2026, 6, 1)) is None
    with pytest.raises(IllegalTransition, match="already canceled"):
        subscription.cancel("user_1", None)


def test_cancel_needs_a_canceller() -> None:
    subscription = start()
    with pytest.raises(InvalidInput, match="by must not be blank"):
        subscription.cancel(" ", None)
    assert subscription.status == "active"


def test_a_charge_in_flight_at_cancellation_is_still_recorded_once() -> None:
    subscription = start()
    charge = due(subscription, TODAY)
    subscription.cancel("user_1", None)
    assert subscription.record_charge_succeeded(charge.period, "pay_1", charge.attempt)
    assert subscription.status == "canceled"
    assert subscription.invoices[charge.period]["status"] == "paid"
    assert subscription.due_charge(date(2026, 2, 28)) is None
    assert not subscription.record_charge_succeeded(charge.period, "pay_1", charge.attempt)
    with pytest.raises(IllegalTransition):
        subscription.record_charge_succeeded(charge.period, "pay_2", charge.attempt)


def test_a_failed_charge_in_flight_at_cancellation_leaves_the_invoice_void() -> None:
    subscription = start()
    charge = due(subscription, TODAY)
    subscription.cancel("user_1", None)
    subscription.record_charge_failed(charge.period, "pay_1", 1, "card_declined", failed_on=TODAY)
    assert subscription.invoices[charge.period]["status"] == "void"
    assert event_names(subscription) == ["Started", "Canceled", "InvoiceFailed"]


# ----- persistence -------------------------------------------------------------------------
def test_events_store_and_replay_to_the_same_state() -> None:
    subscription = start(trial_days=3)
    decline(subscription, date(2026, 2, 3))
    pay(subscription, date(2026, 2, 4))
    subscription.cancel("user_1", "moved")
    app: Application[Any] = Application()
    app.save(subscription)
    replayed: Subscription = app.repository.get(subscription.id)
    assert replayed.invoice_list() == subscription.invoice_list()
    assert replayed.status == "canceled"
    assert replayed.dunning == [1, 3, 7]
    assert replayed.next_attempt_on is None


# ----- properties --------------------------------------------------------------------------
@settings(deadline=None, max_examples=60)
@given(
    interval=st.sampled_from(INTERVALS),
    start_offset=st.integers(min_value=0, max_value=40),
    trial_days=st.sampled_from([0, 1, 14, 30]),
    dunning=st.sampled_from([(), (1,), (1, 3, 7), (2, 9)]),
    gaps=st.lists(st.integers(min_value=1, max_value=45), min_size=1, max_size=30),
    outcomes=st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_a_billing_run_charges_each_period_at_most_once_and_in_order(
    interval: str,
    start_offset: int,
    trial_days: int,
    dunning: tuple[int, ...],
    gaps: list[int],
    outcomes: list[bool],
) -> None:
    start_on = TODAY + timedelta(days=start_offset)
    subscription = start(
        interval=interval, start_on=start_on, trial_days=trial_days, dunning=dunning
    )
    anchor = start_on + timedelta(days=trial_days)
    day = TODAY
    seen: set[tuple[str, int]] = set()
    paid: list[str] = []
    draws = cycle(outcomes)
    for gap in gaps:
        day += timedelta(days=gap)
        while (charge := subscription.due_charge(day)) is not None:
            assert (charge.period, charge.attempt) not in seen
            seen.add((charge.period, charge.attempt))
            assert anchor <= charge.period_start <= charge.due_on <= day
            assert charge.attempt <= 1 + len(dunning)
            if next(draws):
                subscription.record_charge_succeeded(charge.period, "pay", charge.attempt)
                paid.append(charge.period)
            else:
                subscription.record_charge_failed(
                    charge.period, "pay", charge.attempt, "declined", failed_on=day
                )
    expected = [period_start(anchor, interval, n).isoformat() for n in range(len(paid))]
    assert paid == expected
    if subscription.status == "canceled":
        assert subscription.cancellation is not None
        assert subscription.cancellation["reason"] == "dunning_exhausted"
        failed = subscription.invoices[period_start(anchor, interval, len(paid)).isoformat()]
        assert failed["status"] == "failed"
        assert len(failed["attempts"]) == 1 + len(dunning)
    else:
        # Nothing is skipped: every period begun by the last run is paid or awaits its retry.
        current = period_start(anchor, interval, len(paid))
        assert subscription.current_period == current.isoformat()
        assert subscription.next_billing_on is not None
        assert subscription.next_billing_on > day
        if subscription.status == "active":
            assert subscription.next_billing_on == current
        else:
            assert current <= day

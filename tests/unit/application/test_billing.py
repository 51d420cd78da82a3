"""Subscriptions through the API and the billing run: through the daily schedule (settle) and
through ledger.application.billing.billing_run directly."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from ledger.adapters.sandbox import UNAVAILABLE, SandboxProvider
from ledger.adapters.stripe_provider import StripeProvider
from ledger.application.ports import (
    AuthorizationRequest,
    ProviderCapabilities,
    ProviderResult,
    ProviderUnavailable,
)
from ledger.application.processes import billing
from ledger.application.processes.billing import BillingRunIncomplete, billing_run
from ledger.application.registries import SUBSCRIPTIONS
from ledger.domain.billing_schedule import days_in_month
from tests.conftest import Api, ManualClock
from tests.support.events import recorded_events
from tests.support.stripe_webhooks import SECRET, deliver, intent, stripe_event

PROCESSING_ERROR = "pm_sandbox_processing_error"
assert PROCESSING_ERROR in UNAVAILABLE


class CountingSandbox(SandboxProvider):
    """The sandbox, remembering every authorization; while `down`, the processing-error
    token is unavailable (as in the sandbox), otherwise it is approved."""

    def __init__(self) -> None:
        self.authorized: list[AuthorizationRequest] = []
        self.down = True

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        self.authorized.append(request)
        if request.payment_method == PROCESSING_ERROR and not self.down:
            return ProviderResult(status="succeeded", reference="sbx_auth_recovered")
        return super().authorize(request)


class FlakyProvider(SandboxProvider):
    """Takes the money but the answer is lost while `down`; remembers every charge it made."""

    def __init__(self) -> None:
        self.down = True
        self.charged: set[str] = set()

    def authorize(self, request: Any) -> ProviderResult:
        self.charged.add(request.idempotency_key)
        if self.down:
            raise ProviderUnavailable("timed out after charging")
        return super().authorize(request)


@pytest.fixture
def provider(api: Api) -> CountingSandbox:
    counting = CountingSandbox()
    api.container.engine.register_provider("sandbox", counting)
    return counting


def subscription_body(shares: list[tuple[str, int]], **fields: Any) -> dict[str, Any]:
    """A POST /v1/subscriptions body: monthly, paid by the shares; fields override."""
    return {
        "customer_id": "cus_1",
        "amount": sum(a for _, a in shares),
        "currency": "USD",
        "payment_method": "pm_tok_visa",
        "splits": [{"manufacturer_id": m, "amount": a} for m, a in shares],
        "interval": "monthly",
        **fields,
    }


def subscribe(api: Api, auth: dict[str, str], shares: list[tuple[str, int]], **fields: Any) -> Any:
    """POST /v1/subscriptions with subscription_body(shares, **fields)."""
    return api.post("/v1/subscriptions", subscription_body(shares, **fields), auth)


def started(
    api: Api, auth: dict[str, str], shares: list[tuple[str, int]], **fields: Any
) -> dict[str, Any]:
    response = subscribe(api, auth, shares, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def subscription(api: Api, auth: dict[str, str], sub_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get_json(f"/v1/subscriptions/{sub_id}", auth)
    return body


def invoices(api: Api, auth: dict[str, str], sub_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get_json(f"/v1/subscriptions/{sub_id}/invoices", auth)[
        "data"
    ]
    return listed


def charges(api: Api, sub_id: str) -> list[str]:
    """Payment ids created for the subscription, oldest first (from the event log)."""
    return [
        f"pay_{event.originator_id.hex}"
        for event in recorded_events(api.container.engine, "Payment.Initiated")
        if event.metadata.get("subscription_id") == sub_id
    ]


def subscription_events(api: Api) -> int:
    notifications = api.container.engine.recorder.select_notifications(start=1, limit=100_000)
    return sum(1 for n in notifications if ":Subscription." in n.topic)


def run(api: Api, day: date) -> billing.RunResult:
    return billing_run(api.container.engine, day)


# ----- the API ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": "1000"},
        {"currency": "XYZ"},
        {"interval": "daily"},
        {"trial_days": -1},
        {"trial_days": 731},
        {"dunning": [3, 1]},
        {"dunning": [1, 1]},
        {"dunning": []},
        {"dunning": [61]},
        {"start_on": "2026-03-09"},  # in the past
        {"start_on": "2027-03-12"},  # more than 366 days ahead
        {"start_on": "tomorrow"},
        {"customer_id": "   "},
        {"customer_id": ""},
        {"payment_method": ""},
        {"payment_method": "pm tok"},
        {"splits": []},
        {"amount": 999},  # the splits sum to 1000
        {"provider": "Not A Provider"},
        {"surprise": True},
    ],
)
def test_invalid_subscriptions_are_422_and_nothing_is_stored(
    api: Api, admin: dict[str, str], change: dict[str, Any]
) -> None:
    m = api.manufacturer(admin)
    response = subscribe(api, admin, [(m, 1000)], **change)
    assert response.status_code == 422, response.text
    assert subscription_events(api) == 0
    assert api.container.engine.registry_members(SUBSCRIPTIONS) == []


def test_an_unknown_manufacturer_is_422(api: Api, admin: dict[str, str]) -> None:
    response = subscribe(api, admin, [("mfr_" + "0" * 32, 1000)])
    assert response.status_code == 422
    assert "unknown manufacturer" in response.json()["detail"]
    assert subscribe(api, admin, [("not-an-id", 1000)]).status_code == 422
    assert subscription_events(api) == 0


@pytest.mark.parametrize(
    ("payment_method", "problem"),
    [
        ("4242424242424242", "card-number-rejected"),  # Luhn-valid: the request guard
        ("4242-4242-4242-4242", "card-number-rejected"),
        # No 13-19 digit window passes Luhn: past the guard, still a card-like number.
        ("4242424242420110", "invalid-input"),
        ("4242-4242-4242-0110", "invalid-input"),
    ],
)
def test_a_card_number_as_payment_method_is_refused(
    api: Api, admin: dict[str, str], payment_method: str, problem: str
) -> None:
    m = api.manufacturer(admin)
    response = subscribe(api, admin, [(m, 1000)], payment_method=payment_method)
    assert response.status_code == 422
    assert response.json()["type"] == f"urn:ledger:problem:{problem}"
    assert subscription_events(api) == 0


def test_start_read_and_scopes(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    reader = api.key("payments:read")
    assert subscribe(api, reader, [(m, 1000)]).status_code == 403
    body = subscription_body([(m, 1000)])
    missing_key = api.post("/v1/subscriptions", body, admin, idem=None)
    assert missing_key.status_code == 400
    assert subscription_events(api) == 0


def test_start_get_and_invoices(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    created = started(api, admin, [(m, 1000)], customer_id="cus_9", trial_days=14)
    assert created["id"].startswith("sub_")
    assert created["status"] == "active"
    assert created["customer_id"] == "cus_9"
    assert created["provider"] == "sandbox"
    assert created["anchor_on"] == "2026-03-24"
    assert created["trial_ends_on"] == "2026-03-24"
    assert created["next_billing_on"] == "2026-03-24"
    assert created["dunning"] == [1, 3, 7]
    assert created["splits"] == [{"manufacturer_id": m, "amount": 1000}]
    assert "payment_method" not in created
    assert subscription(api, admin, created["id"]) == created
    assert invoices(api, admin, created["id"]) == []
    assert api.get("/v1/subscriptions/sub_" + "0" * 32, admin).status_code == 404
    assert api.get("/v1/subscriptions/nonsense", admin).status_code == 404
    assert api.get("/v1/subscriptions/sub_" + "0" * 32 + "/invoices", admin).status_code == 404


def test_the_same_idempotency_key_starts_one_subscription(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = subscription_body([(m, 1000)], interval="weekly")
    first = api.post("/v1/subscriptions", body, admin, idem="sub-once")
    again = api.post("/v1/subscriptions", body, admin, idem="sub-once")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert api.container.engine.registry_members(SUBSCRIPTIONS) == [first.json()["id"]]


def test_cancel_stops_all_charges(
    api: Api, admin: dict[str, str], provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-12")
    path = f"/v1/subscriptions/{sub['id']}/cancel"
    assert api.post(path, {"reason": "x"}, api.key("payments:read")).status_code == 403
    canceled = api.post(path, {"reason": "customer asked"}, admin)
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "canceled"
    assert body["next_billing_on"] is None
    assert body["cancellation"]["reason"] == "customer asked"
    assert body["cancellation"]["by"].startswith("key_")
    assert api.post(path, None, admin).status_code == 409
    for offset in range(0, 70, 7):
        result = run(api, date(2026, 3, 12) + timedelta(days=offset))
        assert result.charged == result.failed == []
    assert charges(api, sub["id"]) == []
    assert provider.authorized == []
    assert api.container.engine.registry_members(SUBSCRIPTIONS) == []
    assert subscription(api, admin, sub["id"])["status"] == "canceled"
    assert api.post("/v1/subscriptions/sub_" + "0" * 32 + "/cancel", None, admin).status_code == 404


# Regression (issue-4 review): a provider that is not configured is refused when it is named
# (manufacturer routing, a subscription), not when the billing run first charges.
def test_unconfigured_providers_are_refused_when_named_not_at_billing_time(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    routed = api.patch(f"/v1/manufacturers/{m}/settings", {"provider": "nope"}, admin)
    assert routed.status_code == 422
    assert subscribe(api, admin, [(m, 1000)], provider="nope").status_code == 422


# ----- the daily schedule -------------------------------------------------------------------
def test_the_daily_schedule_bills_due_subscriptions_at_six(
    api: Api, admin: dict[str, str], clock: ManualClock, provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-11")
    api.settle()  # arms the schedules: the billing run fires at 06:00 UTC
    clock.now = datetime.fromisoformat("2026-03-11T05:59:00+00:00")
    api.settle()
    assert charges(api, sub["id"]) == []
    clock.advance(minutes=1)
    api.settle()
    (charged,) = charges(api, sub["id"])
    assert api.get(f"/v1/payments/{charged}", admin).json()["status"] == "captured"
    (invoice,) = invoices(api, admin, sub["id"])
    assert invoice["period"] == "2026-03-11"
    assert invoice["status"] == "paid"
    assert invoice["attempts"][0]["payment_id"] == charged
    assert subscription(api, admin, sub["id"])["next_billing_on"] == "2026-04-11"
    assert api.payable(admin, m) == -1000
    for _ in range(3):  # the next days' runs charge nothing more
        clock.advance(days=1)
        api.settle()
    assert charges(api, sub["id"]) == [charged]
    assert len(provider.authorized) == 1


# Regression (issue 11, item 16): a subscription started after the day's billing hour (the
# clock is at 12:00, the run at 06:00) was first charged by the next day's run.
def test_a_subscription_started_after_the_billing_hour_is_charged_at_creation(
    api: Api, admin: dict[str, str], clock: ManualClock, provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    assert clock.now.hour > 6
    sub = started(api, admin, [(m, 1000)])  # starts today, no trial: due now
    in_trial = started(api, admin, [(m, 700)], trial_days=14)
    later = started(api, admin, [(m, 300)], start_on="2026-03-12")
    api.settle()  # the workflows, not a billing run
    (charged,) = charges(api, sub["id"])
    assert api.get(f"/v1/payments/{charged}", admin).json()["status"] == "captured"
    (invoice,) = invoices(api, admin, sub["id"])
    assert (invoice["period"], invoice["status"]) == (clock.now.date().isoformat(), "paid")
    assert charges(api, in_trial["id"]) == []
    assert charges(api, later["id"]) == []
    # Tomorrow's run charges the later one and never this period again.
    clock.now = datetime.fromisoformat("2026-03-12T06:00:00+00:00")
    api.settle()
    assert charges(api, sub["id"]) == [charged]
    assert len(charges(api, later["id"])) == 1
    assert len(provider.authorized) == 2


def test_a_run_that_cannot_reach_the_provider_is_retried_by_the_queue(
    api: Api, admin: dict[str, str], clock: ManualClock, provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    flaky = started(api, admin, [(m, 1000)], start_on="2026-03-11", payment_method=PROCESSING_ERROR)
    fine = started(api, admin, [(m, 500)], start_on="2026-03-11")
    api.settle()
    clock.now = datetime.fromisoformat("2026-03-11T06:00:00+00:00")
    api.settle()
    assert charges(api, flaky["id"]) == []
    assert len(charges(api, fine["id"])) == 1
    assert invoices(api, admin, flaky["id"]) == []
    provider.down = False
    clock.advance(seconds=30)  # the billing queue's first backoff is at most 30 s
    api.settle()
    assert len(charges(api, flaky["id"])) == 1
    assert len(charges(api, fine["id"])) == 1  # not charged twice by the retried run
    assert invoices(api, admin, flaky["id"])[0]["status"] == "paid"
    workflows = api.container.workflows
    assert workflows is not None
    assert workflows.queue.dead_letters("billing") == []


def test_a_run_after_downtime_bills_as_of_now(
    api: Api, admin: dict[str, str], clock: ManualClock, provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-12")
    api.settle()  # arms the billing run for 2026-03-11 06:00
    # Nothing ran from then until 2026-03-13 07:00: the missed run fires once, late, and must
    # charge what is due by now (the subscription's first day is 2026-03-12).
    clock.now = datetime.fromisoformat("2026-03-13T07:00:00+00:00")
    api.settle()
    assert len(charges(api, sub["id"])) == 1


# ----- billing_run: dates -------------------------------------------------------------------
def test_a_monthly_anchor_on_the_31st_bills_the_last_day_of_shorter_months(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2027-01-31")
    assert sub["anchor_on"] == "2027-01-31"
    billed: list[str] = []
    year, month = 2027, 1
    while (year, month) <= (2028, 4):
        day = date(year, month, min(31, days_in_month(year, month)))
        assert run(api, day - timedelta(days=1)).charged == [], day
        result = run(api, day)
        assert len(result.charged) == 1, day
        billed.append(day.isoformat())
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    assert "2027-02-28" in billed
    assert "2028-02-29" in billed
    assert "2027-04-30" in billed
    assert "2027-03-31" in billed
    periods = [invoice["period"] for invoice in invoices(api, admin, sub["id"])]
    assert periods == billed
    assert all(invoice["status"] == "paid" for invoice in invoices(api, admin, sub["id"]))
    assert len(charges(api, sub["id"])) == len(billed) == 16


def test_each_period_is_charged_once_and_its_payment_id_is_stable(
    api: Api, admin: dict[str, str], provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-12", interval="weekly")
    assert run(api, date(2026, 3, 11)).charged == []
    first = run(api, date(2026, 3, 12))
    assert len(first.charged) == 1
    assert run(api, date(2026, 3, 12)).charged == []  # the same day again: nothing
    assert run(api, date(2026, 3, 18)).charged == []
    assert charges(api, sub["id"]) == first.charged
    assert len(provider.authorized) == 1
    (invoice,) = invoices(api, admin, sub["id"])
    assert invoice["attempts"][0]["payment_id"] == first.charged[0]
    # The payment's authorization is keyed by the payment, and the payment by the charge.
    assert provider.authorized[0].idempotency_key == f"{first.charged[0]}:authorize"
    assert provider.authorized[0].payment_id == first.charged[0]
    payment = api.get(f"/v1/payments/{first.charged[0]}", admin).json()
    assert payment["metadata"] == {
        "subscription_id": sub["id"],
        "period": "2026-03-12",
        "attempt": 1,
    }


def test_a_run_that_crashed_after_charging_records_the_same_payment(
    api: Api, admin: dict[str, str], provider: CountingSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-12")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process died before recording the charge")

    with monkeypatch.context() as patched:
        patched.setattr(billing, "_record", crash)
        with pytest.raises(BillingRunIncomplete, match=sub["id"]):
            run(api, date(2026, 3, 12))
    (charged,) = charges(api, sub["id"])  # the payment was made...
    assert invoices(api, admin, sub["id"]) == []  # ...but not recorded
    again = run(api, date(2026, 3, 12))
    assert again.charged == [charged]  # the same payment, found again
    assert charges(api, sub["id"]) == [charged]
    assert len(provider.authorized) == 1  # the provider was not asked twice
    assert invoices(api, admin, sub["id"])[0]["attempts"][0]["payment_id"] == charged


def test_a_missed_month_is_caught_up_one_period_at_a_time(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], start_on="2026-03-15")
    result = run(api, date(2026, 5, 20))  # the runs of March and April never happened
    assert len(result.charged) == 3
    periods = [invoice["period"] for invoice in invoices(api, admin, sub["id"])]
    assert periods == ["2026-03-15", "2026-04-15", "2026-05-15"]
    assert subscription(api, admin, sub["id"])["next_billing_on"] == "2026-06-15"


def test_nothing_is_charged_during_the_trial(
    api: Api, admin: dict[str, str], provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(m, 1000)], trial_days=14)
    for day in range(10, 24):
        assert run(api, date(2026, 3, day)).charged == []
    assert provider.authorized == []
    assert subscription(api, admin, sub["id"])["trial_ends_on"] == "2026-03-24"
    result = run(api, date(2026, 3, 24))
    assert len(result.charged) == 1
    assert invoices(api, admin, sub["id"])[0]["period"] == "2026-03-24"
    assert subscription(api, admin, sub["id"])["next_billing_on"] == "2026-04-24"


# ----- dunning ------------------------------------------------------------------------------
def test_declined_charges_follow_the_dunning_schedule_then_cancel(
    api: Api, admin: dict[str, str], provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    sub = started(
        api, admin, [(m, 1000)], start_on="2026-03-12", payment_method="pm_sandbox_declined"
    )
    due = date(2026, 3, 12)
    expected_retries = {1: "2026-03-13", 2: "2026-03-15", 3: "2026-03-19"}
    for attempt, offset in enumerate((0, 1, 3, 7), start=1):
        day = due + timedelta(days=offset)
        # Nothing happens on the days between retries.
        if offset:
            assert run(api, day - timedelta(days=1)).failed == []
        result = run(api, day)
        assert len(result.failed) == 1, day
        assert result.charged == []
        current = subscription(api, admin, sub["id"])
        if attempt < 4:
            assert current["status"] == "past_due"
            assert current["next_billing_on"] == expected_retries[attempt]
        else:
            assert current["status"] == "canceled"
            assert current["cancellation"]["by"] == "system"
            assert current["cancellation"]["reason"] == "dunning_exhausted"
            assert current["next_billing_on"] is None
    (invoice,) = invoices(api, admin, sub["id"])
    assert invoice["status"] == "failed"
    assert [a["attempt"] for a in invoice["attempts"]] == [1, 2, 3, 4]
    assert {a["outcome"] for a in invoice["attempts"]} == {"failed"}
    assert {a["reason"] for a in invoice["attempts"]} == {"card_declined"}
    payment_ids = charges(api, sub["id"])
    assert len(payment_ids) == 4 == len(set(payment_ids))  # one payment per attempt
    assert [a["payment_id"] for a in invoice["attempts"]] == payment_ids
    for payment_id in payment_ids:
        assert api.get(f"/v1/payments/{payment_id}", admin).json()["status"] == "failed"
    assert run(api, date(2026, 4, 12)).failed == []  # canceled: never charged again
    assert len(provider.authorized) == 4
    assert not api.posted_to(admin, f"manufacturer:{m}:payable")  # nothing was ever booked
    assert api.container.engine.registry_members(SUBSCRIPTIONS) == []


def test_an_unavailable_provider_fails_the_run_for_that_subscription_only(
    api: Api, admin: dict[str, str], provider: CountingSandbox
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    flaky = started(api, admin, [(m, 1000)], start_on="2026-03-12", payment_method=PROCESSING_ERROR)
    fine = started(api, admin, [(m, 500)], start_on="2026-03-12")
    with pytest.raises(BillingRunIncomplete) as raised:
        run(api, date(2026, 3, 12))
    assert flaky["id"] in str(raised.value)
    assert fine["id"] not in str(raised.value)
    assert "ProviderUnavailable" in str(raised.value)
    assert len(charges(api, fine["id"])) == 1  # the others are still charged
    assert charges(api, flaky["id"]) == []  # nothing recorded for the failed one
    assert invoices(api, admin, flaky["id"]) == []
    assert subscription(api, admin, flaky["id"])["status"] == "active"  # not a decline
    tried = [r for r in provider.authorized if r.payment_method == PROCESSING_ERROR]
    assert len(tried) == 1

    provider.down = False
    later = run(api, date(2026, 3, 13))
    (charged,) = charges(api, flaky["id"])
    assert later.charged == [charged]
    # The same charge (period, attempt) -> the same payment and authorization key.
    retried = [r for r in provider.authorized if r.payment_method == PROCESSING_ERROR]
    assert [r.idempotency_key for r in retried] == [tried[0].idempotency_key] * 2
    assert retried[1].payment_id == charged
    assert len(charges(api, fine["id"])) == 1  # not charged again
    assert invoices(api, admin, flaky["id"])[0]["period"] == "2026-03-12"
    assert run(api, date(2026, 3, 13)).charged == []


# Regression (issue-4 review): an unreachable provider is retried under the same attempt and
# provider key, day after day, and never counted as a failed (dunning) attempt.
def test_an_unreachable_provider_is_retried_with_the_same_key_never_counted_failed(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = FlakyProvider()
    api.container.engine.register_provider("sandbox", provider)
    m = api.manufacturer(admin, fee_bps=0)
    created = started(api, admin, [(m, 1000)])
    service = api.container.engine
    today = clock.now.date()
    for day in range(3):  # days of silence: the same attempt each time, never a new one
        with pytest.raises(BillingRunIncomplete):
            billing_run(service, today + timedelta(days=day))
    assert len(provider.charged) == 1
    shown = api.get(f"/v1/subscriptions/{created['id']}", admin).json()
    assert shown["status"] == "active"
    provider.down = False
    result = billing_run(service, today + timedelta(days=3))
    assert len(result.charged) == 1
    assert len(provider.charged) == 1  # the same provider key: the first charge, answered


# Regression (issue-4 review): a charge the provider revives (a declined attempt reported paid
# later) for a period already paid by a later attempt is refunded, not kept.
def test_a_revived_charge_for_a_period_already_paid_is_refunded(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    class Stripe(SandboxProvider):
        capabilities = ProviderCapabilities(sends_webhooks=True)

        def authorize(self, request: Any) -> ProviderResult:
            if request.idempotency_key in declined:
                return ProviderResult("failed", f"pi_{len(declined)}", "card_declined")
            return ProviderResult("succeeded", "pi_second")

    declined: set[str] = set()
    api.container.engine.register_provider("stripe", Stripe())
    api.container.webhook_sources["stripe"] = StripeProvider("sk_test", SECRET)
    m = api.manufacturer(admin, fee_bps=0)
    created = started(api, admin, [(m, 1000)], provider="stripe")
    service = api.container.engine
    today = clock.now.date()
    first_key = None

    original = Stripe.authorize

    def decline_first(self: Any, request: Any) -> ProviderResult:
        nonlocal first_key
        if first_key is None:
            first_key = request.idempotency_key
            declined.add(first_key)
        return original(self, request)

    Stripe.authorize = decline_first  # type: ignore[method-assign]
    billing_run(service, today)  # attempt 1 declined
    billing_run(service, today + timedelta(days=1))  # attempt 2 paid
    listed = invoices(api, admin, created["id"])
    assert listed[0]["status"] == "paid"
    failed_payment = listed[0]["attempts"][0]["payment_id"]
    # Stripe later reports the first attempt paid after all (a retried 3-D Secure).
    reference = f"pi_{len(declined)}"
    payload = stripe_event(
        "payment_intent.succeeded",
        intent(reference, 1000, metadata={"ledger_payment_id": failed_payment}),
    )
    outcome = deliver(api, payload).json()["outcome"]
    assert outcome == "captured and refunded: the period was already settled"
    api.settle()
    revived = api.get(f"/v1/payments/{failed_payment}", admin).json()
    assert (revived["status"], revived["amount_refunded"]) == ("captured", 1000)
    assert api.payable(admin, m) == -1000  # owed for one period, not two


# ----- the money ----------------------------------------------------------------------------
def test_split_subscriptions_credit_each_manufacturer_less_its_fee(
    api: Api, admin: dict[str, str]
) -> None:
    big = api.manufacturer(admin, fee_bps=1000)
    small = api.manufacturer(admin, fee_bps=0)
    sub = started(api, admin, [(big, 700), (small, 300)], start_on="2026-03-12")
    run(api, date(2026, 3, 12))
    assert api.payable(admin, big) == -630
    assert api.payable(admin, small) == -300
    fees = api.get("/v1/accounts/platform:revenue:fees/balance", admin, currency="USD").json()
    assert fees["balance"] == -70
    # Fee terms are read when each charge is made.
    response = api.client.patch(f"/v1/manufacturers/{big}", json={"fee_bps": 500}, headers=admin)
    assert response.status_code == 200, response.text
    run(api, date(2026, 4, 12))
    assert api.payable(admin, big) == -630 - 665
    assert api.payable(admin, small) == -600
    assert len(charges(api, sub["id"])) == 2
    trial = api.get("/v1/ledger/trial-balance", admin).json()
    assert all(c["balanced"] for c in trial["currencies"])

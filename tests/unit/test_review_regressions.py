"""Regressions for money-safety findings of the issue-4 review: each test failed before its fix."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger.adapters.sandbox import SandboxProvider
from ledger.adapters.stripe_provider import StripeProvider
from ledger.application.commands import payouts
from ledger.application.errors import ConcurrencyExhausted
from ledger.application.ports import (
    PayoutRequest,
    ProviderCapabilities,
    ProviderResult,
    ProviderUnavailable,
)
from ledger.application.principal import SYSTEM
from ledger.application.processes.billing import BillingRunIncomplete, billing_run
from tests.conftest import Api, ManualClock
from tests.unit.api.test_stripe_webhooks import SECRET, deliver, intent, pay, stripe_event
from tests.unit.api.test_stripe_webhooks import stripe as stripe_fixture  # noqa: F401 (a fixture)
from tests.unit.application.test_payout_workflows import payable, payout, request_payout


class LostAnswerRail:
    """Pays, then the answer is lost once (a timeout after the money left)."""

    def __init__(self) -> None:
        self.calls: list[PayoutRequest] = []

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        self.calls.append(request)
        if len(self.calls) == 1:
            raise ProviderUnavailable("timed out after sending")
        return SandboxProvider().pay_out(request)


def test_a_payout_being_paid_can_no_longer_be_rejected(api: Api, admin: dict[str, str]) -> None:
    rail = LostAnswerRail()
    api.container.rails["sandbox"] = rail
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    api.settle()  # the rail was called; its answer was lost
    assert payout(api, admin, requested["id"])["status"] == "executing"
    approver = api.key("payouts:approve")
    refused = api.post(f"/v1/payouts/{requested['id']}/reject", {"reason": "stop"}, approver)
    assert refused.status_code == 409
    # ... so the reservation still holds the money: nothing else can be paid from it.
    assert request_payout(api, admin, m, 1).status_code == 409


def test_a_redelivered_payout_finishes_on_its_rail_instead_of_deciding_again(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = LostAnswerRail()
    api.container.rails["sandbox"] = rail
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    api.settle()
    # A refund lands while the payout's answer is outstanding: the money has left already.
    assert (
        api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 500}, admin).status_code == 201
    )
    clock.advance(minutes=10)
    api.settle()
    done = payout(api, admin, requested["id"])
    assert done["status"] == "paid"  # not "failed: insufficient_balance"
    assert {call.idempotency_key for call in rail.calls} == {requested["id"]}
    assert payable(api, admin, m) == 500  # owed back by the manufacturer: 1000 - 500 - 1000


@pytest.mark.usefixtures("stripe_fixture")
def test_a_webhook_that_meets_a_conflict_is_retried_not_dropped(
    api: Api, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = pay(api, admin, m, 500, method="pm_pending")
    payload = stripe_event("payment_intent.succeeded", intent("pi_test_1", 500))
    service = api.container.engine
    real = service.execute

    def contended(command: Any) -> Any:
        raise ConcurrencyExhausted("too many concurrent changes")

    monkeypatch.setattr(service, "execute", contended)
    assert deliver(api, payload).status_code == 503
    monkeypatch.setattr(service, "execute", real)
    again = deliver(api, payload)
    assert again.json()["outcome"] == "captured"
    assert api.get(f"/v1/payments/{payment['id']}", admin).json()["status"] == "captured"


@pytest.mark.usefixtures("stripe_fixture")
def test_a_success_after_a_failed_attempt_captures_the_payment(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = pay(api, admin, m, 500, method="pm_pending")
    failed = intent("pi_test_1", 500, status="requires_payment_method")
    failed["last_payment_error"] = {"code": "card_declined"}
    assert deliver(api, stripe_event("payment_intent.payment_failed", failed)).status_code == 200
    assert api.get(f"/v1/payments/{payment['id']}", admin).json()["status"] == "failed"
    succeeded = deliver(api, stripe_event("payment_intent.succeeded", intent("pi_test_1", 500)))
    assert succeeded.json()["outcome"] == "captured"
    assert api.get(f"/v1/payments/{payment['id']}", admin).json()["status"] == "captured"
    assert payable(api, admin, m) == -500


def test_unconfigured_providers_are_refused_when_named_not_at_billing_time(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    routed = api.client.patch(
        f"/v1/manufacturers/{m}/settings", json={"provider": "nope"}, headers=admin
    )
    assert routed.status_code == 422
    body = {
        "customer_id": "c",
        "amount": 1000,
        "currency": "USD",
        "provider": "nope",
        "payment_method": "pm_x",
        "splits": [{"manufacturer_id": m, "amount": 1000}],
        "interval": "monthly",
    }
    assert api.post("/v1/subscriptions", body, admin).status_code == 422


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


def test_an_unreachable_provider_is_retried_with_the_same_key_never_counted_failed(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = FlakyProvider()
    api.container.engine.register_provider("sandbox", provider)
    m = api.manufacturer(admin, fee_bps=0)
    body = {
        "customer_id": "c",
        "amount": 1000,
        "currency": "USD",
        "payment_method": "pm_x",
        "splits": [{"manufacturer_id": m, "amount": 1000}],
        "interval": "monthly",
    }
    created = api.post("/v1/subscriptions", body, admin).json()
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
    body = {
        "customer_id": "c",
        "amount": 1000,
        "currency": "USD",
        "provider": "stripe",
        "payment_method": "pm_x",
        "splits": [{"manufacturer_id": m, "amount": 1000}],
        "interval": "monthly",
    }
    created = api.post("/v1/subscriptions", body, admin).json()
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
    invoices = api.get(f"/v1/subscriptions/{created['id']}/invoices", admin).json()["data"]
    assert invoices[0]["status"] == "paid"
    failed_payment = invoices[0]["attempts"][0]["payment_id"]
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
    assert payable(api, admin, m) == -1000  # owed for one period, not two


def test_an_approved_payout_rejected_before_it_starts_is_never_paid(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    service = api.container.engine
    service.execute(payouts.reject(SYSTEM, requested["id"], "changed our mind"))
    api.settle()
    assert payout(api, admin, requested["id"])["status"] == "rejected"
    assert payable(api, admin, m) == -1000

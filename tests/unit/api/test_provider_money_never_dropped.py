"""Money a provider reports as moved is always booked, or held where an operator sees it (issue
11 item 2): a chargeback on a refunded payment is the platform's loss, a refund made in the
provider's dashboard supersedes a ledger refund awaiting approval, and what still cannot be
booked is an item in the "needs attention" queue (API, CLI, metric), never only a log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ledger.adapters.stripe_provider import StripeProvider
from ledger.application.processes.provider_events import ATTENTION_LOG_MARKER
from tests.conftest import Api
from tests.support.stripe_webhooks import SECRET, deliver, intent, stripe_event
from tests.unit.api.test_stripe_webhooks import FakeStripe, dispute, pay, refund_object

DISPUTE_LOSSES = "platform:expense:dispute_losses"


@pytest.fixture
def fake_stripe(api: Api) -> FakeStripe:
    fake = FakeStripe()
    api.container.webhook_sources["stripe"] = StripeProvider("sk_test", SECRET)
    api.container.engine.register_provider("stripe", fake)
    return fake


def refunded_at_stripe(
    api: Api, admin: dict[str, str], payment: dict[str, Any], amount: int
) -> None:
    """A ledger refund of amount, sent to Stripe and reported succeeded."""
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": amount}, admin).json()
    api.settle()
    obj = refund_object(
        f"re_done_{refund['id'][-6:]}",
        payment["provider_reference"],
        amount,
        metadata={"ledger_refund_id": refund["id"], "ledger_payment_id": payment["id"]},
    )
    assert deliver(api, stripe_event("refund.updated", obj)).json()["outcome"] == "refund succeeded"


def balanced(api: Api, admin: dict[str, str]) -> bool:
    trial = api.get_json("/v1/ledger/trial-balance", admin)
    return all(c["balanced"] for c in trial["currencies"])


def test_a_dispute_on_a_fully_refunded_payment_is_booked_against_the_platform(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=250)
    payment = pay(api, admin, m, 1000)
    reference = payment["provider_reference"]
    refunded_at_stripe(api, admin, payment, 1000)
    assert api.payable(admin, m) == 0

    opened = deliver(
        api, stripe_event("charge.dispute.created", dispute(reference, 1000, "needs_response"))
    )
    assert opened.status_code == 200
    assert opened.json()["outcome"] == "dispute opened"
    shown = api.get_json(f"/v1/payments/{payment['id']}", admin)
    assert [(d["amount"], d["status"]) for d in shown["disputes"]] == [(1000, "open")]
    assert shown["refundable_amount"] == 0
    assert api.balance(admin, "provider:stripe:disputed") == 1000

    closed = deliver(api, stripe_event("charge.dispute.closed", dispute(reference, 1000, "lost")))
    assert closed.json()["outcome"] == "dispute lost"
    assert api.payable(admin, m) == 0  # nothing taken from the manufacturer twice
    assert api.balance(admin, DISPUTE_LOSSES) == 1000
    assert api.balance(admin, "provider:stripe:disputed") == 0
    assert balanced(api, admin)
    assert api.get_json("/v1/attention", admin)["data"] == []


def test_a_dispute_larger_than_what_is_left_takes_back_only_what_is_left(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=0, refund_fee_policy="keep_fee")
    payment = pay(api, admin, m, 1000)
    refunded_at_stripe(api, admin, payment, 600)
    assert api.payable(admin, m) == -400
    closed = deliver(
        api,
        stripe_event("charge.dispute.closed", dispute(payment["provider_reference"], 1000, "lost")),
    )
    assert closed.json()["outcome"] == "dispute lost"
    assert api.payable(admin, m) == 0  # the 400 still owed is taken back
    assert api.balance(admin, DISPUTE_LOSSES) == 600  # the rest is the platform's
    shown = api.get_json(f"/v1/payments/{payment['id']}", admin)
    assert shown["amount_dispute_lost"] == 1000
    assert shown["refundable_amount"] == 0
    assert balanced(api, admin)


def test_a_dispute_won_after_a_refund_returns_the_funds(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = pay(api, admin, m, 1000)
    reference = payment["provider_reference"]
    refunded_at_stripe(api, admin, payment, 1000)
    deliver(api, stripe_event("charge.dispute.created", dispute(reference, 1000, "needs_response")))
    won = deliver(api, stripe_event("charge.dispute.closed", dispute(reference, 1000, "won")))
    assert won.json()["outcome"] == "dispute won"
    assert api.balance(admin, "provider:stripe:disputed") == 0
    assert api.payable(admin, m) == 0
    assert balanced(api, admin)


def test_a_dashboard_refund_supersedes_a_refund_awaiting_approval(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.patch(f"/v1/manufacturers/{m}/settings", {"refund_approvals_required": 1}, admin)
    payment = pay(api, admin, m, 1000)
    waiting = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 1000}, admin).json()
    assert waiting["status"] == "pending_approval"

    obj = refund_object("re_dashboard_1", payment["provider_reference"], 1000)
    response = deliver(api, stripe_event("refund.updated", obj))
    assert response.status_code == 200
    assert response.json()["outcome"].startswith("refund succeeded")
    assert waiting["id"] in response.json()["outcome"]

    shown = api.get_json(f"/v1/payments/{payment['id']}", admin)
    by_id = {r["id"]: r for r in shown["refunds"]}
    assert by_id[waiting["id"]]["status"] == "rejected"
    assert "superseded" in by_id[waiting["id"]]["failure_reason"]
    (booked,) = [r for r in shown["refunds"] if r["id"] != waiting["id"]]
    assert (booked["amount"], booked["status"]) == (1000, "succeeded")
    assert booked["provider_reference"] == "re_dashboard_1"
    assert shown["amount_refunded"] == 1000
    assert api.payable(admin, m) == 0
    # The superseded refund can never be approved into a second refund.
    approver = api.key("refunds:approve")
    assert api.post(f"/v1/refunds/{waiting['id']}/approve", None, approver).status_code == 409
    api.settle()
    assert fake_stripe.refunds == []
    assert balanced(api, admin)


def test_what_cannot_be_booked_is_held_for_an_operator(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    """A refund Stripe reports on a payment the ledger holds as only authorized: no booking
    can say it, so it is an item in the queue, with its log line for the metric."""
    m = api.manufacturer(admin, fee_bps=0)
    payment = pay(api, admin, m, 800, method="pm_card")
    manual = api.payment(
        admin, [(m, 500)], provider="stripe", payment_method="pm_card", capture_method="manual"
    )
    assert manual["status"] == "authorized"
    event = stripe_event(
        "refund.updated", refund_object("re_odd_1", manual["provider_reference"], 500)
    )
    with caplog.at_level(logging.ERROR):
        response = deliver(api, event)
    assert response.status_code == 200
    outcome = response.json()["outcome"]
    assert outcome.startswith("needs attention: ")
    assert any(ATTENTION_LOG_MARKER in record.getMessage() for record in caplog.records)

    (item,) = api.get_json("/v1/attention", admin)["data"]
    assert item["id"] in outcome
    assert (item["status"], item["provider"], item["kind"]) == (
        "open",
        "stripe",
        "refund_succeeded",
    )
    assert (item["payment_id"], item["amount"], item["reference"]) == (
        manual["id"],
        500,
        "re_odd_1",
    )
    assert api.get_json(f"/v1/attention/{item['id']}", admin) == item
    assert deliver(api, event).json()["outcome"] == "duplicate"
    assert len(api.get_json("/v1/attention", admin)["data"]) == 1

    # The platform's keys only; resolving needs admin.
    bound = api.key("payments:read", "finance:read", manufacturer=m)
    assert api.get("/v1/attention", bound).status_code == 403
    assert api.get("/v1/attention", api.key("payments:read")).status_code == 403
    finance = api.key("finance:read")
    assert api.get("/v1/attention", finance).status_code == 200
    path = f"/v1/attention/{item['id']}/resolve"
    assert api.post(path, {"note": "x"}, finance).status_code == 403
    assert api.post(path, {"note": ""}, admin).status_code == 422
    resolved = api.post(path, {"note": "refunded by hand in the ledger"}, admin)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"] == "refunded by hand in the ledger"
    assert api.get_json("/v1/attention", admin)["data"] == []
    assert api.post(path, {"note": "again"}, admin).status_code == 409
    assert api.get(f"/v1/attention/att_{'ab' * 16}", admin).status_code == 404
    assert api.get("/v1/attention/nope", admin).status_code == 404
    assert payment["status"] == "captured"


def test_a_refund_that_fails_after_it_succeeded_needs_attention(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = pay(api, admin, m, 1000)
    refunded_at_stripe(api, admin, payment, 300)
    refund_id = api.get_json(f"/v1/payments/{payment['id']}", admin)["refunds"][0]["id"]
    obj = refund_object(
        "re_late_fail",
        payment["provider_reference"],
        300,
        status="failed",
        metadata={"ledger_refund_id": refund_id, "ledger_payment_id": payment["id"]},
    )
    response = deliver(api, stripe_event("refund.updated", obj))
    assert response.json()["outcome"].startswith("needs attention: the refund failed")
    (item,) = api.get_json("/v1/attention", admin)["data"]
    assert item["payment_id"] == payment["id"]
    assert item["currency"] == "USD"


def test_a_payment_success_is_unaffected(
    api: Api, admin: dict[str, str], fake_stripe: FakeStripe
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    fake_stripe.next_intent = "pi_plain"
    payment = pay(api, admin, m, 500, method="pm_pending")
    response = deliver(api, stripe_event("payment_intent.succeeded", intent("pi_plain", 500)))
    assert response.json()["outcome"] == "captured"
    assert api.get_json(f"/v1/payments/{payment['id']}", admin)["status"] == "captured"
    assert api.get_json("/v1/attention", admin)["data"] == []

"""The Stripe adapter through the official SDK's real HTTP path, against localstripe (a fake Stripe
API started as a process on a loopback port), and its webhook verification and translation.

localstripe does not honour Idempotency-Key (it never replays), reports a fee of 0 on every
balance transaction, declines on charge only for card 4000000000000341
(`pm_card_chargeCustomerFail`), and models a partial capture as a capture of the whole amount
plus a refund of the rest; the assertions below stay within what it models.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from ledger.adapters.stripe_provider import StripeProvider
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderEvent,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
    WebhookRejected,
)
from tests.support.localstripe_server import (
    fail_next_requests,
    localstripe_server,
    recorded_requests,
    register_webhook,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

API_KEY = "sk_test_ledger"
WEBHOOK_SECRET = "whsec_ledger_test_secret"
NOW = int(time.time())


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with localstripe_server() as base_url:
        yield base_url


@pytest.fixture
def provider(localstripe: str) -> StripeProvider:
    return StripeProvider(API_KEY, WEBHOOK_SECRET, api_base=localstripe, max_network_retries=0)


@pytest.fixture
def stripe_view(localstripe: str) -> stripe.StripeClient:
    """The tests' own client, to look at what the adapter did inside localstripe."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe})


def key() -> str:
    return f"test-{uuid.uuid4()}"


def authorize(
    provider: StripeProvider,
    amount: int = 1000,
    *,
    capture: bool = False,
    currency: str = "USD",
    payment_method: str = "pm_card_visa",
    idempotency_key: str | None = None,
) -> tuple[str, Any]:
    payment_id = f"pay_{uuid.uuid4().hex[:12]}"
    result = provider.authorize(
        AuthorizationRequest(
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            idempotency_key=idempotency_key or key(),
            capture=capture,
        )
    )
    return payment_id, result


def intent(view: stripe.StripeClient, reference: str) -> dict[str, Any]:
    return view.v1.payment_intents.retrieve(reference).to_dict()


def card(view: stripe.StripeClient, number: str) -> str:
    """A payment-method token for a test card number (localstripe only; the adapter only ever
    receives the token)."""
    method = view.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id


# -- authorize, capture, void ---------------------------------------------------------------------


def test_manual_authorization_then_partial_capture(
    provider: StripeProvider, stripe_view: stripe.StripeClient
) -> None:
    payment_id, authorized = authorize(provider, 1000)
    assert authorized.status == "succeeded"
    assert authorized.reference.startswith("pi_")
    assert authorized.fee is None  # nothing captured, nothing charged yet
    held = intent(stripe_view, authorized.reference)
    assert held["status"] == "requires_capture"
    assert held["capture_method"] == "manual"
    assert (held["amount"], held["currency"]) == (1000, "usd")
    assert held["metadata"] == {"ledger_payment_id": payment_id}

    captured = provider.capture(CaptureRequest(payment_id, authorized.reference, 600, "USD", key()))
    assert captured.status == "succeeded"
    assert captured.reference == authorized.reference
    assert captured.fee == 0  # read from the expanded balance transaction (localstripe: 0)
    after = intent(stripe_view, authorized.reference)
    assert after["status"] == "succeeded"
    charge = after["latest_charge"]
    assert charge["captured"] is True
    assert charge["amount"] - charge["amount_refunded"] == 600


def test_full_capture(provider: StripeProvider, stripe_view: stripe.StripeClient) -> None:
    payment_id, authorized = authorize(provider, 2500)
    captured = provider.capture(
        CaptureRequest(payment_id, authorized.reference, 2500, "USD", key())
    )
    assert captured.status == "succeeded"
    charge = intent(stripe_view, authorized.reference)["latest_charge"]
    assert charge["captured"] is True
    assert charge["amount_refunded"] == 0


def test_capturing_more_than_authorized_is_refused(provider: StripeProvider) -> None:
    payment_id, authorized = authorize(provider, 1000)
    result = provider.capture(CaptureRequest(payment_id, authorized.reference, 1001, "USD", key()))
    assert result.status == "failed"
    assert result.reference == authorized.reference
    assert result.failure_reason


def test_automatic_capture(provider: StripeProvider, stripe_view: stripe.StripeClient) -> None:
    _, result = authorize(provider, 1800, capture=True)
    assert result.status == "succeeded"
    assert result.fee == 0
    charged = intent(stripe_view, result.reference)
    assert charged["status"] == "succeeded"
    assert charged["capture_method"] == "automatic"
    assert charged["latest_charge"]["captured"] is True


def test_void_cancels_the_authorization(
    provider: StripeProvider, stripe_view: stripe.StripeClient
) -> None:
    payment_id, authorized = authorize(provider, 1000)
    voided = provider.void(VoidRequest(payment_id, authorized.reference, key()))
    assert voided.status == "succeeded"
    assert voided.reference == authorized.reference
    assert intent(stripe_view, authorized.reference)["status"] == "canceled"


def test_voiding_a_captured_payment_is_refused(provider: StripeProvider) -> None:
    payment_id, charged = authorize(provider, 1000, capture=True)
    result = provider.void(VoidRequest(payment_id, charged.reference, key()))
    assert result.status == "failed"


@pytest.mark.parametrize("token", ["pm_card_chargeCustomerFail", "card:4000000000000341"])
def test_a_declined_card_fails_with_the_decline_code(
    provider: StripeProvider, stripe_view: stripe.StripeClient, token: str
) -> None:
    if token.startswith("card:"):
        token = card(stripe_view, token.removeprefix("card:"))
    _, result = authorize(provider, 1000, payment_method=token)
    assert result.status == "failed"
    assert result.failure_reason == "card_declined"
    assert result.reference  # the failed PaymentIntent, or (localstripe) the failed charge


def test_a_card_needing_authentication_is_pending(
    provider: StripeProvider, stripe_view: stripe.StripeClient
) -> None:
    _, result = authorize(provider, 1000, payment_method=card(stripe_view, "4000002500003155"))
    assert result.status == "pending"
    assert intent(stripe_view, result.reference)["status"] == "requires_action"


@pytest.mark.parametrize(
    ("currency", "amount", "stripe_amount"),
    [("JPY", 500, 500), ("ISK", 500, 50000), ("EUR", 1999, 1999)],
)
def test_amounts_are_sent_in_stripes_units(
    provider: StripeProvider,
    stripe_view: stripe.StripeClient,
    currency: str,
    amount: int,
    stripe_amount: int,
) -> None:
    _, result = authorize(provider, amount, currency=currency)
    held = intent(stripe_view, result.reference)
    assert (held["amount"], held["currency"]) == (stripe_amount, currency.lower())


def test_amounts_must_be_ints(provider: StripeProvider) -> None:
    with pytest.raises(TypeError):
        authorize(provider, 10.5)  # type: ignore[arg-type]


# -- refunds --------------------------------------------------------------------------------------


def test_partial_refunds_then_the_rest(
    provider: StripeProvider, stripe_view: stripe.StripeClient
) -> None:
    payment_id, charged = authorize(provider, 1000, capture=True)
    first = provider.refund(
        RefundRequest(payment_id, "rf_1", charged.reference, "pm_card_visa", 300, "USD", key())
    )
    second = provider.refund(
        RefundRequest(payment_id, "rf_2", charged.reference, "pm_card_visa", 700, "USD", key())
    )
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.reference.startswith("re_")
    assert first.reference != second.reference
    refund = stripe_view.v1.refunds.retrieve(first.reference).to_dict()
    assert refund["amount"] == 300
    assert refund["payment_intent"] == charged.reference
    assert refund["metadata"] == {"ledger_refund_id": "rf_1", "ledger_payment_id": payment_id}
    assert intent(stripe_view, charged.reference)["latest_charge"]["refunded"] is True


def test_full_refund(provider: StripeProvider, stripe_view: stripe.StripeClient) -> None:
    payment_id, charged = authorize(provider, 4200, capture=True)
    result = provider.refund(
        RefundRequest(payment_id, "rf_full", charged.reference, "pm_card_visa", 4200, "USD", key())
    )
    assert result.status == "succeeded"
    assert stripe_view.v1.refunds.retrieve(result.reference).amount == 4200


def test_refunding_an_unknown_payment_is_refused(provider: StripeProvider) -> None:
    result = provider.refund(
        RefundRequest("pay_x", "rf_x", "pi_doesnotexist", "pm_card_visa", 100, "USD", key())
    )
    assert result.status == "failed"
    assert result.failure_reason


# -- idempotency and transient failures -----------------------------------------------------------


def test_every_write_carries_the_ledgers_idempotency_key(
    provider: StripeProvider, localstripe: str
) -> None:
    before = len(recorded_requests(localstripe))
    keys = [key() for _ in range(5)]
    payment_id, authorized = authorize(provider, 1000, idempotency_key=keys[0])
    provider.capture(CaptureRequest(payment_id, authorized.reference, 1000, "USD", keys[1]))
    provider.refund(
        RefundRequest(payment_id, "rf", authorized.reference, "pm_card_visa", 10, "USD", keys[2])
    )
    _, other = authorize(provider, 1000, idempotency_key=keys[3])
    provider.void(VoidRequest("pay_other", other.reference, keys[4]))

    requests = recorded_requests(localstripe)[before:]
    sent = [(r["path"], r["idempotency_key"]) for r in requests if r["method"] == "POST"]
    # Before a refund, its earlier attempts are looked up (a read: no key needed).
    assert ("GET", "/v1/refunds") in [(r["method"], r["path"]) for r in requests]
    assert sent == [
        ("/v1/payment_intents", keys[0]),
        (f"/v1/payment_intents/{authorized.reference}/capture", keys[1]),
        ("/v1/refunds", keys[2]),
        ("/v1/payment_intents", keys[3]),
        (f"/v1/payment_intents/{other.reference}/cancel", keys[4]),
    ]


def test_a_repeated_authorization_sends_the_same_key(
    provider: StripeProvider, localstripe: str
) -> None:
    # Real Stripe answers the repeat with the first PaymentIntent; localstripe does not replay,
    # so what can be checked here is that the same key goes out both times.
    same = key()
    authorize(provider, 1000, idempotency_key=same)
    authorize(provider, 1000, idempotency_key=same)
    last_two = recorded_requests(localstripe)[-2:]
    assert [r["idempotency_key"] for r in last_two] == [same, same]


def test_the_sdk_retries_a_5xx_with_the_same_key(localstripe: str) -> None:
    retrying = StripeProvider(API_KEY, WEBHOOK_SECRET, api_base=localstripe, max_network_retries=1)
    fail_next_requests(localstripe, 500)
    same = key()
    _, result = authorize(retrying, 1000, idempotency_key=same)
    assert result.status == "succeeded"
    last_two = recorded_requests(localstripe)[-2:]
    assert [(r["path"], r["idempotency_key"]) for r in last_two] == [
        ("/v1/payment_intents", same),
        ("/v1/payment_intents", same),
    ]


@pytest.mark.parametrize("status", [500, 502, 503, 429, 409])
def test_transient_errors_raise_provider_unavailable(
    provider: StripeProvider, localstripe: str, status: int
) -> None:
    fail_next_requests(localstripe, status)
    with pytest.raises(ProviderUnavailable, match=f"HTTP {status}"):
        authorize(provider, 1000)


def test_a_rejected_api_key_is_unavailable_not_a_decline(localstripe: str) -> None:
    misconfigured = StripeProvider(
        "rk_test_not_a_secret_key", WEBHOOK_SECRET, api_base=localstripe, max_network_retries=0
    )
    with pytest.raises(ProviderUnavailable, match="configuration"):
        authorize(misconfigured, 1000)


def test_connection_refused_is_unavailable() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    unreachable = StripeProvider(API_KEY, WEBHOOK_SECRET, api_base=nowhere, max_network_retries=0)
    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        authorize(unreachable, 1000)
    with pytest.raises(ProviderUnavailable):
        unreachable.refund(RefundRequest("p", "r", "pi_x", "pm_card_visa", 1, "USD", key()))


def test_two_configurations_share_no_state(localstripe: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = StripeProvider("sk_test_a", "whsec_a", api_base=nowhere, max_network_retries=0)
    working = StripeProvider("sk_test_b", "whsec_b", api_base=localstripe, max_network_retries=0)
    with pytest.raises(ProviderUnavailable):
        authorize(unreachable, 1000)
    assert authorize(working, 1000)[1].status == "succeeded"
    with pytest.raises(ProviderUnavailable):
        authorize(unreachable, 1000)
    assert stripe.api_key is None  # the global configuration was never touched


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        StripeProvider(API_KEY, WEBHOOK_SECRET, webhook_tolerance_seconds=0)
    with pytest.raises(ValueError, match="cannot be negative"):
        StripeProvider(API_KEY, WEBHOOK_SECRET, max_network_retries=-1)


# -- webhooks -------------------------------------------------------------------------------------


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme, computed independently of the SDK: t=<ts>,v1=HMAC-SHA256(f"{t}.{body}")."""
    # Signed when delivered: a long test session must not age the signature past Stripe's
    # tolerance (NOW is taken when the module is collected).
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def stripe_event(event_type: str, obj: dict[str, Any], created: int = NOW) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def deliver(
    provider: StripeProvider, payload: bytes, header_name: str = "Stripe-Signature"
) -> ProviderEvent | None:
    return provider.parse_webhook(
        payload, {"Content-Type": "application/json", header_name: sign(payload)}
    )


def payment_intent(**fields: Any) -> dict[str, Any]:
    return {
        "id": "pi_3Pabc",
        "object": "payment_intent",
        "amount": 5000,
        "amount_capturable": 0,
        "amount_received": 4000,
        "capture_method": "manual",
        "currency": "eur",
        "latest_charge": "ch_3Pabc",
        "last_payment_error": None,
        "metadata": {"ledger_payment_id": "pay_42"},
        "status": "succeeded",
        **fields,
    }


def refund(**fields: Any) -> dict[str, Any]:
    return {
        "id": "re_3Pxyz",
        "object": "refund",
        "amount": 1500,
        "charge": "ch_3Pabc",
        "currency": "eur",
        "failure_reason": None,
        "metadata": {"ledger_refund_id": "rf_7", "ledger_payment_id": "pay_42"},
        "payment_intent": "pi_3Pabc",
        "status": "succeeded",
        **fields,
    }


def dispute(**fields: Any) -> dict[str, Any]:
    return {
        "id": "du_1Pdis",
        "object": "dispute",
        "amount": 5000,
        "balance_transactions": [
            {
                "id": "txn_1",
                "object": "balance_transaction",
                "amount": -5000,
                "currency": "eur",
                "fee": 1500,
            },
        ],
        "charge": "ch_3Pabc",
        "currency": "eur",
        "payment_intent": "pi_3Pabc",
        "reason": "fraudulent",
        "status": "needs_response",
        **fields,
    }


@pytest.fixture
def receiver() -> StripeProvider:
    # No API traffic here: an api_base nothing listens on makes sure of it.
    return StripeProvider(
        API_KEY, WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )


def test_payment_succeeded(receiver: StripeProvider) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    event = deliver(receiver, payload)
    assert event == ProviderEvent(
        provider="stripe",
        event_id=json.loads(payload)["id"],
        kind="payment_succeeded",
        occurred_at=datetime.fromtimestamp(NOW, UTC),
        payment_reference="pi_3Pabc",
        ledger_payment_id="pay_42",
        amount=4000,  # what was received (captured), not what was authorized
        currency="EUR",
    )


def test_payment_failed(receiver: StripeProvider) -> None:
    failed = payment_intent(
        status="requires_payment_method",
        amount_received=0,
        last_payment_error={
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
        },
    )
    event = deliver(receiver, stripe_event("payment_intent.payment_failed", failed))
    assert event is not None
    assert (event.kind, event.payment_reference, event.amount) == (
        "payment_failed",
        "pi_3Pabc",
        5000,
    )
    assert event.failure_reason == "insufficient_funds"
    no_decline_code = payment_intent(last_payment_error={"code": "expired_card"})
    event = deliver(receiver, stripe_event("payment_intent.payment_failed", no_decline_code))
    assert event is not None
    assert event.failure_reason == "expired_card"


@pytest.mark.parametrize(
    "event_type", ["refund.updated", "charge.refund.updated", "refund.created"]
)
def test_refund_succeeded(receiver: StripeProvider, event_type: str) -> None:
    event = deliver(receiver, stripe_event(event_type, refund()))
    assert event is not None
    assert event.kind == "refund_succeeded"
    assert (event.payment_reference, event.ledger_payment_id) == ("pi_3Pabc", "pay_42")
    assert (event.refund_reference, event.ledger_refund_id) == ("re_3Pxyz", "rf_7")
    assert (event.amount, event.currency) == (1500, "EUR")


@pytest.mark.parametrize("event_type", ["refund.updated", "refund.failed", "charge.refund.updated"])
def test_refund_failed(receiver: StripeProvider, event_type: str) -> None:
    failed = refund(status="failed", failure_reason="expired_or_canceled_card")
    event = deliver(receiver, stripe_event(event_type, failed))
    assert event is not None
    assert event.kind == "refund_failed"
    assert event.failure_reason == "expired_or_canceled_card"
    assert event.ledger_refund_id == "rf_7"


def test_a_pending_refund_is_not_news(receiver: StripeProvider) -> None:
    assert deliver(receiver, stripe_event("refund.updated", refund(status="pending"))) is None


def charge(refunds: list[dict[str, Any]] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "ch_3Pabc",
        "object": "charge",
        "amount": 5000,
        "amount_refunded": sum(r["amount"] for r in refunds or []),
        "currency": "eur",
        "payment_intent": "pi_3Pabc",
        "refunded": False,
    }
    if refunds is not None:
        obj["refunds"] = {"object": "list", "data": refunds, "has_more": False}
    return obj


def test_charge_refunded_with_one_identifiable_refund(receiver: StripeProvider) -> None:
    only = refund(payment_intent=None)  # older payloads: the charge names the PaymentIntent
    event = deliver(receiver, stripe_event("charge.refunded", charge([only])))
    assert event is not None
    assert event.kind == "refund_succeeded"
    assert (event.payment_reference, event.ledger_refund_id) == ("pi_3Pabc", "rf_7")


@pytest.mark.parametrize(
    "refunds",
    [
        None,  # recent API versions no longer include the list
        [refund(id="re_2", metadata={"ledger_refund_id": "rf_8"}), refund()],  # which one?
        [refund(metadata={})],  # not a refund the ledger asked for
    ],
)
def test_charge_refunded_is_ignored_when_ambiguous(
    receiver: StripeProvider, refunds: list[dict[str, Any]] | None
) -> None:
    assert deliver(receiver, stripe_event("charge.refunded", charge(refunds))) is None


def test_dispute_opened(receiver: StripeProvider) -> None:
    event = deliver(receiver, stripe_event("charge.dispute.created", dispute()))
    assert event is not None
    assert event.kind == "dispute_opened"
    assert (event.dispute_reference, event.payment_reference) == ("du_1Pdis", "pi_3Pabc")
    assert (event.amount, event.currency, event.fee) == (5000, "EUR", 1500)
    assert event.outcome is None


def test_dispute_fee_in_another_currency_is_not_reported(receiver: StripeProvider) -> None:
    settled_in_usd = dispute(
        balance_transactions=[{"id": "txn_1", "amount": -5400, "currency": "usd", "fee": 1500}]
    )
    event = deliver(receiver, stripe_event("charge.dispute.created", settled_in_usd))
    assert event is not None
    assert (event.amount, event.currency, event.fee) == (5000, "EUR", None)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("won", "won"), ("lost", "lost"), ("warning_closed", "won"), ("prevented", "won")],
)
def test_dispute_closed(receiver: StripeProvider, status: str, outcome: str) -> None:
    event = deliver(receiver, stripe_event("charge.dispute.closed", dispute(status=status)))
    assert event is not None
    assert (event.kind, event.outcome, event.dispute_reference) == (
        "dispute_closed",
        outcome,
        "du_1Pdis",
    )


def test_a_closed_dispute_with_an_unknown_status_is_rejected(receiver: StripeProvider) -> None:
    payload = stripe_event("charge.dispute.closed", dispute(status="under_review"))
    with pytest.raises(WebhookRejected, match="under_review"):
        deliver(receiver, payload)


def test_isk_amounts_come_back_in_iso_units(receiver: StripeProvider) -> None:
    payload = stripe_event(
        "payment_intent.succeeded", payment_intent(currency="isk", amount_received=50000)
    )
    event = deliver(receiver, payload)
    assert event is not None
    assert (event.amount, event.currency) == (500, "ISK")


@pytest.mark.parametrize(
    "event_type", ["charge.succeeded", "payment_intent.created", "customer.created"]
)
def test_other_types_are_ignored(receiver: StripeProvider, event_type: str) -> None:
    assert deliver(receiver, stripe_event(event_type, payment_intent())) is None


@pytest.mark.parametrize("header_name", ["stripe-signature", "STRIPE-SIGNATURE"])
def test_the_signature_header_is_found_in_any_case(
    receiver: StripeProvider, header_name: str
) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    event = deliver(receiver, payload, header_name=header_name)
    assert event is not None
    assert event.kind == "payment_succeeded"


def test_a_tampered_payload_is_rejected(receiver: StripeProvider) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    header = sign(payload)
    tampered = payload.replace(b'"amount_received": 4000', b'"amount_received": 4000000')
    assert tampered != payload
    with pytest.raises(WebhookRejected, match="signature"):
        receiver.parse_webhook(tampered, {"Stripe-Signature": header})


def test_a_payload_signed_with_another_secret_is_rejected(receiver: StripeProvider) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    with pytest.raises(WebhookRejected, match="signature"):
        receiver.parse_webhook(payload, {"Stripe-Signature": sign(payload, "whsec_other")})


def test_a_stale_timestamp_is_rejected(receiver: StripeProvider) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    stale = int(time.time()) - 301
    with pytest.raises(WebhookRejected, match="tolerance"):
        receiver.parse_webhook(payload, {"Stripe-Signature": sign(payload, timestamp=stale)})
    recent = int(time.time()) - 240
    assert receiver.parse_webhook(payload, {"Stripe-Signature": sign(payload, timestamp=recent)})


def test_a_missing_signature_is_rejected(receiver: StripeProvider) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    with pytest.raises(WebhookRejected, match="missing"):
        receiver.parse_webhook(payload, {"Content-Type": "application/json"})
    with pytest.raises(WebhookRejected):
        receiver.parse_webhook(payload, {"Stripe-Signature": ""})


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", f"t={NOW}", f"t={NOW},v0=00"])
def test_a_malformed_signature_header_is_rejected(receiver: StripeProvider, header: str) -> None:
    payload = stripe_event("payment_intent.succeeded", payment_intent())
    with pytest.raises(WebhookRejected):
        receiver.parse_webhook(payload, {"Stripe-Signature": header})


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe not utf-8",
        b'{"object": "list"}',
        json.dumps(
            {
                "id": "evt_1",
                "object": "event",
                "type": "payment_intent.succeeded",
                "created": NOW,
                "data": {"object": {"id": "pi_1"}},
            }
        ).encode(),
    ],
)
def test_a_signed_but_malformed_body_is_rejected(receiver: StripeProvider, payload: bytes) -> None:
    with pytest.raises(WebhookRejected):
        receiver.parse_webhook(payload, {"Stripe-Signature": sign(payload)})


class _Inbox(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_event_signed_and_delivered_by_localstripe_verifies(
    provider: StripeProvider, localstripe: str
) -> None:
    received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()

    class Inbox(_Inbox):
        pass

    Inbox.received = received
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    try:
        register_webhook(localstripe, url, WEBHOOK_SECRET, ["payment_intent.succeeded"])
        payment_id, charged = authorize(provider, 1234, capture=True)
        deadline = time.monotonic() + 15
        while True:
            body, headers = received.get(timeout=max(deadline - time.monotonic(), 0.1))
            event = provider.parse_webhook(body, headers)
            if event is not None and event.payment_reference == charged.reference:
                break
    finally:
        register_webhook(localstripe, url, WEBHOOK_SECRET, [])  # deliver nothing more
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert event.kind == "payment_succeeded"
    assert (event.ledger_payment_id, event.amount, event.currency) == (payment_id, 1234, "USD")
    assert event.event_id.startswith("evt_")


def test_a_refund_stripe_already_has_is_never_made_again(
    provider: StripeProvider, localstripe: str
) -> None:
    """Stripe forgets idempotency keys after a day: a refund redriven later than that, under
    its same key, must still find the first one by the ledger refund id in its metadata."""
    payment_id, authorized = authorize(provider, 1000, idempotency_key=key())
    provider.capture(CaptureRequest(payment_id, authorized.reference, 1000, "USD", key()))
    request = RefundRequest(
        payment_id, "re_once", authorized.reference, "pm_card_visa", 300, "USD", key()
    )
    first = provider.refund(request)
    before = len(recorded_requests(localstripe))
    again = provider.refund(request)  # localstripe, like Stripe after 24 h, would not replay
    assert again == first
    created = [
        r
        for r in recorded_requests(localstripe)[before:]
        if (r["method"], r["path"]) == ("POST", "/v1/refunds")
    ]
    assert created == []
    other = provider.refund(
        RefundRequest(payment_id, "re_two", authorized.reference, "pm_card_visa", 200, "USD", key())
    )
    assert other.reference != first.reference

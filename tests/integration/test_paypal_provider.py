"""The PayPal adapter through the SDK's real HTTP path, against the local fake PayPal
(tests/support/fake_paypal.py), which answers on loopback only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.adapters.paypal_provider import PayPalProvider, from_paypal_value, to_paypal_value
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderEvent,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
    WebhookRejected,
)
from tests.conftest import ManualClock
from tests.support.fake_paypal import (
    CLIENT_ID,
    CLIENT_SECRET,
    DECLINED_PAYER,
    DENIED_PAYER,
    FLAKY_PAYER,
    PENDING_PAYER,
    SLOW_PAYER,
    UNAVAILABLE_PAYER,
    WEBHOOK_ID,
    FakeClient,
    fake_paypal,
    sign_webhook,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

PAYMENT_ID = "pay_" + "ab" * 16
REFUND_ID = f"re_{'ab' * 16}_1"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with fake_paypal() as url:
        yield url


@pytest.fixture
def fake(base_url: str) -> FakeClient:
    return FakeClient(base_url)


@pytest.fixture
def paypal(base_url: str, clock: ManualClock) -> PayPalProvider:
    return PayPalProvider(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, base_url=base_url, clock=clock)


def key() -> str:
    return f"idem-{uuid.uuid4().hex}"


def authorize(paypal: PayPalProvider, order: str, amount: int, currency: str, **fields: Any) -> Any:
    return paypal.authorize(
        AuthorizationRequest(
            payment_id=PAYMENT_ID,
            amount=amount,
            currency=currency,
            payment_method=order,
            idempotency_key=fields.pop("idempotency_key", None) or key(),
            **fields,
        )
    )


def capture(paypal: PayPalProvider, reference: str, amount: int, currency: str, **kw: Any) -> Any:
    return paypal.capture(
        CaptureRequest(
            payment_id=PAYMENT_ID,
            provider_reference=reference,
            amount=amount,
            currency=currency,
            idempotency_key=kw.get("idempotency_key") or key(),
        )
    )


def refund(paypal: PayPalProvider, reference: str, amount: int, currency: str, **kw: Any) -> Any:
    return paypal.refund(
        RefundRequest(
            payment_id=PAYMENT_ID,
            refund_id=kw.get("refund_id", REFUND_ID),
            provider_reference=reference,
            payment_method="order",
            amount=amount,
            currency=currency,
            idempotency_key=kw.get("idempotency_key") or key(),
        )
    )


def sent(fake: FakeClient, path_suffix: str) -> list[dict[str, Any]]:
    return fake.requests(path_suffix)


# --- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "code", "text"),
    [
        (1050, "USD", "10.50"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (123456789012, "USD", "1234567890.12"),
        (500, "JPY", "500"),
        (1500, "KWD", "1.500"),
        (1, "BHD", "0.001"),
    ],
)
def test_amounts_convert_both_ways_exactly(minor: int, code: str, text: str) -> None:
    assert to_paypal_value(minor, code) == text
    assert from_paypal_value(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code", "minor"), [("10.5", "USD", 1050), ("10", "USD", 1000), ("7.00", "JPY", 7)]
)
def test_paypal_values_with_fewer_or_zero_extra_decimals_are_read(
    text: str, code: str, minor: int
) -> None:
    assert from_paypal_value(text, code) == minor


@pytest.mark.parametrize(
    ("text", "code"), [("10.505", "USD"), ("1.5", "JPY"), ("-1.00", "USD"), ("1e3", "USD")]
)
def test_paypal_values_that_would_need_rounding_are_refused(text: str, code: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        from_paypal_value(text, code)


def test_negative_or_non_integer_amounts_are_refused() -> None:
    for bad in (-1, 10.5, True):
        with pytest.raises(ValueError):  # noqa: PT011
            to_paypal_value(bad, "USD")  # type: ignore[arg-type]


# --- authorize, capture, refund ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "total", "total_text", "captured", "captured_text", "fee", "first", "first_text"),
    [
        ("USD", 10_000, "100.00", 7_550, "75.50", 312, 1_025, "10.25"),
        ("JPY", 12_000, "12000", 9_000, "9000", 354, 1_500, "1500"),
        ("KWD", 25_000, "25.000", 12_345, "12.345", 921, 2_005, "2.005"),
    ],
)
def test_authorize_partial_capture_then_partial_and_full_refund(
    paypal: PayPalProvider,
    fake: FakeClient,
    code: str,
    total: int,
    total_text: str,
    captured: int,
    captured_text: str,
    fee: int,
    first: int,
    first_text: str,
) -> None:
    order = fake.create_order(total_text, code)
    idempotency_key = key()

    authorized = authorize(paypal, order, total, code, idempotency_key=idempotency_key)

    assert authorized.status == "succeeded"
    assert authorized.fee is None
    [call] = sent(fake, f"/v2/checkout/orders/{order}/authorize")
    assert call["request_id"] == idempotency_key
    assert call["status"] == 201

    taken = capture(paypal, authorized.reference, captured, code)

    assert taken.status == "succeeded"
    assert taken.reference != authorized.reference
    assert taken.fee == fee
    [call] = sent(fake, f"/v2/payments/authorizations/{authorized.reference}/capture")
    assert call["body"]["amount"] == {"currency_code": code, "value": captured_text}
    assert call["body"]["final_capture"] is True

    partial = refund(paypal, taken.reference, first, code)

    assert partial.status == "succeeded"
    assert partial.reference not in (taken.reference, authorized.reference)
    assert partial.fee is None
    [call] = sent(fake, f"/v2/payments/captures/{taken.reference}/refund")
    assert call["body"]["amount"] == {"currency_code": code, "value": first_text}
    assert call["body"]["custom_id"] == REFUND_ID
    assert call["body"]["invoice_id"] == REFUND_ID

    rest = refund(paypal, taken.reference, captured - first, code, refund_id=f"re_{'ab' * 16}_2")

    assert rest.status == "succeeded"
    assert rest.reference != partial.reference
    assert sent(fake, f"/v2/payments/captures/{taken.reference}/refund")[1]["body"]["amount"][
        "value"
    ] == to_paypal_value(captured - first, code)

    beyond = refund(paypal, taken.reference, 1, code, refund_id=f"re_{'ab' * 16}_3")

    assert beyond.status == "failed"
    assert beyond.failure_reason == "CAPTURE_FULLY_REFUNDED"


def test_full_capture_and_full_refund(paypal: PayPalProvider, fake: FakeClient) -> None:
    order = fake.create_order("10.50", "USD")
    authorized = authorize(paypal, order, 1050, "USD")

    taken = capture(paypal, authorized.reference, 1050, "USD")
    again = capture(paypal, authorized.reference, 1050, "USD")  # a different idempotency key
    returned = refund(paypal, taken.reference, 1050, "USD")

    assert taken.status == "succeeded"
    assert taken.fee == (1050 * 349 + 5000) // 10000 + 49
    assert again.status == "failed"
    assert again.failure_reason == "AUTHORIZATION_ALREADY_CAPTURED"
    assert returned.status == "succeeded"
    [call] = sent(fake, f"/v2/payments/captures/{taken.reference}/refund")
    assert call["body"]["amount"]["value"] == "10.50"


def test_capturing_more_than_authorized_fails(paypal: PayPalProvider, fake: FakeClient) -> None:
    order = fake.create_order("10.00", "USD")
    authorized = authorize(paypal, order, 1000, "USD")

    result = capture(paypal, authorized.reference, 1001, "USD")

    assert result.status == "failed"
    assert result.failure_reason == "MAX_CAPTURE_AMOUNT_EXCEEDED"


def test_capture_at_once_returns_the_capture_id_and_its_fee(
    paypal: PayPalProvider, fake: FakeClient
) -> None:
    order = fake.create_order("20.00", "USD", intent="CAPTURE")
    idempotency_key = key()

    result = authorize(paypal, order, 2000, "USD", capture=True, idempotency_key=idempotency_key)

    assert result.status == "succeeded"
    assert result.fee == 70 + 49
    assert sent(fake, f"/v2/checkout/orders/{order}/authorize") == []
    [call] = sent(fake, f"/v2/checkout/orders/{order}/capture")
    assert call["request_id"] == idempotency_key
    # The reference is the capture: it is what PayPal refunds.
    assert refund(paypal, result.reference, 500, "USD").status == "succeeded"


def test_capture_at_once_on_an_authorize_order_fails(
    paypal: PayPalProvider, fake: FakeClient
) -> None:
    order = fake.create_order("20.00", "USD", intent="AUTHORIZE")

    result = authorize(paypal, order, 2000, "USD", capture=True)

    assert (result.status, result.failure_reason) == ("failed", "ACTION_DOES_NOT_MATCH_INTENT")


def test_void_releases_the_authorization(paypal: PayPalProvider, fake: FakeClient) -> None:
    order = fake.create_order("5.00", "USD")
    authorized = authorize(paypal, order, 500, "USD")
    idempotency_key = key()

    voided = paypal.void(
        VoidRequest(
            payment_id=PAYMENT_ID,
            provider_reference=authorized.reference,
            idempotency_key=idempotency_key,
        )
    )

    assert (voided.status, voided.reference) == ("succeeded", authorized.reference)
    [call] = sent(fake, f"/v2/payments/authorizations/{authorized.reference}/void")
    assert call["request_id"] == idempotency_key
    late = capture(paypal, authorized.reference, 500, "USD")
    assert (late.status, late.failure_reason) == ("failed", "AUTHORIZATION_VOIDED")
    twice = paypal.void(
        VoidRequest(
            payment_id=PAYMENT_ID, provider_reference=authorized.reference, idempotency_key=key()
        )
    )
    assert (twice.status, twice.failure_reason) == ("failed", "AUTHORIZATION_VOIDED")


# --- refusals and trouble ------------------------------------------------------------------


def test_a_declined_instrument_is_a_failed_result(paypal: PayPalProvider, fake: FakeClient) -> None:
    order = fake.create_order("10.00", "USD", payer=DECLINED_PAYER)

    result = authorize(paypal, order, 1000, "USD")

    assert result.status == "failed"
    assert result.failure_reason == "INSTRUMENT_DECLINED"
    assert result.reference == order


@pytest.mark.parametrize("capture_now", [False, True])
def test_denied_and_pending_payments(
    paypal: PayPalProvider, fake: FakeClient, capture_now: bool
) -> None:
    intent = "CAPTURE" if capture_now else "AUTHORIZE"
    denied = fake.create_order("10.00", "USD", payer=DENIED_PAYER, intent=intent)
    pending = fake.create_order("10.00", "USD", payer=PENDING_PAYER, intent=intent)

    refused = authorize(paypal, denied, 1000, "USD", capture=capture_now)
    waiting = authorize(paypal, pending, 1000, "USD", capture=capture_now)

    assert (refused.status, refused.failure_reason) == ("failed", "DECLINED_BY_RISK_FRAUD_FILTERS")
    assert (waiting.status, waiting.fee) == ("pending", None)


@pytest.mark.parametrize(
    ("value", "code", "amount", "currency"),
    [("10.00", "USD", 2000, "USD"), ("10.00", "USD", 1000, "EUR")],
)
def test_an_order_for_another_amount_is_refused_before_any_money_moves(
    paypal: PayPalProvider, fake: FakeClient, value: str, code: str, amount: int, currency: str
) -> None:
    order = fake.create_order(value, code)

    result = authorize(paypal, order, amount, currency)

    assert (result.status, result.failure_reason) == ("failed", "ORDER_AMOUNT_MISMATCH")
    assert sent(fake, f"/v2/checkout/orders/{order}/authorize") == []


def test_an_unknown_order_fails(paypal: PayPalProvider) -> None:
    result = authorize(paypal, "NOSUCHORDER00000", 1000, "USD")

    assert (result.status, result.failure_reason) == ("failed", "INVALID_RESOURCE_ID")


def test_503_is_unavailable(paypal: PayPalProvider, fake: FakeClient) -> None:
    order = fake.create_order("10.00", "USD", payer=UNAVAILABLE_PAYER)

    with pytest.raises(ProviderUnavailable, match="503"):
        authorize(paypal, order, 1000, "USD")


def test_a_retry_after_a_503_with_the_same_key_succeeds_once(
    paypal: PayPalProvider, fake: FakeClient
) -> None:
    order = fake.create_order("10.00", "USD", payer=FLAKY_PAYER)
    idempotency_key = key()

    with pytest.raises(ProviderUnavailable):
        authorize(paypal, order, 1000, "USD", idempotency_key=idempotency_key)
    result = authorize(paypal, order, 1000, "USD", idempotency_key=idempotency_key)

    assert result.status == "succeeded"
    calls = sent(fake, f"/v2/checkout/orders/{order}/authorize")
    assert [call["status"] for call in calls] == [503, 201]


def test_a_timeout_is_unavailable(base_url: str, fake: FakeClient) -> None:
    order = fake.create_order("10.00", "USD", payer=SLOW_PAYER)
    impatient = PayPalProvider(
        CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, base_url=base_url, timeout_seconds=0.5
    )

    with pytest.raises(ProviderUnavailable):
        authorize(impatient, order, 1000, "USD")


def test_a_refused_connection_is_unavailable() -> None:
    nobody = PayPalProvider(
        CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, base_url=f"http://127.0.0.1:{free_port()}"
    )

    with pytest.raises(ProviderUnavailable):
        authorize(nobody, "ANYORDER", 1000, "USD")


def test_wrong_credentials_are_unavailable_not_a_decline(base_url: str) -> None:
    wrong = PayPalProvider(CLIENT_ID, "not-the-secret", WEBHOOK_ID, base_url=base_url)

    with pytest.raises(ProviderUnavailable, match="access token"):
        authorize(wrong, "ANYORDER", 1000, "USD")


def test_plain_http_is_refused_except_to_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        PayPalProvider(CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, base_url="http://paypal.example")


def test_repeated_idempotency_keys_replay_the_first_answer(
    paypal: PayPalProvider, fake: FakeClient
) -> None:
    order = fake.create_order("30.00", "USD")
    auth_key, capture_key, refund_key = key(), key(), key()

    first = authorize(paypal, order, 3000, "USD", idempotency_key=auth_key)
    second = authorize(paypal, order, 3000, "USD", idempotency_key=auth_key)
    # A second authorization with another key would be refused: the order is used up.
    other = authorize(paypal, order, 3000, "USD")
    taken = capture(paypal, first.reference, 3000, "USD", idempotency_key=capture_key)
    retaken = capture(paypal, first.reference, 3000, "USD", idempotency_key=capture_key)
    returned = refund(paypal, taken.reference, 3000, "USD", idempotency_key=refund_key)
    rereturned = refund(paypal, taken.reference, 3000, "USD", idempotency_key=refund_key)

    assert first == second
    assert first.status == "succeeded"
    assert (other.status, other.failure_reason) == ("failed", "ORDER_ALREADY_AUTHORIZED")
    assert taken == retaken
    assert taken.status == "succeeded"
    assert returned == rereturned
    assert returned.status == "succeeded"
    # Refunding the whole capture twice for real would have failed the second time.
    assert refund(paypal, taken.reference, 1, "USD").failure_reason == "CAPTURE_FULLY_REFUNDED"


# --- webhooks ------------------------------------------------------------------------------


CREATED = "2026-03-10T11:59:30Z"
OCCURRED = datetime(2026, 3, 10, 11, 59, 30, tzinfo=UTC)


def event(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "WH-" + uuid.uuid4().hex[:20].upper(),
        "event_version": "1.0",
        "create_time": CREATED,
        "resource_type": event_type.split(".")[1].lower(),
        "event_type": event_type,
        "summary": event_type,
        "resource": resource,
    }


def capture_resource(status: str) -> dict[str, Any]:
    return {
        "id": "CAP0000000000001",
        "status": status,
        "amount": {"currency_code": "USD", "value": "10.00"},
        "final_capture": True,
        "custom_id": PAYMENT_ID,
        "seller_receivable_breakdown": {
            "gross_amount": {"currency_code": "USD", "value": "10.00"},
            "paypal_fee": {"currency_code": "USD", "value": "0.84"},
            "net_amount": {"currency_code": "USD", "value": "9.16"},
        },
        "supplementary_data": {"related_ids": {"order_id": "ORDER000000000001"}},
        "status_details": {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
        if status == "DECLINED"
        else None,
    }


def dispute_resource(outcome_code: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "dispute_id": "PP-D-12345",
        "status": "RESOLVED" if outcome_code else "OPEN",
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "dispute_amount": {"currency_code": "JPY", "value": "1500"},
        "disputed_transactions": [{"seller_transaction_id": "CAP0000000000001"}],
    }
    if outcome_code:
        resource["dispute_outcome"] = {"outcome_code": outcome_code}
    return resource


def deliver(paypal: PayPalProvider, body: dict[str, Any], clock: ManualClock) -> Any:
    payload = json.dumps(body, indent=2).encode()  # pretty: any re-serialization would show
    return paypal.parse_webhook(payload, sign_webhook(payload, transmission_time=clock.now))


def test_capture_completed_is_payment_succeeded(paypal: PayPalProvider, clock: ManualClock) -> None:
    body = event("PAYMENT.CAPTURE.COMPLETED", capture_resource("COMPLETED"))

    assert deliver(paypal, body, clock) == ProviderEvent(
        provider="paypal",
        event_id=body["id"],
        kind="payment_succeeded",
        occurred_at=OCCURRED,
        payment_reference="ORDER000000000001",
        ledger_payment_id=PAYMENT_ID,
        amount=1000,
        currency="USD",
        fee=84,
    )


def test_capture_denied_is_payment_failed(paypal: PayPalProvider, clock: ManualClock) -> None:
    body = event("PAYMENT.CAPTURE.DENIED", capture_resource("DECLINED"))

    result = deliver(paypal, body, clock)

    assert result.kind == "payment_failed"
    assert result.payment_reference == "ORDER000000000001"
    assert result.failure_reason == "DECLINED_BY_RISK_FRAUD_FILTERS"
    assert (result.amount, result.currency, result.fee) == (1000, "USD", None)


def test_capture_refunded_is_refund_succeeded(paypal: PayPalProvider, clock: ManualClock) -> None:
    body = event(
        "PAYMENT.CAPTURE.REFUNDED",
        {
            "id": "REF0000000000001",
            "status": "COMPLETED",
            "amount": {"currency_code": "KWD", "value": "2.005"},
            "custom_id": REFUND_ID,
            "invoice_id": REFUND_ID,
            "links": [
                {
                    "href": "https://api.paypal.com/v2/payments/refunds/REF0000000000001",
                    "rel": "self",
                },
                {
                    "href": "https://api.paypal.com/v2/payments/captures/CAP0000000000001",
                    "rel": "up",
                },
            ],
        },
    )

    assert deliver(paypal, body, clock) == ProviderEvent(
        provider="paypal",
        event_id=body["id"],
        kind="refund_succeeded",
        occurred_at=OCCURRED,
        payment_reference="CAP0000000000001",
        ledger_payment_id=PAYMENT_ID,
        amount=2005,
        currency="KWD",
        refund_reference="REF0000000000001",
        ledger_refund_id=REFUND_ID,
    )


def test_dispute_created_is_dispute_opened(paypal: PayPalProvider, clock: ManualClock) -> None:
    body = event("CUSTOMER.DISPUTE.CREATED", dispute_resource())

    assert deliver(paypal, body, clock) == ProviderEvent(
        provider="paypal",
        event_id=body["id"],
        kind="dispute_opened",
        occurred_at=OCCURRED,
        payment_reference="CAP0000000000001",
        amount=1500,
        currency="JPY",
        dispute_reference="PP-D-12345",
    )


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("RESOLVED_BUYER_FAVOUR", "lost"),
        ("RESOLVED_SELLER_FAVOUR", "won"),
        ("ACCEPTED", "lost"),
        ("CANCELED_BY_BUYER", "won"),
        ("RESOLVED_WITH_PAYOUT", "won"),
        ("NONE", None),
    ],
)
def test_dispute_resolved_is_dispute_closed(
    paypal: PayPalProvider, clock: ManualClock, code: str, outcome: str | None
) -> None:
    result = deliver(paypal, event("CUSTOMER.DISPUTE.RESOLVED", dispute_resource(code)), clock)

    assert result.kind == "dispute_closed"
    assert (result.dispute_reference, result.outcome) == ("PP-D-12345", outcome)
    assert result.payment_reference == "CAP0000000000001"


def test_other_event_types_are_ignored(paypal: PayPalProvider, clock: ManualClock) -> None:
    body = event("CHECKOUT.ORDER.APPROVED", {"id": "ORDER000000000001", "status": "APPROVED"})

    assert deliver(paypal, body, clock) is None


def test_header_names_are_matched_without_case(paypal: PayPalProvider, clock: ManualClock) -> None:
    payload = json.dumps(event("CUSTOMER.DISPUTE.CREATED", dispute_resource())).encode()
    headers = {k.lower(): v for k, v in sign_webhook(payload, transmission_time=clock.now).items()}

    assert paypal.parse_webhook(payload, headers) is not None


def test_a_tampered_body_is_rejected(paypal: PayPalProvider, clock: ManualClock) -> None:
    payload = json.dumps(event("PAYMENT.CAPTURE.COMPLETED", capture_resource("COMPLETED"))).encode()
    headers = sign_webhook(payload, transmission_time=clock.now)
    tampered = payload.replace(b'"10.00"', b'"1000.00"')
    assert tampered != payload

    with pytest.raises(WebhookRejected):
        paypal.parse_webhook(tampered, headers)


@pytest.mark.parametrize(
    "signing",
    [{"secret": b"another-secret"}, {"webhook_id": "WH-SOMEONE-ELSE"}],
)
def test_a_wrong_signature_is_rejected(
    paypal: PayPalProvider, clock: ManualClock, signing: dict[str, Any]
) -> None:
    payload = json.dumps(event("PAYMENT.CAPTURE.COMPLETED", capture_resource("COMPLETED"))).encode()
    headers = sign_webhook(payload, transmission_time=clock.now, **signing)

    with pytest.raises(WebhookRejected, match="verify"):
        paypal.parse_webhook(payload, headers)


def test_a_signature_of_an_ignored_type_is_still_checked(
    paypal: PayPalProvider, clock: ManualClock
) -> None:
    payload = json.dumps(event("CHECKOUT.ORDER.APPROVED", {"id": "X"})).encode()
    headers = sign_webhook(payload, transmission_time=clock.now, secret=b"wrong")

    with pytest.raises(WebhookRejected):
        paypal.parse_webhook(payload, headers)


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-301, False), (301, False), (-299, True), (299, True)]
)
def test_only_webhooks_sent_within_five_minutes_are_accepted(
    paypal: PayPalProvider, fake: FakeClient, clock: ManualClock, offset: int, accepted: bool
) -> None:
    payload = json.dumps(event("CUSTOMER.DISPUTE.CREATED", dispute_resource())).encode()
    headers = sign_webhook(payload, transmission_time=clock.now + timedelta(seconds=offset))
    verifications = len(sent(fake, "/verify-webhook-signature"))

    if accepted:
        assert paypal.parse_webhook(payload, headers) is not None
    else:
        with pytest.raises(WebhookRejected, match="replay window"):
            paypal.parse_webhook(payload, headers)
        # Refused before asking PayPal.
        assert len(sent(fake, "/verify-webhook-signature")) == verifications


@pytest.mark.parametrize(
    "missing",
    [
        "PAYPAL-AUTH-ALGO",
        "PAYPAL-CERT-URL",
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-TRANSMISSION-TIME",
    ],
)
def test_missing_headers_are_rejected(
    paypal: PayPalProvider, clock: ManualClock, missing: str
) -> None:
    payload = json.dumps(event("CUSTOMER.DISPUTE.CREATED", dispute_resource())).encode()
    headers = sign_webhook(payload, transmission_time=clock.now)
    del headers[missing]

    with pytest.raises(WebhookRejected, match=missing.lower()):
        paypal.parse_webhook(payload, headers)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe", b'{"a": NaN}'])
def test_a_body_that_is_not_a_json_object_is_rejected(
    paypal: PayPalProvider, clock: ManualClock, payload: bytes
) -> None:
    with pytest.raises(WebhookRejected):
        paypal.parse_webhook(payload, sign_webhook(payload, transmission_time=clock.now))

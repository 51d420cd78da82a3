"""Stripe as a payment provider, through the official `stripe` SDK.

Every call goes through one `stripe.StripeClient` owned by the adapter (never the module-global
`stripe.api_key`), so the API base can point at a local fake (localstripe) and two adapters with
different keys never share state.

Payments are PaymentIntents: authorize creates and confirms one (capture_method "manual", or
"automatic" when the request captures at once); capture captures it; void cancels it; refund creates
a Refund against it. The ledger's idempotency key goes to Stripe as the Idempotency-Key of every
write, and the SDK's own network retries reuse it, so a retried call never charges, captures or
refunds twice. Only payment-method tokens (`pm_...`) are ever sent; nothing here logs or stores
card data, and amounts are ints throughout.

How Stripe's answers become ProviderResult / ProviderUnavailable:

- PaymentIntent `requires_capture` / `succeeded`: succeeded, reference = the PaymentIntent id
  (capture and void answer with the same reference).
- PaymentIntent `processing` / `requires_action` (3-D Secure): pending.
- PaymentIntent `requires_payment_method` (a decline reported on the object rather than as an
  error), `canceled`, or anything else: failed.
- `CardError` (402, a decline): failed, failure_reason = the decline_code, else the error code.
- `InvalidRequestError` (400/404: unknown token, amount too small, already captured, refund
  larger than what is left, ...): failed, failure_reason = the error code. Stripe refused this
  request for good; retrying it changes nothing.
- `APIConnectionError`, `RateLimitError`, `APIError` (5xx, 409, anything unclassified):
  ProviderUnavailable; the caller retries with the same key.
- `AuthenticationError` / `PermissionError` (401/403): ProviderUnavailable. A wrong, revoked or
  restricted key is the platform's configuration problem, not a decision about the payment:
  recording a decline would blame the customer, so nothing is recorded, the operator sees the
  errors, and retries succeed once the key is fixed.
- `IdempotencyError` (the key was reused with other parameters): ProviderUnavailable. It is a
  bug, never a decision; recording "failed" could contradict a success Stripe already stored
  under that key.

Fees: Stripe reports its fee on the balance transaction of the charge. authorize (when it
captures) and capture expand `latest_charge.balance_transaction` and report its `fee`, but only
when the balance transaction is in the payment's currency: with a different settlement currency
the fee cannot be expressed in the payment's minor units, so it is None (reconcile from Stripe's
balance reports instead). Refunds report no fee.

Currencies: the ledger speaks uppercase ISO 4217 and integer ISO minor units. Stripe wants
lowercase codes and its own "smallest unit", which is the ISO minor unit for every currency except
ISK: ISO gives ISK no decimals, Stripe still counts it in hundredths (and only accepts multiples of
100), so ISK amounts are scaled by 100 on the way out and back. Zero-decimal currencies (JPY, KRW,
UGX, ...) and two-decimal HUF/TWD already match (their Stripe quirks concern payouts only).
Three-decimal currencies (BHD, JOD, KWD, OMR, TND) match too, but Stripe accepts only amounts whose
last digit is 0; anything else comes back as an InvalidRequestError, i.e. "failed".

Webhooks: parse_webhook checks the `Stripe-Signature` header (looked up case-insensitively) with
the SDK's `WebhookSignature.verify_header`, the same check `construct_event` makes, and then reads
the event as plain JSON so the translation does not depend on the SDK's object model. Translated:

- `payment_intent.succeeded`: payment_succeeded (amount = amount_received).
- `payment_intent.payment_failed`: payment_failed (failure_reason = last_payment_error's
  decline_code, else its code).
- `refund.created`, `refund.updated`, `refund.failed`, `charge.refund.updated`:
  refund_succeeded when the refund's status is `succeeded`, refund_failed when it is `failed` or
  `canceled`, None while it is pending.
- `charge.refunded`: the same, but only when the charge carries exactly one refund and that
  refund has `ledger_refund_id` metadata (see below).
- `charge.dispute.created`: dispute_opened.
- `payout.paid`: payout_paid (payment_reference = the payout id); the ledger then lists the
  payout's balance transactions (payout_transactions) and books the settlement.
- `payout.failed`, `payout.canceled`: payout_failed, payout_canceled (payment_reference = the
  payout id); the ledger reverses the settlement booked for it, or books none.
- `charge.dispute.closed`: dispute_closed, outcome "won" for `won`, `warning_closed` (an inquiry
  that closed without a chargeback) and `prevented`, "lost" for `lost`.

`charge.refunded` is about a charge, not a refund: it fires for every (partial) refund, and the
charge's `refunds` list is no longer even included in recent API versions. Only when the list is
there and holds a single refund is it unambiguous which refund the event reports; otherwise it is
ignored (None), and the per-refund `refund.*` / `charge.refund.updated` events are the reliable
signal - subscribe the endpoint to them.

Disputes: dispute_opened carries the dispute fee (sum of the dispute's balance-transaction fees,
when they are in the dispute's currency); dispute_closed carries no fee. An inquiry
(`warning_needs_response`) is reported as dispute_opened although Stripe withdraws no funds for it;
its `warning_closed` comes back as "won".

Other event types, and events about payments that are not PaymentIntents, give None. A signed
event that does not have the shape Stripe documents is rejected (WebhookRejected), so Stripe keeps
it for redelivery instead of it being silently dropped. Replays are deduplicated by the
application using `event_id`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

import stripe

from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderCapabilities,
    ProviderEvent,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
    WebhookKind,
    WebhookRejected,
)
from ledger.domain.settlement import ProviderTransaction, TransactionType

PROVIDER = "stripe"
SIGNATURE_HEADER = "stripe-signature"
# Stripe's smallest unit divided by the ISO 4217 minor unit, where they differ.
_STRIPE_SCALE = {"ISK": 100}
_FEE_EXPANSION = ["latest_charge.balance_transaction"]
_REFUND_EVENTS = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
_DISPUTE_OUTCOMES: dict[str, Literal["won", "lost"]] = {
    "won": "won",
    "warning_closed": "won",
    "prevented": "won",
    "lost": "lost",
}


class _Malformed(ValueError):
    """A field of a Stripe object is missing or of the wrong type."""


def to_stripe_amount(amount: int, currency: str) -> int:
    """ISO 4217 minor units -> the integer Stripe expects for `currency`."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are int minor units, not {type(amount).__name__}")
    return amount * _STRIPE_SCALE.get(currency.upper(), 1)


def from_stripe_amount(amount: int, currency: str) -> int:
    """Stripe's integer amount in `currency` -> ISO 4217 minor units (ValueError when it is not a
    whole number of them)."""
    scale = _STRIPE_SCALE.get(currency.upper(), 1)
    units, remainder = divmod(amount, scale)
    if remainder:
        raise ValueError(f"{currency.upper()} amount {amount} is not a whole number of units")
    return units


class StripeProvider:
    """PaymentProvider and WebhookSource backed by Stripe (see the module docstring)."""

    # Payments are linked to the provider's ids, so webhooks naming only those find them.
    capabilities = ProviderCapabilities(sends_webhooks=True)

    def check_payment_method(self, payment_method: str) -> str | None:
        return None  # the provider itself refuses a token it does not know

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        webhook_tolerance_seconds: int = 300,
        max_network_retries: int = 2,
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe API key is required")
        if not webhook_secret:
            raise ValueError("a Stripe webhook signing secret is required")
        # The SDK treats a tolerance of 0 as "do not check the timestamp at all".
        if webhook_tolerance_seconds <= 0:
            raise ValueError("webhook_tolerance_seconds must be positive")
        if max_network_retries < 0:
            raise ValueError("max_network_retries cannot be negative")
        self._webhook_secret = webhook_secret
        self._tolerance = webhook_tolerance_seconds
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
        )

    # -- PaymentProvider ------------------------------------------------------------------------

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        try:
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": to_stripe_amount(request.amount, request.currency),
                    "currency": request.currency.lower(),
                    "payment_method": request.payment_method,
                    # Without this, confirming server-side fails for want of a return_url
                    # (redirect-based methods enabled in the Dashboard could apply).
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                    "confirm": True,
                    "capture_method": "automatic" if request.capture else "manual",
                    "metadata": {"ledger_payment_id": request.payment_id},
                    "expand": _FEE_EXPANSION,
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            return _refused_or_raise(error, "authorize")
        with _understood("authorize"):
            data = intent.to_dict()
            reference = _str(data, "id")
            status = _str(data, "status")
            if status in ("requires_capture", "succeeded"):
                fee = _fee(data, request.currency) if status == "succeeded" else None
                return ProviderResult(status="succeeded", reference=reference, fee=fee)
            if status in ("processing", "requires_action"):
                return ProviderResult(status="pending", reference=reference)
            # requires_payment_method (a decline reported on the object), canceled, ...
            return ProviderResult(
                status="failed", reference=reference, failure_reason=_payment_error(data) or status
            )

    def capture(self, request: CaptureRequest) -> ProviderResult:
        reference = request.provider_reference
        try:
            intent = self._client.v1.payment_intents.capture(
                reference,
                params={
                    "amount_to_capture": to_stripe_amount(request.amount, request.currency),
                    "expand": _FEE_EXPANSION,
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            return _refused_or_raise(error, "capture", reference)
        with _understood("capture"):
            data = intent.to_dict()
            status = _str(data, "status")
            if status == "succeeded":
                fee = _fee(data, request.currency)
                return ProviderResult(status="succeeded", reference=reference, fee=fee)
            if status == "processing":
                return ProviderResult(status="pending", reference=reference)
            return ProviderResult(status="failed", reference=reference, failure_reason=status)

    def void(self, request: VoidRequest) -> ProviderResult:
        reference = request.provider_reference
        try:
            intent = self._client.v1.payment_intents.cancel(
                reference, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as error:
            return _refused_or_raise(error, "void", reference)
        with _understood("void"):
            status = _str(intent.to_dict(), "status")
            if status == "canceled":
                return ProviderResult(status="succeeded", reference=reference)
            return ProviderResult(status="failed", reference=reference, failure_reason=status)

    def refund(self, request: RefundRequest) -> ProviderResult:
        """Stripe forgets idempotency keys after 24 hours, and a refund message can be redriven
        from a dead-letter queue later than that: so a refund of this ledger refund that Stripe
        already has (found by its metadata) is answered, never made again."""
        try:
            existing = self._existing_refund(request)
            refund = existing or self._client.v1.refunds.create(
                params={
                    "payment_intent": request.provider_reference,
                    "amount": to_stripe_amount(request.amount, request.currency),
                    "metadata": {
                        "ledger_refund_id": request.refund_id,
                        "ledger_payment_id": request.payment_id,
                    },
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            return _refused_or_raise(error, "refund")
        return _refund_result(refund)

    def _existing_refund(self, request: RefundRequest) -> Any:
        page = self._client.v1.refunds.list(
            params={"payment_intent": request.provider_reference, "limit": 100}
        )
        for refund in page.auto_paging_iter():
            metadata = refund.to_dict().get("metadata") or {}
            if metadata.get("ledger_refund_id") == request.refund_id:
                return refund
        return None

    # -- PayoutReports ---------------------------------------------------------------------------

    def payout_transactions(self, payout_reference: str) -> list[ProviderTransaction]:
        """The payout's balance transactions (GET /v1/balance_transactions?payout=...), every
        page, each with its source expanded so a charge names its PaymentIntent."""
        params: dict[str, Any] = {"payout": payout_reference, "limit": 100}
        params["expand"] = ["data.source"]
        try:
            page = self._client.v1.balance_transactions.list(params=params)  # type: ignore[arg-type]
            listed = [item.to_dict() for item in page.auto_paging_iter()]
        except stripe.StripeError as error:
            _raise_unavailable(error, "list payout balance transactions")
        with _understood("list payout balance transactions"):
            return [_balance_transaction(item) for item in listed]

    # -- WebhookSource --------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent | None:
        signature = next(
            (value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER), None
        )
        if not signature:
            raise WebhookRejected("the Stripe-Signature header is missing")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, self._tolerance
            )
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected(
                f"the Stripe signature does not verify: {error.user_message}"
            ) from None
        except UnicodeDecodeError:
            raise WebhookRejected("the webhook body is not UTF-8") from None
        try:
            event = json.loads(payload)
            if not isinstance(event, dict) or event.get("object") != "event":
                raise _Malformed("the body is not a Stripe event")
            return _translate(event)
        except ValueError as error:  # json.JSONDecodeError and _Malformed are ValueErrors
            raise WebhookRejected(f"a signed but malformed Stripe event: {error}") from None


# -- API errors -----------------------------------------------------------------------------------


def _refused_or_raise(
    error: stripe.StripeError, operation: str, reference: str = ""
) -> ProviderResult:
    """A permanent refusal becomes a failed result; anything else raises ProviderUnavailable."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error")
    details = details if isinstance(details, dict) else {}
    if isinstance(error, stripe.CardError | stripe.InvalidRequestError):
        intent = details.get("payment_intent")
        if not reference and isinstance(intent, dict) and isinstance(intent.get("id"), str):
            reference = intent["id"]
        charge = details.get("charge")
        if not reference and isinstance(charge, str):
            reference = charge
        reason = details.get("decline_code") or error.code
        if not isinstance(reason, str) or not reason:
            reason = "card_declined" if isinstance(error, stripe.CardError) else "invalid_request"
        return ProviderResult(status="failed", reference=reference, failure_reason=reason)
    _raise_unavailable(error, operation)


@contextmanager
def _understood(operation: str) -> Iterator[None]:
    """Stripe answered 2xx with something we cannot read: nothing we can record, so the caller
    retries (the same idempotency key replays the same answer, so this stays visible)."""
    try:
        yield
    except ValueError as error:  # _Malformed, or an amount Stripe gave in fractions of a unit
        raise ProviderUnavailable(
            f"{operation}: Stripe's answer was not understood: {error}"
        ) from None


def _raise_unavailable(error: stripe.StripeError, operation: str) -> NoReturn:
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        why = "Stripe refused the API key (a configuration problem)"
    elif isinstance(error, stripe.IdempotencyError):
        why = "Stripe saw the idempotency key reused with other parameters"
    elif isinstance(error, stripe.APIConnectionError):
        why = "Stripe could not be reached"
    elif isinstance(error, stripe.RateLimitError):
        why = "Stripe rate-limited the request"
    else:
        why = "Stripe answered with a transient error"
    status = f"HTTP {error.http_status}" if error.http_status else "no HTTP answer"
    request_id = f", request {error.request_id}" if error.request_id else ""
    raise ProviderUnavailable(
        f"{operation}: {why} ({type(error).__name__}, {status}{request_id}): {error.user_message}"
    ) from error


# -- reading Stripe objects (plain dicts: API responses via to_dict(), webhooks via json) ---------


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _Malformed(f"{key!r} is missing")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{key!r} is not an integer")
    return value


def _dict(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _id_of(data: Mapping[str, Any], key: str) -> str | None:
    """An expandable field: an id, or the expanded object carrying one."""
    value = data.get(key)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _currency(data: Mapping[str, Any]) -> str:
    return _str(data, "currency").upper()


def _amount(data: Mapping[str, Any], key: str, currency: str) -> int:
    return from_stripe_amount(_int(data, key), currency)


def _fee_of(transaction: Mapping[str, Any], currency: str) -> int | None:
    """A balance transaction's fee in ISO minor units of `currency`; None when it is in another
    (settlement) currency or not a whole number of those units."""
    fee = transaction.get("fee")
    if isinstance(fee, bool) or not isinstance(fee, int):
        return None
    if str(transaction.get("currency", "")).upper() != currency.upper():
        return None
    try:
        return from_stripe_amount(fee, currency)
    except ValueError:
        return None


def _fee(intent: Mapping[str, Any], currency: str) -> int | None:
    return _fee_of(_dict(_dict(intent, "latest_charge"), "balance_transaction"), currency)


def _payment_error(intent: Mapping[str, Any]) -> str | None:
    error = _dict(intent, "last_payment_error")
    return _opt_str(error, "decline_code") or _opt_str(error, "code")


# -- webhook translation --------------------------------------------------------------------------


def _translate(event: Mapping[str, Any]) -> ProviderEvent | None:
    kind = _str(event, "type")
    obj = _dict(_dict(event, "data"), "object")
    base: dict[str, Any] = {
        "provider": PROVIDER,
        "event_id": _str(event, "id"),
        "occurred_at": datetime.fromtimestamp(_int(event, "created"), UTC),
    }
    if kind == "payment_intent.succeeded":
        currency = _currency(obj)
        received = "amount_received" if isinstance(obj.get("amount_received"), int) else "amount"
        return _event(
            base,
            "payment_succeeded",
            payment_reference=_str(obj, "id"),
            ledger_payment_id=_opt_str(_dict(obj, "metadata"), "ledger_payment_id"),
            amount=_amount(obj, received, currency),
            currency=currency,
        )
    if kind == "payment_intent.payment_failed":
        currency = _currency(obj)
        return _event(
            base,
            "payment_failed",
            payment_reference=_str(obj, "id"),
            ledger_payment_id=_opt_str(_dict(obj, "metadata"), "ledger_payment_id"),
            amount=_amount(obj, "amount", currency),
            currency=currency,
            failure_reason=_payment_error(obj) or "payment_failed",
        )
    if kind in _REFUND_EVENTS:
        return _refund_event(base, obj)
    if kind == "charge.refunded":
        refunds = _dict(obj, "refunds")
        listed = refunds.get("data")
        if not isinstance(listed, list) or len(listed) != 1 or refunds.get("has_more"):
            return None
        refund = listed[0]
        if not isinstance(refund, dict):
            raise _Malformed("refunds.data holds a non-object")
        if _opt_str(_dict(refund, "metadata"), "ledger_refund_id") is None:
            return None
        return _refund_event(base, refund, payment_intent=_id_of(obj, "payment_intent"))
    if kind in ("payout.paid", "payout.failed", "payout.canceled"):
        currency = _currency(obj)
        return _event(
            base,
            PAYOUT_KINDS[kind],
            payment_reference=_str(obj, "id"),
            amount=_amount(obj, "amount", currency),
            currency=currency,
        )
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        payment_reference = _id_of(obj, "payment_intent")
        if payment_reference is None:
            return None
        currency = _currency(obj)
        fields: dict[str, Any] = {
            "payment_reference": payment_reference,
            "dispute_reference": _str(obj, "id"),
            "amount": _amount(obj, "amount", currency),
            "currency": currency,
        }
        if kind == "charge.dispute.created":
            due = _evidence_due_by(obj)
            fee = _dispute_fee(obj, currency)
            return _event(base, "dispute_opened", fee=fee, evidence_due_by=due, **fields)
        status = _str(obj, "status")
        if status not in _DISPUTE_OUTCOMES:
            raise _Malformed(f"a closed dispute with status {status!r}")
        return _event(base, "dispute_closed", outcome=_DISPUTE_OUTCOMES[status], **fields)
    return None


_TRANSACTION_TYPES: dict[str, TransactionType] = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "adjustment": "dispute",  # chargebacks and their reversals
    "stripe_fee": "fee",
    "payout": "payout",
}


def _balance_transaction(data: Mapping[str, Any]) -> ProviderTransaction:
    currency = _currency(data)
    source = data.get("source")
    source = source if isinstance(source, dict) else {}
    kind = _TRANSACTION_TYPES.get(_str(data, "type"), "other")
    reference = _id_of(source, "payment_intent")
    refund_reference = None
    if kind == "refund":
        refund_reference = _opt_str(source, "id")
    return ProviderTransaction(
        id=_str(data, "id"),
        type=kind,
        amount=_amount(data, "amount", currency),
        fee=_amount(data, "fee", currency),
        currency=currency,
        reference=reference,
        refund_reference=refund_reference,
    )


PAYOUT_KINDS: dict[str, WebhookKind] = {
    "payout.paid": "payout_paid",
    "payout.failed": "payout_failed",
    "payout.canceled": "payout_canceled",
}


def _refund_event(
    base: Mapping[str, Any], refund: Mapping[str, Any], payment_intent: str | None = None
) -> ProviderEvent | None:
    status = _str(refund, "status")
    kind: WebhookKind
    if status == "succeeded":
        kind, failure_reason = "refund_succeeded", None
    elif status in ("failed", "canceled"):
        kind, failure_reason = "refund_failed", _opt_str(refund, "failure_reason") or status
    else:  # pending, requires_action: not decided yet
        return None
    payment_reference = _id_of(refund, "payment_intent") or payment_intent
    if payment_reference is None:  # a refund of a charge made without a PaymentIntent
        return None
    currency = _currency(refund)
    metadata = _dict(refund, "metadata")
    return _event(
        base,
        kind,
        payment_reference=payment_reference,
        ledger_payment_id=_opt_str(metadata, "ledger_payment_id"),
        refund_reference=_str(refund, "id"),
        ledger_refund_id=_opt_str(metadata, "ledger_refund_id"),
        amount=_amount(refund, "amount", currency),
        currency=currency,
        failure_reason=failure_reason,
    )


def _evidence_due_by(dispute: Mapping[str, Any]) -> datetime | None:
    """`evidence_details.due_by` (Unix seconds; null once evidence can no longer be sent)."""
    details = dispute.get("evidence_details")
    due = details.get("due_by") if isinstance(details, dict) else None
    if isinstance(due, bool) or not isinstance(due, int):
        return None
    return datetime.fromtimestamp(due, UTC)


def _dispute_fee(dispute: Mapping[str, Any], currency: str) -> int | None:
    transactions = dispute.get("balance_transactions")
    if not isinstance(transactions, list) or not transactions:
        return None
    fees = [_fee_of(t, currency) if isinstance(t, dict) else None for t in transactions]
    return None if None in fees else sum(fee for fee in fees if fee is not None)


def _event(base: Mapping[str, Any], kind: WebhookKind, **fields: Any) -> ProviderEvent:
    return ProviderEvent(kind=kind, **base, **fields)


def _refund_result(refund: Any) -> ProviderResult:
    with _understood("refund"):
        data = refund.to_dict()
        reference = _str(data, "id")
        status = _str(data, "status")
        if status == "succeeded":
            return ProviderResult(status="succeeded", reference=reference)
        if status in ("pending", "requires_action"):
            return ProviderResult(status="pending", reference=reference)
        reason = _opt_str(data, "failure_reason") or status
        return ProviderResult(status="failed", reference=reference, failure_reason=reason)

"""Ports the application needs from the outside world: payment providers (authorize, capture,
void, refund, and their webhooks) and payout rails (sandbox, ACH)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """What a provider decided. "failed" is a permanent refusal (a decline, a refused refund):
    the ledger records it and never retries. Transient trouble is ProviderUnavailable instead.

    fee: the provider's own fee for this operation in minor units of the same currency, when the
    provider reports it (booked to the platform's provider-fee expense account)."""

    status: Literal["succeeded", "failed", "pending"]
    reference: str
    failure_reason: str | None = None
    fee: int | None = None


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered with a transient error (timeout, 5xx, rate
    limit): nothing was decided, so nothing is recorded and the caller retries with the same
    idempotency key."""


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    payment_id: str
    amount: int
    currency: str
    payment_method: str
    idempotency_key: str
    # True: the provider authorizes and captures in one step (capture_method "automatic").
    capture: bool = False
    customer_id: str = ""


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    payment_id: str
    provider_reference: str
    amount: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class VoidRequest:
    payment_id: str
    provider_reference: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_id: str
    refund_id: str
    provider_reference: str
    payment_method: str
    amount: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    payout_id: str
    manufacturer_id: str
    amount: int
    currency: str
    idempotency_key: str
    # The rail's token for where the money goes (an ACH bank-account token); never a raw number.
    destination: str | None = None


WebhookKind = Literal[
    "payment_succeeded",
    "payment_failed",
    "refund_succeeded",
    "refund_failed",
    "dispute_opened",
    "dispute_closed",
]


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """A provider webhook, verified and translated into the ledger's terms.

    payment_reference is the provider's id of the payment (Stripe PaymentIntent, PayPal order);
    ledger_payment_id / ledger_refund_id come from metadata the ledger attached, when present.
    """

    provider: str
    event_id: str
    kind: WebhookKind
    occurred_at: datetime
    payment_reference: str
    ledger_payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    refund_reference: str | None = None
    ledger_refund_id: str | None = None
    dispute_reference: str | None = None
    outcome: Literal["won", "lost"] | None = None
    failure_reason: str | None = None
    fee: int | None = None


class WebhookRejected(Exception):
    """A webhook whose signature is missing, wrong or too old: answered 400, nothing recorded."""


class PaymentProvider(Protocol):
    """What the ledger asks of a payment provider. Idempotency keys derive from ledger ids, so a
    retried call can never charge, capture or refund twice.

    Optional class attributes: `sends_webhooks = True` links each payment to the provider's ids
    (webhooks may name only those); `batches = True` lists its pending payments for a batch run
    (ACH files)."""

    def authorize(self, request: AuthorizationRequest) -> ProviderResult: ...

    def capture(self, request: CaptureRequest) -> ProviderResult: ...

    def void(self, request: VoidRequest) -> ProviderResult: ...

    def refund(self, request: RefundRequest) -> ProviderResult: ...


class WebhookSource(Protocol):
    """A provider that sends webhooks. parse_webhook verifies the signature (raising
    WebhookRejected) and returns None for event types the ledger does not act on."""

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent | None: ...


class PayoutRail(Protocol):
    """How money reaches a manufacturer: the sandbox pays at once; ACH answers "pending" and
    settles when its NACHA file goes out (a later return reverses it)."""

    def pay_out(self, request: PayoutRequest) -> ProviderResult: ...

"""Ports the application needs from the outside world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class ProviderResult:
    status: Literal["succeeded", "failed", "pending"]
    reference: str
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    payment_id: str
    amount: int
    currency: str
    payment_method: str
    idempotency_key: str


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered with a transient error: nothing was decided, so
    nothing is recorded and the caller may retry (with the same Idempotency-Key)."""


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


class PaymentProvider(Protocol):
    """What the ledger asks of a payment provider. Idempotency keys derive from ledger ids, so
    a retried call can never charge, refund or pay twice."""

    def authorize(self, request: AuthorizationRequest) -> ProviderResult: ...

    def refund(self, request: RefundRequest) -> ProviderResult: ...

    def pay_out(self, request: PayoutRequest) -> ProviderResult: ...

"""Ports the application needs from the outside world: payment providers (authorize, capture,
void, refund, and their webhooks), payout rails (sandbox, ACH), NACHA files, and the read
models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ledger.domain.ach_file import AchFile
    from ledger.domain.settlement import ProviderTransaction
    from projections.store import ReadModelStore


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
    "payout_paid",  # payment_reference: the provider's payout id
    "payout_failed",  # the same; the payout's money never reached the bank
    "payout_canceled",
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
    evidence_due_by: datetime | None = None  # of an opened dispute


@runtime_checkable
class PayoutReports(Protocol):
    """A provider that can list what one of its payouts to the platform settled."""

    def payout_transactions(self, payout_reference: str) -> list[ProviderTransaction]:
        """Every transaction the payout settled, the payout's own line (type "payout", its
        amount negative) included. Raises ProviderUnavailable when the provider cannot say."""
        ...


class WebhookRejected(Exception):
    """A webhook whose signature is missing, wrong or too old: answered 400, nothing recorded."""


@dataclass(frozen=True, slots=True)
class ProviderCapabilities:
    """sends_webhooks: each payment is linked to the provider's own ids (its webhooks may name
    only those). batches: a payment stays pending until a batch run collects it (ACH files).
    remote: its calls leave the process (and may take a while); an in-process provider (the
    sandbox, ACH's pending debits) answers at once and is called where the command runs."""

    sends_webhooks: bool = False
    batches: bool = False
    remote: bool = True


class PaymentProvider(Protocol):
    """What the ledger asks of a payment provider. Idempotency keys derive from ledger ids, so a
    retried call can never charge, capture or refund twice."""

    capabilities: ProviderCapabilities

    def check_payment_method(self, payment_method: str) -> str | None:
        """Why this payment method is refused before anything is recorded (ACH takes only vault
        tokens, so a raw account number is never stored); None when it is fine."""
        ...

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


@dataclass(frozen=True, slots=True)
class OriginatedFile:
    """A recorded NACHA file's text, ready to deliver to the bank."""

    file_number: int
    text: str
    payouts: int
    debits: int


@dataclass(frozen=True, slots=True)
class ReturnedEntry:
    original_trace_number: str
    reason: str  # "<return code>: <description>"


class AchFileUnwritable(Exception):
    """A recorded file could not be rendered (an entry the format or the vault refuses)."""


class AchFiles(Protocol):
    """NACHA files for the ACH use cases: the format and the sealed bank accounts it needs."""

    def entry_name(self, text: str) -> str:
        """A name as an entry may carry it (the format's characters and length)."""
        ...

    def unusable(self, amount: int, token: str | None) -> str | None:
        """Why an entry of amount to the sealed account token cannot go into a file, or None."""
        ...

    def trace_number(self, sequence: int) -> str: ...

    def render(self, ach_file: AchFile) -> OriginatedFile:
        """The text of a recorded file, the same every time (raises AchFileUnwritable)."""
        ...

    def returns(self, text: str) -> list[ReturnedEntry]:
        """The entries of a returns file (raises ValueError for one that is not)."""
        ...


class ReadModels(Protocol):
    """The read models as this runtime keeps them: fresh() has every event recorded so far
    applied where the runtime can (embedded: a client reads its writes; on AWS they trail the
    stream), freshness() says how current they are."""

    def fresh(self) -> ReadModelStore: ...

    def freshness(self) -> dict[str, Any]: ...

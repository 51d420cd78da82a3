"""Provider webhooks, verified by their adapter, applied to the ledger exactly once.

Each provider event id gets a WebhookReceipt saved in the same atomic write as what the event
changed, so a redelivery finds the receipt and changes nothing. Events may arrive in any order
(the Payment decides what each one still changes); one about a payment the ledger has not
recorded yet is refused as not yet known (the provider retries it later).

Money the provider reports as moved is always booked (a chargeback on a refunded payment is the
platform's loss; a refund made in the provider's dashboard supersedes ledger refunds still
awaiting approval). What still cannot be booked is never only a log line: it is raised as an
AttentionItem, in the same atomic write as the receipt, listed by the API (`/v1/attention`) and
`ledger attention list`, counted by a metric with an alarm, until an operator resolves it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.application.engine import Engine
from ledger.application.errors import ConcurrencyExhausted, IdempotencyKeyInFlight, NotFound
from ledger.application.ports import ProviderEvent
from ledger.application.registries import NEEDS_ATTENTION as ATTENTION_REGISTRY
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.attention import AttentionItem
from ledger.domain.errors import DomainError
from ledger.domain.payment import Payment
from ledger.domain.provider_records import ProviderLink, WebhookReceipt

log = logging.getLogger(__name__)
NEEDS_ATTENTION = "needs attention"
# The log line a metric filter counts (terraform/alarms.tf): one per item raised.
ATTENTION_LOG_MARKER = "provider-event-needs-attention"


class PaymentNotYetKnown(NotFound):
    """The webhook is about a payment the ledger has not recorded (yet): answered 503 so the
    provider delivers it again later, with nothing recorded."""

    code = "payment-not-yet-known"


TRANSIENT = (PaymentNotYetKnown, ConcurrencyExhausted, IdempotencyKeyInFlight)


def apply_provider_event(engine: Engine, event: ProviderEvent) -> str:
    """Returns the outcome: what changed, "duplicate", or "needs attention: ..." with the id of
    the item raised for an operator."""
    try:
        outcome = engine.execute(_command(event))
    except TRANSIENT:
        raise  # transient: answered 503, the provider delivers it again
    except DomainError as error:
        # The ledger cannot book it (say, a refund of a payment it never saw captured): recorded
        # as seen so the provider stops resending it, and held for an operator.
        outcome = engine.execute(_held_for_attention(event, error.message))
    if outcome.startswith(NEEDS_ATTENTION):
        log.error(
            "%s %s event %s: %s", ATTENTION_LOG_MARKER, event.provider, event.event_id, outcome
        )
    return outcome


def _raise_attention(
    uow: UnitOfWork, event: ProviderEvent, reason: str, payment: Payment | None
) -> str:
    item = uow.add(
        AttentionItem(
            provider=event.provider,
            event_id=event.event_id,
            kind=event.kind,
            reason=reason,
            payment_id=ids.encode("payment", payment.id) if payment is not None else None,
            amount=event.amount,
            currency=event.currency or (payment.currency if payment is not None else None),
            reference=event.refund_reference or event.dispute_reference,
        )
    )
    public_id = ids.encode("attention", item.id)
    uow.registry(ATTENTION_REGISTRY, public_id).add(public_id)
    return f"{NEEDS_ATTENTION}: {reason} ({public_id})"


def _held_for_attention(event: ProviderEvent, reason: str) -> Callable[[UnitOfWork], str]:
    def apply(uow: UnitOfWork) -> str:
        try:
            payment: Payment | None = _payment(uow, event)
        except PaymentNotYetKnown:
            payment = None
        return _raise_attention(uow, event, reason, payment)

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, event.provider, event.event_id, event.kind, lambda: apply(uow))

    return command


def applied_once(
    uow: UnitOfWork, provider: str, event_id: str, kind: str, apply: Callable[[], str]
) -> str:
    """Run apply unless this provider event already has a receipt; the receipt, with apply's
    outcome, is saved in the same atomic write as whatever apply changed."""
    if uow.find(WebhookReceipt, WebhookReceipt.create_id(provider, event_id)) is not None:
        return "duplicate"
    outcome = apply()
    uow.add(WebhookReceipt(provider, event_id, kind, outcome))
    return outcome


def _command(event: ProviderEvent) -> Callable[[UnitOfWork], str]:
    def apply(uow: UnitOfWork) -> str:
        payment = _payment(uow, event)
        revived = payment.has_failed and event.kind == "payment_succeeded"
        outcome = _apply(payment, event)
        if revived and payment.is_captured:
            outcome = _refund_if_period_paid(uow, payment) or outcome
        if outcome.startswith(NEEDS_ATTENTION):
            reason = outcome.removeprefix(NEEDS_ATTENTION).lstrip(": ")
            outcome = _raise_attention(uow, event, reason, payment)
        return outcome

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, event.provider, event.event_id, event.kind, lambda: apply(uow))

    return command


def _refund_if_period_paid(uow: UnitOfWork, payment: Payment) -> str | None:
    """A subscription charge reported paid after it was recorded failed: if its period has been
    paid by a later attempt since (or the subscription ended), the customer was charged twice,
    so this charge is refunded at once (the refund workflow executes it)."""
    subscription_id = payment.metadata.get("subscription_id")
    period = payment.metadata.get("period")
    if not isinstance(subscription_id, str) or not isinstance(period, str):
        return None
    found = uow.subscriptions.read(subscription_id)
    if found is None:
        return None
    if not found.is_canceled and not found.is_settled(period):
        return None  # the billing run records it as this period's payment
    payment.request_refund(payment.refundable, "charged twice: the period was already settled")
    return "captured and refunded: the period was already settled"


def _payment(uow: UnitOfWork, event: ProviderEvent) -> Payment:
    payment_id = event.ledger_payment_id
    if payment_id is None:
        link = uow.read(
            ProviderLink, ProviderLink.create_id(event.provider, event.payment_reference)
        )
        payment_id = link.target_id if link is not None else None
    found = uow.payments.find(payment_id) if payment_id is not None else None
    if found is None or found.provider != event.provider:
        raise PaymentNotYetKnown(f"no payment for {event.provider} {event.payment_reference}")
    return found


def _apply(payment: Payment, event: ProviderEvent) -> str:
    if event.kind == "payment_succeeded":
        return payment.provider_succeeded(event.payment_reference, event.fee)
    if event.kind == "payment_failed":
        return payment.provider_failed(event.failure_reason)
    if event.kind in ("refund_succeeded", "refund_failed"):
        return payment.provider_refund(
            succeeded=event.kind == "refund_succeeded",
            refund_id=event.ledger_refund_id,
            reference=event.refund_reference,
            amount=event.amount,
            reason=event.failure_reason,
        )
    return payment.provider_dispute(
        closed=event.kind == "dispute_closed",
        reference=event.dispute_reference or event.event_id,
        amount=event.amount,
        reason=event.failure_reason,
        outcome=event.outcome,
        fee=event.fee,
        evidence_due_by=event.evidence_due_by,
    )

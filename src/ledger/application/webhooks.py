"""Provider webhooks, verified by their adapter, applied to the ledger exactly once.

Each provider event id gets a WebhookReceipt saved in the same atomic write as what the event
changed, so a redelivery finds the receipt and changes nothing. Events may arrive in any order:
one that is already reflected (a success after the worker recorded it) is a no-op; a dispute
closed before its opening was seen is opened first; one about a payment the ledger has not
recorded yet is refused as not yet known (the provider retries it later)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledger.application.errors import ConcurrencyExhausted, IdempotencyKeyInFlight, NotFound
from ledger.application.ports import ProviderEvent
from ledger.application.service import LedgerService
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.errors import DomainError
from ledger.domain.payment import Payment
from ledger.domain.provider_records import ProviderLink, WebhookReceipt
from ledger.domain.subscription import Subscription

log = logging.getLogger(__name__)


class PaymentNotYetKnown(NotFound):
    """The webhook is about a payment the ledger has not recorded (yet): answered 503 so the
    provider delivers it again later, with nothing recorded."""

    code = "payment-not-yet-known"


def apply_provider_event(service: LedgerService, event: ProviderEvent) -> str:
    """Returns the outcome: what changed, "duplicate", or why nothing could change."""
    try:
        return service.execute(_command(event))
    except (PaymentNotYetKnown, ConcurrencyExhausted, IdempotencyKeyInFlight):
        raise  # transient: answered 503, the provider delivers it again
    except DomainError as error:
        # Nothing the ledger can book (say, a dispute larger than what is left): recorded as
        # seen so the provider stops resending it; the outcome is there for operators.
        return service.execute(_receipt_only(event, f"not applied: {error.message}"))


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


def _receipt_only(event: ProviderEvent, outcome: str) -> Callable[[UnitOfWork], str]:
    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, event.provider, event.event_id, event.kind, lambda: outcome)

    return command


def _command(event: ProviderEvent) -> Callable[[UnitOfWork], str]:
    def apply(uow: UnitOfWork) -> str:
        payment = _payment(uow, event)
        revived = payment.status == "failed" and event.kind == "payment_succeeded"
        outcome = _apply(payment, event)
        if revived and payment.status == "captured":
            outcome = _refund_if_period_paid(uow, payment) or outcome
        return outcome

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, event.provider, event.event_id, event.kind, lambda: apply(uow))

    return command


def _refund_if_period_paid(uow: UnitOfWork, payment: Payment) -> str | None:
    """A subscription charge reported paid after it was recorded failed: if its period has been
    paid by a later attempt since (or the subscription ended), the customer was charged twice,
    so this charge is refunded at once (the refund workflow executes it)."""
    subscription_id = payment.metadata.get("subscription_id")
    if not isinstance(subscription_id, str):
        return None
    try:
        found = uow.read(Subscription, ids.decode("subscription", subscription_id))
    except ids.MalformedId:
        return None
    period = payment.metadata.get("period")
    if found is None or not isinstance(period, str):
        return None
    if found.status != "canceled" and not found.is_settled(period):
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
    found = None
    if payment_id is not None:
        try:
            found = uow.find(Payment, ids.decode("payment", payment_id))
        except ids.MalformedId:
            found = None
    if found is None or found.provider != event.provider:
        raise PaymentNotYetKnown(f"no payment for {event.provider} {event.payment_reference}")
    return found


def _apply(payment: Payment, event: ProviderEvent) -> str:
    if event.kind == "payment_succeeded":
        if payment.status in ("pending", "failed"):
            # A failed attempt can be followed by a successful one on the same provider payment
            # (Stripe: a new confirmation after a failed 3-D Secure): the money decides.
            payment.authorize(event.payment_reference)
        if payment.status == "authorized" and payment.capture_method == "automatic":
            payment.capture(provider_fee=event.fee)
            return "captured"
        return "authorized" if payment.status == "authorized" else "already recorded"
    if event.kind == "payment_failed":
        if payment.status != "pending":
            return f"ignored: the payment is {payment.status}"
        payment.fail(event.failure_reason or "failed at the provider")
        return "failed"
    if event.kind in ("refund_succeeded", "refund_failed"):
        return _refund(payment, event)
    return _dispute(payment, event)


def _refund(payment: Payment, event: ProviderEvent) -> str:
    refund_id = event.ledger_refund_id
    if refund_id is None and event.refund_reference is not None:
        refund_id = payment.refund_by_reference(event.refund_reference)
    if refund_id is None or refund_id not in payment.refunds:
        if event.kind == "refund_failed" or not event.amount:
            return "ignored: unknown refund"
        # A refund made at the provider directly (its dashboard): book it as it happened.
        refund_id = payment.request_refund(event.amount, "refunded at the provider")
    status = payment.refunds[refund_id]["status"]
    if status == "succeeded" and event.kind == "refund_failed":
        # Rare (the customer's account closed after the refund was sent): the money came back
        # to the provider. Not reversed automatically; reported for an operator.
        log.error("refund %s failed after it succeeded: needs attention", refund_id)
        return "needs attention: the refund failed after it had succeeded"
    if status != "pending":
        return f"already {status}"
    if event.kind == "refund_succeeded":
        payment.complete_refund(refund_id, event.refund_reference)
        return "refund succeeded"
    payment.fail_refund(refund_id, event.failure_reason or "failed at the provider")
    return "refund failed"


def _dispute(payment: Payment, event: ProviderEvent) -> str:
    reference = event.dispute_reference or event.event_id
    dispute_id = payment.dispute_by_reference(reference)
    if dispute_id is None:
        if not event.amount:
            return "ignored: dispute without an amount"
        dispute_id = payment.open_dispute(
            event.amount, event.failure_reason, reference, provider_fee=event.fee
        )
        if event.kind == "dispute_opened":
            return "dispute opened"
    if event.kind == "dispute_opened":
        return f"already {payment.disputes[dispute_id]['status']}"
    if payment.disputes[dispute_id]["status"] != "open":
        return f"already {payment.disputes[dispute_id]['status']}"
    payment.close_dispute(dispute_id, event.outcome or "lost")
    return f"dispute {event.outcome or 'lost'}"

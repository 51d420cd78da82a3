"""Executing what the ledger has booked: refunds at the payment's provider, payouts on the
manufacturer's payout rail. Called by the workflow handlers, once per queue message, and safe
to call again for the same refund or payout: a second call finds it settled and does nothing,
and provider calls carry idempotency keys that are the ledger's own ids.

Outcomes: a provider's "failed" is permanent and is recorded (the refund or payout fails and
its booking is reversed); ProviderUnavailable propagates, so the message is retried later."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from ledger.application.engine import Engine
from ledger.application.ports import (
    PayoutRail,
    PayoutRequest,
    ProviderUnavailable,
    RefundRequest,
)
from ledger.application.queries import payable
from ledger.application.registries import pending_payouts
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment
from ledger.domain.payout import Payout

Outcome = Literal["succeeded", "failed", "pending", "skipped"]


def execute_refund(engine: Engine, refund_id: str) -> Outcome:
    payment_id = ids.encode("payment", ids.parent_payment(refund_id, "re"))
    payment = engine.find(Payment, "payment", payment_id)
    assert payment is not None
    if not payment.refund_awaits_provider(refund_id):
        return "skipped"  # awaiting approval, or already settled by an earlier delivery
    refund = payment.refunds[refund_id]
    result = engine.provider(payment.provider).refund(
        RefundRequest(
            payment_id=payment_id,
            refund_id=refund_id,
            # A provider that captures under its own id (PayPal) refunds that capture.
            provider_reference=payment.capture_reference or payment.provider_reference or "",
            payment_method=payment.payment_method,
            amount=refund["amount"],
            currency=payment.currency,
            idempotency_key=refund_id,
        )
    )

    def record(uow: UnitOfWork) -> Outcome:
        current = uow.payments.get(payment_id)
        if not current.refund_awaits_provider(refund_id):
            return "skipped"  # a webhook got there first
        if result.status == "pending":  # the provider's webhook settles it
            current.submit_refund(refund_id, result.reference)
            return "pending"
        if result.status == "succeeded":
            current.complete_refund(refund_id, result.reference)
        else:
            current.fail_refund(refund_id, result.failure_reason or "refused by the provider")
        return result.status

    return engine.execute(record)


def execute_payout(engine: Engine, payout_id: str, rails: Mapping[str, PayoutRail]) -> Outcome:
    """An approved payout is first marked executing on its rail (so it can no longer be rejected,
    and a redelivery finishes this attempt instead of deciding again), then paid."""
    payout = engine.find(Payout, "payout", payout_id)
    assert payout is not None
    if payout.is_approved:
        balance = payable(engine, payout.manufacturer_id, payout.currency)
        # Refunds or lost disputes booked since the request may have lowered the balance below
        # what is reserved: then no money leaves.
        if balance is None or balance.available < 0:
            return _record_payout(engine, payout_id, "failed", "", "insufficient_balance")
        manufacturer = engine.find(Manufacturer, "manufacturer", payout.manufacturer_id)
        assert manufacturer is not None
        rail_name = manufacturer.settings["payout_rail"]
        if rail_name not in rails:
            return _record_payout(engine, payout_id, "failed", "", f"no {rail_name} payout rail")
        if not engine.execute(_start(payout_id, rail_name)):
            return "skipped"  # rejected (or started) meanwhile
        payout = engine.find(Payout, "payout", payout_id)
    elif not payout.is_executing:
        return "skipped"
    assert payout is not None
    assert payout.rail is not None
    manufacturer = engine.find(Manufacturer, "manufacturer", payout.manufacturer_id)
    assert manufacturer is not None
    rail = rails.get(payout.rail)
    if rail is None:
        raise ProviderUnavailable(f"the {payout.rail} rail this payout started on is not set up")
    result = rail.pay_out(
        PayoutRequest(
            payout_id=payout_id,
            manufacturer_id=payout.manufacturer_id,
            amount=payout.amount,
            currency=payout.currency,
            idempotency_key=payout_id,
            destination=manufacturer.settings["bank_account_token"],
        )
    )
    if result.status == "pending":
        return _submit_payout(engine, payout_id, payout.rail, result.reference)
    return _record_payout(engine, payout_id, result.status, result.reference, result.failure_reason)


def _start(payout_id: str, rail: str) -> Callable[[UnitOfWork], bool]:
    def record(uow: UnitOfWork) -> bool:
        payout = uow.payouts.get(payout_id)
        if not payout.is_approved:
            return False
        payout.start(rail)
        return True

    return record


def _submit_payout(engine: Engine, payout_id: str, rail: str, reference: str) -> Outcome:
    """A batching rail took it: listed for its next file."""

    def record(uow: UnitOfWork) -> Outcome:
        payout = uow.payouts.get(payout_id)
        if not payout.is_executing:
            return "skipped"
        payout.submit(reference)
        uow.registry(pending_payouts(rail), payout_id).add(payout_id)
        return "pending"

    return engine.execute(record)


def _record_payout(
    engine: Engine,
    payout_id: str,
    status: Literal["succeeded", "failed"],
    reference: str,
    reason: str | None,
) -> Outcome:
    def record(uow: UnitOfWork) -> Outcome:
        payout = uow.payouts.get(payout_id)
        if not payout.is_unsettled:
            return "skipped"
        # The money has left (or will not): the reservation ends either way.
        uow.payable(payout.manufacturer_id, payout.currency).release(payout_id)
        if status == "succeeded":
            payout.mark_paid(reference)
        else:
            payout.fail(reason or "refused by the payout rail")
        return status

    return engine.execute(record)

"""The billing run: visits every active subscription (from the subscriptions registry) and
charges what is due as of its date. Each charge is a payment created under an idempotency key
made of the subscription, the period and the attempt, so a run repeated, redelivered or crashed
half way charges every period exactly once. Failed charges are retried on the dunning schedule,
then the subscription is canceled (see ledger.domain.subscription)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ledger.application.commands import payments
from ledger.application.engine import Engine
from ledger.application.errors import ProviderNotConfigured
from ledger.application.principal import Principal
from ledger.application.registries import SUBSCRIPTIONS
from ledger.application.replies import Idempotency
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.errors import InvalidInput
from ledger.domain.payment import Payment
from ledger.domain.subscription import Charge, Subscription

log = logging.getLogger(__name__)
BILLING = Principal(key_id="system:billing", scopes=frozenset({"payments:write"}))


@dataclass
class RunResult:
    charged: list[str] = field(default_factory=list)  # payment ids that paid a period
    failed: list[str] = field(default_factory=list)  # payment ids (or subscription ids) declined
    pending: list[str] = field(default_factory=list)  # payments the provider has not decided
    errors: dict[str, str] = field(default_factory=dict)  # subscription id -> what went wrong


class BillingRunIncomplete(Exception):
    """Some subscriptions could not be billed (the provider was unavailable, or a bug): the run
    is retried, and what it already charged is not charged again."""


def billing_run(engine: Engine, as_of: date) -> RunResult:
    result = RunResult()
    for public_id in engine.registry_members(SUBSCRIPTIONS):
        try:
            bill_subscription(engine, public_id, as_of, result)
        except Exception as error:  # one subscription never blocks the others
            log.exception("billing %s failed", public_id)
            result.errors[public_id] = f"{type(error).__name__}: {error}"
    if result.errors:
        raise BillingRunIncomplete(json.dumps(result.errors, sort_keys=True))
    return result


def bill_new_subscription(engine: Engine, public_id: str, as_of: date) -> RunResult:
    """A subscription just started: charge what is due as of today (its first period when it
    starts today without a trial). The charge is keyed like the daily run's, so a run that
    reaches it too charges nothing more. Raises BillingRunIncomplete (the message is retried)."""
    result = RunResult()
    try:
        bill_subscription(engine, public_id, as_of, result)
    except Exception as error:
        log.exception("billing new subscription %s failed", public_id)
        raise BillingRunIncomplete(f"{public_id}: {type(error).__name__}: {error}") from error
    return result


@dataclass(frozen=True, slots=True)
class DueCharge:
    subscription_id: str
    period: str
    attempt: int
    amount: int
    currency: str


def due_charges(engine: Engine, as_of: date) -> list[DueCharge]:
    """What a run as of as_of would charge first, per subscription, charging nothing (a dry
    run: a subscription that missed several periods shows its oldest)."""
    due = []
    for public_id in engine.registry_members(SUBSCRIPTIONS):
        current = engine.find(Subscription, "subscription", public_id)
        charge = current.due_charge(as_of) if current is not None else None
        if charge is not None:
            due.append(
                DueCharge(public_id, charge.period, charge.attempt, charge.amount, charge.currency)
            )
    return due


def bill_subscription(engine: Engine, public_id: str, as_of: date, result: RunResult) -> None:
    """Charge every period of this subscription due as of as_of (missed ones one by one)."""
    while True:
        current = engine.find(Subscription, "subscription", public_id)
        if current is None:
            return
        if current.is_canceled:
            engine.execute(_forget(public_id))
            return
        charge = current.due_charge(as_of)
        if charge is None:
            return
        earlier = _captured_earlier_attempt(engine, current, charge)
        if earlier is not None:  # a failed attempt that the provider later reported paid
            engine.execute(_record(public_id, charge, earlier, "succeeded", as_of))
            continue
        try:
            payment = _charge(engine, charge)
        except ProviderNotConfigured:
            raise  # configuration, not the customer: the run is retried, nothing is counted
        except InvalidInput as error:
            # Refused before anything was charged (an ACH token the vault can no longer open,
            # say): a failed attempt, so dunning applies.
            engine.execute(_record(public_id, charge, None, "failed", as_of, error.message))
            result.failed.append(public_id)
            continue
        # ProviderUnavailable propagates: the provider may have charged without answering, so
        # the same attempt is tried again (same payment id, same provider key) until it
        # answers; it never counts as a failure.
        if payment.is_captured:
            result.charged.append(ids.encode("payment", payment.id))
            outcome = "succeeded"
        elif payment.has_failed:
            result.failed.append(ids.encode("payment", payment.id))
            outcome = "failed"
        else:
            result.pending.append(ids.encode("payment", payment.id))
            return  # decided later by the provider's webhook; the next run looks again
        engine.execute(_record(public_id, charge, payment, outcome, as_of))


def _captured_earlier_attempt(
    engine: Engine, subscription: Subscription, charge: Charge
) -> Payment | None:
    invoice = subscription.invoices.get(charge.period)
    for attempt in invoice["attempts"] if invoice else []:
        if attempt.get("payment_id"):
            payment = engine.find(Payment, "payment", attempt["payment_id"])
            if payment is not None and payment.is_captured:
                return payment
    return None


def _charge(engine: Engine, charge: Charge) -> Payment:
    fields = {
        "amount": charge.amount,
        "currency": charge.currency,
        "customer_id": charge.customer_id,
        "provider": charge.provider,
        "payment_method": charge.payment_method,
        "capture_method": "automatic",
        "splits": [dict(split) for split in charge.splits],
        "metadata": {
            "subscription_id": ids.encode("subscription", charge.subscription_id),
            "period": charge.period,
            "attempt": charge.attempt,
        },
    }
    key = charge.id_seed
    reply = engine.run(
        payments.create(BILLING, fields),
        lambda payment: ids.encode("payment", payment.id),
        Idempotency(BILLING.key_id, key, fingerprint=key, keep_refusals=False),
    )
    found = engine.find(Payment, "payment", reply.body)
    assert found is not None
    return found


def _record(
    public_id: str,
    charge: Charge,
    payment: Payment | None,
    outcome: str,
    as_of: date,
    reason: str | None = None,
) -> Callable[[UnitOfWork], bool]:
    payment_id = ids.encode("payment", payment.id) if payment is not None else None

    def command(uow: UnitOfWork) -> bool:
        subscription = uow.subscriptions.get(public_id)
        if outcome == "succeeded" and payment_id is not None:
            changed = subscription.record_charge_succeeded(
                charge.period, payment_id, charge.attempt
            )
        else:
            changed = subscription.record_charge_failed(
                charge.period,
                payment_id,
                charge.attempt,
                reason or (payment.failure_reason if payment else None) or "declined",
                failed_on=max(as_of, charge.due_on),
            )
        if subscription.is_canceled:
            uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)
        return changed

    return command


def _forget(public_id: str) -> Callable[[UnitOfWork], None]:
    def command(uow: UnitOfWork) -> None:
        uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)

    return command

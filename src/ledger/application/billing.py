"""Recurring billing: subscriptions and the billing run.

A billing run visits every active subscription (from the subscriptions registry) and charges
what is due as of its date: each charge is a payment created under an idempotency key made of
the subscription, the period and the attempt, so a run repeated, redelivered or crashed half way
charges every period exactly once. Failed charges are retried on the dunning schedule, then the
subscription is canceled (see ledger.domain.subscription)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ledger.application.errors import NotFound, ProviderNotConfigured
from ledger.application.principal import Principal
from ledger.application.service import (
    IdempotencyContext,
    LedgerService,
    check_payment_method,
    create_payment,
    routed_provider,
    split_manufacturers,
)
from ledger.application.unit_of_work import SUBSCRIPTIONS, UnitOfWork
from ledger.domain import ids
from ledger.domain.errors import InvalidInput
from ledger.domain.payment import Payment
from ledger.domain.subscription import Charge, Subscription

log = logging.getLogger(__name__)
BILLING = Principal(key_id="system:billing", scopes=frozenset({"payments:write"}))


def start_subscription(
    service: LedgerService, principal: Principal, fields: dict[str, Any]
) -> Callable[[UnitOfWork], Subscription]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Subscription:
        provider = routed_provider(fields, split_manufacturers(uow, principal, fields["splits"]))
        # Refused now (422), not at every billing run: a provider that is not configured, or a
        # payment method it cannot take.
        check_payment_method(service.provider(provider), fields["payment_method"])
        subscription = Subscription.start(
            customer_id=fields["customer_id"],
            provider=provider,
            payment_method=fields["payment_method"],
            amount=fields["amount"],
            currency_code=fields["currency"],
            splits=fields["splits"],
            interval=fields["interval"],
            start_on=fields.get("start_on"),
            trial_days=fields.get("trial_days", 0),
            dunning=fields.get("dunning") or (1, 3, 7),
            id_seed=uow.seed("subscription"),
        )
        public_id = ids.encode("subscription", subscription.id)
        uow.registry(SUBSCRIPTIONS, public_id).add(public_id)
        return uow.add(subscription)

    return command


def cancel_subscription(
    principal: Principal, public_id: str, reason: str | None
) -> Callable[[UnitOfWork], Subscription]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Subscription:
        subscription = _subscription_for_write(uow, principal, public_id)
        subscription.cancel(principal.key_id, reason)
        uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)
        return subscription

    return command


def subscription(service: LedgerService, principal: Principal, public_id: str) -> Subscription:
    found = service.find(Subscription, "subscription", public_id)
    if found is None or not principal.owns_all(_manufacturers(found)):
        raise NotFound("no such subscription")
    return found


@dataclass
class RunResult:
    charged: list[str] = field(default_factory=list)  # payment ids that paid a period
    failed: list[str] = field(default_factory=list)  # payment ids (or subscription ids) declined
    pending: list[str] = field(default_factory=list)  # payments the provider has not decided
    errors: dict[str, str] = field(default_factory=dict)  # subscription id -> what went wrong


class BillingRunIncomplete(Exception):
    """Some subscriptions could not be billed (the provider was unavailable, or a bug): the run
    is retried, and what it already charged is not charged again."""


def billing_run(service: LedgerService, as_of: date) -> RunResult:
    result = RunResult()
    for public_id in service.registry_members(SUBSCRIPTIONS):
        try:
            bill_subscription(service, public_id, as_of, result)
        except Exception as error:  # one subscription never blocks the others
            log.exception("billing %s failed", public_id)
            result.errors[public_id] = f"{type(error).__name__}: {error}"
    if result.errors:
        raise BillingRunIncomplete(json.dumps(result.errors, sort_keys=True))
    return result


def bill_subscription(
    service: LedgerService, public_id: str, as_of: date, result: RunResult
) -> None:
    """Charge every period of this subscription due as of as_of (missed ones one by one)."""
    while True:
        current = service.find(Subscription, "subscription", public_id)
        if current is None:
            return
        if current.status == "canceled":
            service.execute(_forget(public_id))
            return
        charge = current.due_charge(as_of)
        if charge is None:
            return
        earlier = _captured_earlier_attempt(service, current, charge)
        if earlier is not None:  # a failed attempt that the provider later reported paid
            service.execute(_record(public_id, charge, earlier, "succeeded", as_of))
            continue
        try:
            payment = _charge(service, charge)
        except ProviderNotConfigured:
            raise  # configuration, not the customer: the run is retried, nothing is counted
        except InvalidInput as error:
            # Refused before anything was charged (an ACH token the vault can no longer open,
            # say): a failed attempt, so dunning applies.
            service.execute(_record(public_id, charge, None, "failed", as_of, error.message))
            result.failed.append(public_id)
            continue
        # ProviderUnavailable propagates: the provider may have charged without answering, so
        # the same attempt is tried again (same payment id, same provider key) until it
        # answers; it never counts as a failure.
        if payment.status == "captured":
            result.charged.append(ids.encode("payment", payment.id))
            outcome = "succeeded"
        elif payment.status == "failed":
            result.failed.append(ids.encode("payment", payment.id))
            outcome = "failed"
        else:
            result.pending.append(ids.encode("payment", payment.id))
            return  # decided later by the provider's webhook; the next run looks again
        service.execute(_record(public_id, charge, payment, outcome, as_of))


def _captured_earlier_attempt(
    service: LedgerService, subscription: Subscription, charge: Charge
) -> Payment | None:
    invoice = subscription.invoices.get(charge.period)
    for attempt in invoice["attempts"] if invoice else []:
        if attempt.get("payment_id"):
            payment = service.find(Payment, "payment", attempt["payment_id"])
            if payment is not None and payment.status == "captured":
                return payment
    return None


def _charge(service: LedgerService, charge: Charge) -> Payment:
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
    response = service.run(
        create_payment(service, BILLING, fields),
        lambda payment: (201, ids.encode("payment", payment.id)),
        idempotency=IdempotencyContext(BILLING.key_id, key, fingerprint=key),
    )
    found = service.find(Payment, "payment", response.body)
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
        subscription = _load(uow, public_id)
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
        if subscription.status == "canceled":
            uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)
        return changed

    return command


def _forget(public_id: str) -> Callable[[UnitOfWork], None]:
    def command(uow: UnitOfWork) -> None:
        uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)

    return command


def _load(uow: UnitOfWork, public_id: str) -> Subscription:
    return uow.get(Subscription, ids.decode("subscription", public_id), "subscription")


def _manufacturers(found: Subscription) -> list[str]:
    return [split["manufacturer_id"] for split in found.splits]


def _subscription_for_write(uow: UnitOfWork, principal: Principal, public_id: str) -> Subscription:
    try:
        found = uow.find(Subscription, ids.decode("subscription", public_id))
    except ids.MalformedId:
        found = None
    if found is None or not principal.owns_all(_manufacturers(found)):
        raise NotFound("no such subscription")
    return found

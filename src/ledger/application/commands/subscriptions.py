"""Subscriptions: started with their splits and payment method (checked against the provider at
once, not at every billing run) and canceled. The billing run charges them (processes.billing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.application.commands.payments import checked_method, routed_provider
from ledger.application.commands.payments import split_manufacturers as manufacturers_of
from ledger.application.principal import Principal, requires
from ledger.application.registries import SUBSCRIPTIONS
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.subscription import Subscription


@requires("payments:write")
def start(principal: Principal, fields: dict[str, Any]) -> Callable[[UnitOfWork], Subscription]:

    def command(uow: UnitOfWork) -> Subscription:
        split_makers = manufacturers_of(uow, principal, fields["splits"])
        provider = routed_provider(fields.get("provider"), split_makers)
        checked_method(uow, provider, fields["payment_method"])
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


@requires("payments:write")
def cancel(
    principal: Principal, public_id: str, reason: str | None
) -> Callable[[UnitOfWork], Subscription]:

    def command(uow: UnitOfWork) -> Subscription:
        subscription = uow.subscriptions.for_write(principal, public_id)
        subscription.cancel(principal.key_id, reason)
        uow.registry(SUBSCRIPTIONS, public_id).remove(public_id)
        return subscription

    return command

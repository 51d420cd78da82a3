"""The payout sweep: rejects payouts whose approval window has passed, and requests each
manufacturer's automatic payout (daily, weekly or monthly) of its available payable balance,
at most once per period: the period is part of the idempotency key of the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ledger.application.commands import payouts
from ledger.application.engine import Engine
from ledger.application.principal import Principal
from ledger.application.queries import payable
from ledger.application.registries import PAYABLES, PAYOUTS_AWAITING_APPROVAL, SCHEDULED_PAYOUTS
from ledger.application.replies import Idempotency
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.errors import DomainError
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.per_currency import minimum_for

EXPIRY = "system:approval-expiry"
SCHEDULER = Principal(key_id="system:payout-schedule", scopes=frozenset({"payments:write"}))


@dataclass
class SweepResult:
    expired: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)


def payout_period(interval: str, at: datetime) -> str | None:
    if interval == "daily":
        return at.date().isoformat()
    if interval == "weekly":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    if interval == "monthly":
        return f"{at.year}-{at.month:02d}"
    return None


def sweep_payouts(engine: Engine, at: datetime) -> SweepResult:
    result = SweepResult()
    for payout_id in engine.registry_members(PAYOUTS_AWAITING_APPROVAL):
        if engine.execute(_expire_command(payout_id, at)):
            result.expired.append(payout_id)
    scheduled = set(engine.registry_members(SCHEDULED_PAYOUTS))
    for member in engine.registry_members(PAYABLES):
        manufacturer_id, _, currency = member.partition(":")
        if manufacturer_id in scheduled:
            requested = _scheduled_payout(engine, manufacturer_id, currency, at)
            if requested is not None:
                result.requested.append(requested)
    return result


def _expire_command(payout_id: str, at: datetime) -> Callable[[UnitOfWork], bool]:
    def command(uow: UnitOfWork) -> bool:
        payout = uow.payouts.get(payout_id)
        registry = uow.registry(PAYOUTS_AWAITING_APPROVAL, payout_id)
        if not payout.awaiting_approval:
            registry.remove(payout_id)  # approved or rejected since: nothing left to expire
            return False
        if not payout.approval_expired(at):
            return False
        payout.reject(EXPIRY, "the approval window expired")
        uow.payable(payout.manufacturer_id, payout.currency).release(payout_id)
        registry.remove(payout_id)
        return True

    return command


def _scheduled_payout(
    engine: Engine, manufacturer_id: str, currency: str, at: datetime
) -> str | None:
    manufacturer = engine.find(Manufacturer, "manufacturer", manufacturer_id)
    assert manufacturer is not None
    period = payout_period(manufacturer.settings["payout_interval"], at)
    balance = payable(engine, manufacturer_id, currency)
    if period is None or balance is None:
        return None
    amount = balance.available
    # Below the minimum nothing is recorded, so a later sweep in the same period may still pay.
    if amount <= 0 or amount < minimum_for(manufacturer.settings["payout_minimum"], currency):
        return None
    key = f"{manufacturer_id}:{currency}:{period}"
    try:
        reply = engine.run(
            payouts.request(SCHEDULER, manufacturer_id, amount, currency),
            lambda payout: ids.encode("payout", payout.id),
            Idempotency(SCHEDULER.key_id, key, fingerprint=key, keep_refusals=False),
        )
    except DomainError:
        return None  # the balance moved under us; the next sweep of the period tries again
    return None if reply.replayed else reply.body

"""Payouts: requested from a manufacturer's available payable balance (reserved at once),
approved by distinct approvers at or above its threshold, or rejected; the payout-execution
workflow pays approved ones on the manufacturer's rail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ledger.application.principal import Principal, requires
from ledger.application.registries import PAYOUTS_AWAITING_APPROVAL
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.base import now
from ledger.domain.errors import IllegalTransition, InvalidInput
from ledger.domain.payout import Payout


@requires("payments:write")
def request(
    principal: Principal, manufacturer_id: str, amount: int, currency: str
) -> Callable[[UnitOfWork], Payout]:

    def command(uow: UnitOfWork) -> Payout:
        manufacturer = uow.manufacturers.usable_by(principal, manufacturer_id)
        if manufacturer is None:
            raise InvalidInput(f"unknown manufacturer '{manufacturer_id}'")
        expiry_hours = manufacturer.settings["payout_approval_expiry_hours"]
        payout = Payout.request(
            manufacturer_id=manufacturer_id,
            amount=amount,
            currency_code=currency,
            requested_by=principal.key_id,
            approvals_required=manufacturer.approvals_needed_for(amount, currency),
            approval_expires_at=(now() + timedelta(hours=expiry_hours)) if expiry_hours else None,
            id_seed=uow.seed("payout"),
        )
        public_id = ids.encode("payout", payout.id)
        uow.payable(manufacturer_id, currency).reserve(public_id, amount)
        if payout.approval_expires_at is not None:
            uow.registry(PAYOUTS_AWAITING_APPROVAL, public_id).add(public_id)
        return uow.add(payout)

    return command


@requires("payouts:approve")
def approve(principal: Principal, public_id: str) -> Callable[[UnitOfWork], Payout]:
    """The last approval makes it "approved"; the payout-execution workflow pays it."""

    def command(uow: UnitOfWork) -> Payout:
        payout = uow.payouts.for_write(principal, public_id)
        if payout.approval_expired(now()):
            raise IllegalTransition("the approval window of this payout has expired")
        payout.approve(principal.key_id, principal.label)
        return payout

    return command


@requires("payouts:approve")
def reject(
    principal: Principal, public_id: str, reason: str | None
) -> Callable[[UnitOfWork], Payout]:

    def command(uow: UnitOfWork) -> Payout:
        payout = uow.payouts.for_write(principal, public_id)
        payout.reject(principal.key_id, reason)
        uow.payable(payout.manufacturer_id, payout.currency).release(public_id)
        return payout

    return command

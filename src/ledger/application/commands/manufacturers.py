"""Registering manufacturers and changing their terms and workflow settings: the platform's
powers (an unbound admin key). A key bound to a manufacturer can never change its own fee,
refund policy, approval policy or settings; it may propose a new payout bank account, which
takes effect once the platform approves it (see ledger.application.bank_accounts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.application.errors import Forbidden
from ledger.application.principal import Principal, requires
from ledger.application.registries import SCHEDULED_PAYOUTS
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.manufacturer import Manufacturer

TERMS_ARE_THE_PLATFORMS = (
    "a key bound to a manufacturer cannot change its fee, refund policy, approval policy or "
    "settings; the platform changes them"
)


@requires("admin")
def register(principal: Principal, terms: dict[str, Any]) -> Callable[[UnitOfWork], Manufacturer]:
    if principal.manufacturer_id is not None:
        raise Forbidden("a key bound to a manufacturer cannot register manufacturers")

    def command(uow: UnitOfWork) -> Manufacturer:
        return uow.add(Manufacturer.register(**terms))

    return command


@requires("admin")
def change_terms(
    principal: Principal, public_id: str, changes: dict[str, Any]
) -> Callable[[UnitOfWork], Manufacturer]:
    principal.require_platform(TERMS_ARE_THE_PLATFORMS)

    def command(uow: UnitOfWork) -> Manufacturer:
        manufacturer = uow.manufacturers.for_write(principal, public_id)
        manufacturer.change_terms(**changes)
        return manufacturer

    return command


@requires("admin")
def change_settings(
    principal: Principal, public_id: str, changes: dict[str, Any]
) -> Callable[[UnitOfWork], Manufacturer]:
    """changes: settings of ledger.domain.manufacturer_settings; a bank account arrives here
    already sealed by the vault (token and mask), never as a number."""
    principal.require_platform(TERMS_ARE_THE_PLATFORMS)

    def command(uow: UnitOfWork) -> Manufacturer:
        if changes.get("provider") is not None:
            uow.provider(changes["provider"])  # 422 unless configured
        manufacturer = uow.manufacturers.for_write(principal, public_id)
        manufacturer.change_settings(changes)
        scheduled = uow.registry(SCHEDULED_PAYOUTS, public_id)
        if manufacturer.settings["payout_interval"] == "manual":
            scheduled.remove(public_id)
        else:
            scheduled.add(public_id)
        return manufacturer

    return command


@requires("payments:write")
def propose_bank_account(
    principal: Principal, public_id: str, token: str, masked: str
) -> Callable[[UnitOfWork], Manufacturer]:
    """A bound key's new payout account: pending until the platform approves it."""

    def command(uow: UnitOfWork) -> Manufacturer:
        manufacturer = uow.manufacturers.for_write(principal, public_id)
        manufacturer.propose_bank_account(token, masked, requested_by=principal.key_id)
        return manufacturer

    return command


@requires("admin")
def approve_bank_account(
    principal: Principal, public_id: str
) -> Callable[[UnitOfWork], Manufacturer]:
    principal.require_platform(TERMS_ARE_THE_PLATFORMS)

    def command(uow: UnitOfWork) -> Manufacturer:
        manufacturer = uow.manufacturers.for_write(principal, public_id)
        manufacturer.approve_bank_account(principal.key_id)
        return manufacturer

    return command


@requires("admin")
def reject_bank_account(
    principal: Principal, public_id: str, reason: str | None
) -> Callable[[UnitOfWork], Manufacturer]:
    principal.require_platform(TERMS_ARE_THE_PLATFORMS)

    def command(uow: UnitOfWork) -> Manufacturer:
        manufacturer = uow.manufacturers.for_write(principal, public_id)
        manufacturer.reject_bank_account(principal.key_id, reason)
        return manufacturer

    return command

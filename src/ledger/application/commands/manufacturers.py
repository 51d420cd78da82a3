"""Registering manufacturers and changing their terms and workflow settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.application.errors import Forbidden
from ledger.application.principal import Principal, requires
from ledger.application.registries import SCHEDULED_PAYOUTS
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.manufacturer import Manufacturer


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

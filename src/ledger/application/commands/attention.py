"""Resolving what needs attention: provider money the ledger could not book. The platform's
operators only (an unbound admin key): the note says what was done about it (an adjustment
booked by hand, the provider's answer)."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application.errors import NotFound
from ledger.application.principal import Principal, requires
from ledger.application.registries import NEEDS_ATTENTION
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.attention import AttentionItem

PLATFORM_ONLY = "only the platform's keys see or resolve what needs attention"


@requires("admin")
def resolve(
    principal: Principal, public_id: str, note: str
) -> Callable[[UnitOfWork], AttentionItem]:
    principal.require_platform(PLATFORM_ONLY)

    def command(uow: UnitOfWork) -> AttentionItem:
        try:
            aggregate_id = ids.decode("attention", public_id)
        except ids.MalformedId:
            raise NotFound("no such attention item") from None
        item = uow.get(AttentionItem, aggregate_id, "attention item")
        item.resolve(principal.key_id, note)
        uow.registry(NEEDS_ATTENTION, public_id).remove(public_id)
        return item

    return command

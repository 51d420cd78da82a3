"""Closing accounting periods (calendar months, UTC): the books close through a month."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application.errors import Forbidden
from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.books import Books


@requires("finance:close")
def close(principal: Principal, period: str) -> Callable[[UnitOfWork], Books]:
    """Close period and every period before it; their statements are then frozen as issued."""
    if principal.manufacturer_id is not None:
        raise Forbidden("a key bound to a manufacturer cannot close periods")

    def command(uow: UnitOfWork) -> Books:
        books = uow.find(Books, Books.create_id()) or uow.add(Books())
        books.close(period, principal.key_id)
        return books

    return command

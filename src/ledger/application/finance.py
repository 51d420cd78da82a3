"""Finance reads: manufacturer statements per period (issued or restated) and the platform
P&L, from the statement lines and the closes of the books (see projections.statements)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.application import periods
from ledger.application.aggregates import Manufacturers
from ledger.application.errors import Forbidden
from ledger.application.ports import ReadModels
from ledger.application.principal import Principal, requires
from ledger.domain.errors import IllegalTransition
from ledger.domain.manufacturer import Manufacturer
from projections import statements
from projections.logic import PLATFORM
from projections.statements import Books, View

FINANCE = ("finance:read",)


class NotIssued(IllegalTransition):
    """An issued statement of a period that is still open."""

    code = "period-open"


@dataclass(frozen=True, slots=True)
class Statement:
    manufacturer: Manufacturer
    manufacturer_id: str
    period: str
    view: View
    closed_at: str | None
    sections: list[dict[str, Any]]
    difference: list[dict[str, Any]] | None
    freshness: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ProfitAndLoss:
    period: str
    view: View
    closed_at: str | None
    sections: list[dict[str, Any]]
    freshness: dict[str, Any]


def _view(books: Books, period: str, as_: str | None) -> tuple[View, str | None]:
    closed_at = books.closed_at(period)
    if as_ == "restated":
        return "restated", closed_at
    if closed_at is None:
        if as_ == "issued":
            raise NotIssued(f"{period} is open: nothing has been issued for it yet")
        return "current", None
    return "issued", closed_at


class FinanceQueries:
    def __init__(self, read_models: ReadModels, manufacturers: Manufacturers) -> None:
        self._read_models = read_models
        self._manufacturers = manufacturers

    @requires(*FINANCE)
    def statement(
        self,
        principal: Principal,
        manufacturer_id: str,
        period: str,
        as_: str | None = None,
        lines: bool = False,
    ) -> Statement:
        """A manufacturer's statement for a month: as issued when the period is closed (else
        current), or restated with its difference from the booked one. A bound key: its own."""
        manufacturer = self._manufacturers.seen_by(principal, manufacturer_id)
        periods.period(period)
        store = self._read_models.fresh()
        freshness = self._read_models.freshness()
        closes = store.period_closes()
        start, end = statements.window(period)
        rows = store.statement_lines_from(manufacturer_id, start, end)
        opening = store.statement_opening(manufacturer_id, start)
        view, closed_at = _view(Books.of(closes), period, as_)
        sections = statements.statement(rows, closes, period, view, opening)
        diff = None
        if view == "restated":
            diff = statements.difference(
                sections, statements.statement(rows, closes, period, "issued", opening)
            )
        if not lines:
            sections = [{k: v for k, v in s.items() if k != "lines"} for s in sections]
        return Statement(
            manufacturer, manufacturer_id, period, view, closed_at, sections, diff, freshness
        )

    @requires(*FINANCE)
    def profit_and_loss(
        self, principal: Principal, period: str, as_: str | None = None
    ) -> ProfitAndLoss:
        if principal.manufacturer_id is not None:
            raise Forbidden("the platform's P&L is not for a key bound to a manufacturer")
        periods.period(period)
        store = self._read_models.fresh()
        freshness = self._read_models.freshness()
        closes = store.period_closes()
        view, closed_at = _view(Books.of(closes), period, as_)
        start, end = statements.window(period)
        lines = store.statement_lines_from(PLATFORM, start, end)  # see statements.window
        sections = statements.pnl(lines, closes, period, view)
        return ProfitAndLoss(period, view, closed_at, sections, freshness)

"""Reads, each with the scope it needs and what a key bound to a manufacturer may see.

Single resources (a payment, refund, dispute, payout, subscription, manufacturer) are read from
the event store as it is now, so they are always current. Lists, balances, the trial balance and
reports read the read models, which carry their freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import DomainEventProtocol

from ledger.application import periods
from ledger.application.aggregates import Manufacturers, Payments, Payouts, Subscriptions
from ledger.application.engine import Engine
from ledger.application.errors import InvalidCursor, InvalidQuery, NotFound
from ledger.application.finance import FinanceQueries
from ledger.application.list_queries import ListQueries, check_cursor
from ledger.application.ports import ReadModels
from ledger.application.principal import Principal, requires
from ledger.application.reconciliations import ReconciliationQueries
from ledger.application.registries import NEEDS_ATTENTION
from ledger.domain import ids
from ledger.domain.attention import AttentionItem
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.money import currency as lookup_currency
from ledger.domain.payable import SHARDS, ManufacturerPayable, Payables
from ledger.domain.payment import Payment
from ledger.domain.payment_parts import Dispute, Refund
from ledger.domain.payout import Payout
from ledger.domain.subscription import Subscription
from projections.cursor import BadCursor
from projections.reports import manufacturer_report
from projections.store import Page

ATTENTION_IS_THE_PLATFORMS = "only the platform's keys see what needs attention"
READ = ("payments:read",)
ANY_READ = ("payments:read", "finance:read")
FINANCE = ("finance:read",)


@dataclass(frozen=True, slots=True)
class Report:
    manufacturer: Manufacturer
    start: date
    end: date  # exclusive
    sections: list[dict[str, Any]]
    freshness: dict[str, Any]


def payable(engine: Engine, manufacturer_id: str, currency: str) -> Payables | None:
    """What the platform owes a manufacturer in a currency, exactly (not a projection): the sum
    of its payable shards as the event store has them now; None before its first posting."""
    shards = []
    for shard in range(SHARDS):
        try:
            found = engine.current(ManufacturerPayable.create_id(manufacturer_id, currency, shard))
        except AggregateNotFoundError:
            continue
        assert isinstance(found, ManufacturerPayable)
        shards.append(found)
    return Payables(manufacturer_id, currency, shards) if shards else None


class Queries(ListQueries):
    def __init__(self, engine: Engine, read_models: ReadModels) -> None:
        self._engine = engine
        self._read_models = read_models
        fetch = self._fetch
        self._payments = Payments(fetch, fetch)
        self._payouts = Payouts(fetch, fetch)
        self._manufacturers = Manufacturers(fetch, fetch)
        self._subscriptions = Subscriptions(fetch, fetch)
        self.finance = FinanceQueries(read_models, self._manufacturers)
        self.reconciliation = ReconciliationQueries(engine)

    def _fetch(self, cls: type[Any], aggregate_id: UUID) -> Any:
        try:
            found = self._engine.current(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    # ----- the event store -------------------------------------------------------------------
    @requires(*ANY_READ)
    def manufacturer(self, principal: Principal, public_id: str) -> Manufacturer:
        return self._manufacturers.seen_by(principal, public_id)

    @requires(*READ)
    def payment(self, principal: Principal, public_id: str) -> Payment:
        return self._payments.seen_by(principal, public_id)

    @requires(*READ)
    def payment_history(
        self, principal: Principal, public_id: str
    ) -> list[DomainEventProtocol[UUID]]:
        payment = self.payment(principal, public_id)
        return list(self._engine.events.get(payment.id))

    @requires(*READ)
    def refund(self, principal: Principal, refund_id: str) -> tuple[Payment, Refund]:
        return self._payments.refund(principal, refund_id)

    @requires(*READ)
    def dispute(self, principal: Principal, dispute_id: str) -> tuple[Payment, Dispute]:
        return self._payments.dispute(principal, dispute_id)

    @requires(*READ)
    def payout(self, principal: Principal, public_id: str) -> Payout:
        return self._payouts.seen_by(principal, public_id)

    @requires(*READ)
    def subscription(self, principal: Principal, public_id: str) -> Subscription:
        return self._subscriptions.seen_by(principal, public_id)

    # ----- what needs attention (provider money not booked) ----------------------------------
    @requires(*FINANCE)
    def attention_items(self, principal: Principal) -> list[AttentionItem]:
        """Every open item, oldest first (the platform's keys only)."""
        principal.require_platform(ATTENTION_IS_THE_PLATFORMS)
        found = [
            self._fetch(AttentionItem, ids.decode("attention", member))
            for member in self._engine.registry_members(NEEDS_ATTENTION)
        ]
        return sorted((item for item in found if item is not None), key=lambda i: i.created_on)

    @requires(*FINANCE)
    def attention_item(self, principal: Principal, public_id: str) -> AttentionItem:
        principal.require_platform(ATTENTION_IS_THE_PLATFORMS)
        try:
            found = self._fetch(AttentionItem, ids.decode("attention", public_id))
        except ids.MalformedId:
            found = None
        if found is None:
            raise NotFound("no such attention item")
        item: AttentionItem = found
        return item

    # ----- the read models -------------------------------------------------------------------
    def freshness(self) -> dict[str, Any]:
        return self._read_models.freshness()

    @requires(*READ)
    def payments_page(
        self,
        principal: Principal,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        """Newest first (created_from inclusive, created_to exclusive, ISO 8601). A bound key
        lists only payments wholly its own."""
        if manufacturer_id is not None and not ids.is_canonical("manufacturer", manufacturer_id):
            raise InvalidQuery("manufacturer_id is not a manufacturer id")
        if principal.manufacturer_id is not None:
            if manufacturer_id not in (None, principal.manufacturer_id):
                raise NotFound("no such manufacturer")
            manufacturer_id = principal.manufacturer_id
        check_cursor(cursor, "payment")
        start = periods.moment(created_from, "created_from")
        end = periods.moment(created_to, "created_to")
        try:
            return self._read_models.fresh().payments(
                manufacturer_id=manufacturer_id,
                status=status,
                created_from=start,
                created_to=end,
                cursor=cursor,
                limit=limit,
                exclusive=principal.manufacturer_id is not None,
            )
        except BadCursor:
            raise InvalidCursor("cursor is not one this API returned") from None

    @requires(*READ)
    def refunds_page(
        self,
        principal: Principal,
        *,
        payment_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        if payment_id is not None and not ids.is_canonical("payment", payment_id):
            raise InvalidQuery("payment_id is not a payment id")
        check_cursor(cursor, "refund")
        try:
            return self._read_models.fresh().refunds(
                manufacturer_id=principal.manufacturer_id,
                payment_id=payment_id,
                status=status,
                cursor=cursor,
                limit=limit,
                exclusive=principal.manufacturer_id is not None,
            )
        except BadCursor:
            raise InvalidCursor("cursor is not one this API returned") from None

    @requires(*FINANCE)
    def balance(
        self, principal: Principal, account: str, currency: str, as_of: str | None
    ) -> tuple[int, int, str | None]:
        """(debits, credits, the moment) of an account, now or as of an ISO 8601 moment."""
        bound = principal.manufacturer_id
        if bound is not None and not account.startswith(f"manufacturer:{bound}:"):
            raise NotFound("no such account")
        lookup_currency(currency)
        at = periods.moment(as_of, "as_of")
        read_models = self._read_models.fresh()
        if not read_models.posted_to(account, currency):
            # A mistyped name must not read as a zero balance (names: the chart of accounts).
            raise NotFound(f"no postings to this account in {currency}: check its name")
        debits, credits = read_models.balance(account, currency, at)
        return debits, credits, at

    @requires(*FINANCE)
    def trial_balance(
        self, principal: Principal, as_of: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Every account's debits and credits per currency, now or as of an ISO 8601 moment
        (postings at or before it); a bound key: its own accounts. Returns (rows, the moment)."""
        bound = principal.manufacturer_id
        prefix = None if bound is None else f"manufacturer:{bound}:"
        at = periods.moment(as_of, "as_of")
        store = self._read_models.fresh()
        rows = store.trial_balance(prefix)
        if at is None:
            return rows, None
        dated = []
        for row in rows:
            debits, credits = store.balance(row["account"], row["currency"], at)
            if debits or credits:
                dated.append({**row, "debits": debits, "credits": credits})
        return dated, at

    @requires(*FINANCE)
    def manufacturer_report(
        self,
        principal: Principal,
        manufacturer_id: str,
        *,
        period: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> Report:
        """Per currency, per day and month, for period=YYYY-MM or from/to (inclusive dates)."""
        manufacturer = self._manufacturers.seen_by(principal, manufacturer_id)
        first, after = periods.report_range(period, start, end)
        read_models = self._read_models.fresh()
        freshness = self.freshness()
        sections = manufacturer_report(read_models, manufacturer_id, first, after)
        return Report(manufacturer, first, after, sections, freshness)

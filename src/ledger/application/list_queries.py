"""The lists finance and operations read (issue 12, item 7), from the read models: payouts,
disputes, manufacturers, subscriptions and accounts, each newest first and keyset-paginated
(accounts: by name), each narrowed to a bound key's own manufacturer. Queries inherits these."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application import periods
from ledger.application.errors import InvalidCursor, InvalidQuery, NotFound
from ledger.application.ports import ReadModels
from ledger.application.principal import Principal, requires
from ledger.domain import ids
from projections.cursor import BadCursor, decode_cursor
from projections.store import Page, page_of

ANY_READ = ("payments:read", "finance:read")
FINANCE = ("finance:read",)


def _is_dispute(row_id: str) -> bool:
    try:
        ids.parent_payment(row_id, "dp")
    except ids.MalformedId:
        return False
    return True


def check_cursor(cursor: str | None, kind: str) -> None:
    """A cursor names the last row of a page by its id: in the one spelling ids have."""
    if cursor is None:
        return
    try:
        _, row_id = decode_cursor(cursor)
    except BadCursor:
        raise InvalidCursor("cursor is not one this API returned") from None
    if kind == "refund":
        canonical = ids.is_refund(row_id)
    elif kind == "dispute":
        canonical = _is_dispute(row_id)
    else:
        canonical = ids.is_canonical(kind, row_id)
    if not canonical:
        raise InvalidCursor("cursor is not one this API returned")


def _own(principal: Principal, manufacturer_id: str | None) -> str | None:
    """The manufacturer a list is narrowed to: a bound key's own, whatever it asks for."""
    if manufacturer_id is not None and not ids.is_canonical("manufacturer", manufacturer_id):
        raise InvalidQuery("manufacturer_id is not a manufacturer id")
    if principal.manufacturer_id is not None:
        if manufacturer_id not in (None, principal.manufacturer_id):
            raise NotFound("no such manufacturer")
        return principal.manufacturer_id
    return manufacturer_id


def _paged(fetch: Callable[[], Page]) -> Page:
    try:
        return fetch()
    except BadCursor:
        raise InvalidCursor("cursor is not one this API returned") from None


class ListQueries:
    _read_models: ReadModels

    @requires(*ANY_READ)
    def payouts_page(
        self,
        principal: Principal,
        *,
        manufacturer_id: str | None,
        status: str | None,
        awaiting_my_approval: bool,
        cursor: str | None,
        limit: int,
    ) -> Page:
        """Newest first. awaiting_my_approval: pending payouts this key may approve (it holds
        `payouts:approve`, did not request them and has not approved them yet)."""
        manufacturer_id = _own(principal, manufacturer_id)
        if awaiting_my_approval:
            principal.require("payouts:approve")
        check_cursor(cursor, "payout")
        store = self._read_models.fresh()
        return _paged(
            lambda: store.payouts(
                manufacturer_id=manufacturer_id,
                status=status,
                awaiting_approval_by=principal.key_id if awaiting_my_approval else None,
                cursor=cursor,
                limit=limit,
            )
        )

    @requires(*ANY_READ)
    def disputes_page(
        self,
        principal: Principal,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
        due_after: str | None = None,
        due_before: str | None = None,
    ) -> Page:
        """Newest first; a bound key lists only disputes of payments wholly its own.
        due_after (inclusive) / due_before (exclusive): on the evidence due date."""
        manufacturer_id = _own(principal, manufacturer_id)
        check_cursor(cursor, "dispute")
        start = periods.moment(created_from, "created_from")
        end = periods.moment(created_to, "created_to")
        due_from = periods.moment(due_after, "due_after")
        due_to = periods.moment(due_before, "due_before")
        store = self._read_models.fresh()
        return _paged(
            lambda: store.disputes(
                manufacturer_id=manufacturer_id,
                status=status,
                created_from=start,
                created_to=end,
                cursor=cursor,
                limit=limit,
                exclusive=principal.manufacturer_id is not None,
                due_after=due_from,
                due_before=due_to,
            )
        )

    @requires(*ANY_READ)
    def manufacturers_page(self, principal: Principal, *, cursor: str | None, limit: int) -> Page:
        """Newest first; a bound key lists only its own manufacturer."""
        check_cursor(cursor, "manufacturer")
        store = self._read_models.fresh()
        bound = principal.manufacturer_id
        return _paged(
            lambda: store.manufacturers(manufacturer_id=bound, cursor=cursor, limit=limit)
        )

    @requires(*ANY_READ)
    def subscriptions_page(
        self,
        principal: Principal,
        *,
        manufacturer_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        """Newest first; a bound key lists only subscriptions wholly its own."""
        manufacturer_id = _own(principal, manufacturer_id)
        check_cursor(cursor, "subscription")
        store = self._read_models.fresh()
        return _paged(
            lambda: store.subscriptions(
                manufacturer_id=manufacturer_id,
                status=status,
                cursor=cursor,
                limit=limit,
                exclusive=principal.manufacturer_id is not None,
            )
        )

    @requires(*FINANCE)
    def accounts_page(
        self, principal: Principal, *, prefix: str | None, cursor: str | None, limit: int
    ) -> Page:
        """Accounts per currency with their debits and credits, by account then currency. A
        bound key sees only its own accounts. The accounts are few (a handful per manufacturer
        and provider), so the page is cut from the trial balance the store keeps."""
        bound = principal.manufacturer_id
        if bound is not None:
            own = f"manufacturer:{bound}:"
            if prefix is not None and not (prefix.startswith(own) or own.startswith(prefix)):
                return Page([], None)
            prefix = prefix if prefix is not None and prefix.startswith(own) else own
        after: tuple[str, str] | None = None
        if cursor is not None:
            try:
                after = decode_cursor(cursor)
            except BadCursor:
                raise InvalidCursor("cursor is not one this API returned") from None
        rows = sorted(
            self._read_models.fresh().trial_balance(prefix),
            key=lambda row: (row["account"], row["currency"]),
        )
        if after is not None:
            rows = [row for row in rows if (row["account"], row["currency"]) > after]
        return page_of(rows[: limit + 1], limit, "account", "currency")

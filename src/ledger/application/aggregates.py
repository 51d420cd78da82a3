"""Typed access to each kind of aggregate by its public id, with who may see it: one place for
id parsing and visibility, used by commands (through the unit of work) and by queries.

A key bound to one manufacturer sees that manufacturer, its payouts, and only the payments and
subscriptions wholly its own: a shared one carries other manufacturers' amounts, customer and
metadata. Anything it may not see is "not found", so ids do not leak."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar
from uuid import UUID

from ledger.application.errors import NotFound
from ledger.application.principal import Principal
from ledger.domain import ids
from ledger.domain.base import LedgerAggregate
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment
from ledger.domain.payment_parts import Dispute, Refund
from ledger.domain.payout import Payout
from ledger.domain.subscription import Subscription

A = TypeVar("A", bound=LedgerAggregate)
Fetch = Callable[[type[A], UUID], A | None]


class Aggregates(Generic[A]):
    cls: ClassVar[type[LedgerAggregate]]
    kind: ClassVar[str]

    def __init__(self, find: Fetch[A], read: Fetch[A]) -> None:
        """find: for a write (cached, saved with the command); read: as the store has it now."""
        self._find = find
        self._read = read

    def _fetch(self, fetch: Fetch[A], public_id: str) -> A | None:
        try:
            aggregate_id = ids.decode(self.kind, public_id)
        except ids.MalformedId:
            return None
        found = fetch(self.cls, aggregate_id)  # type: ignore[arg-type]
        return found if isinstance(found, self.cls) else None

    def find(self, public_id: str) -> A | None:
        return self._fetch(self._find, public_id)

    def read(self, public_id: str) -> A | None:
        """For an aggregate that is only read: never a stale cached copy."""
        return self._fetch(self._read, public_id)

    def get(self, public_id: str) -> A:
        found = self.find(public_id)
        if found is None:
            raise NotFound(f"no such {self.kind}")
        return found

    def visible(self, principal: Principal, aggregate: A, public_id: str) -> bool:
        raise NotImplementedError

    def for_write(self, principal: Principal, public_id: str) -> A:
        found = self.find(public_id)
        if found is None or not self.visible(principal, found, public_id):
            raise NotFound(f"no such {self.kind}")
        return found

    def seen_by(self, principal: Principal, public_id: str) -> A:
        """For a query: as the store has it now, if principal may see it."""
        found = self.read(public_id)
        if found is None or not self.visible(principal, found, public_id):
            raise NotFound(f"no such {self.kind}")
        return found

    def usable_by(self, principal: Principal, public_id: str) -> A | None:
        """For a command that only reads it (a split's manufacturer): None if principal may not."""
        found = self.read(public_id)
        if found is None or not self.visible(principal, found, public_id):
            return None
        return found


class Manufacturers(Aggregates[Manufacturer]):
    cls = Manufacturer
    kind = "manufacturer"

    def visible(self, principal: Principal, aggregate: Manufacturer, public_id: str) -> bool:
        return principal.sees_manufacturer(public_id)


class Payouts(Aggregates[Payout]):
    cls = Payout
    kind = "payout"

    def visible(self, principal: Principal, aggregate: Payout, public_id: str) -> bool:
        return principal.sees_manufacturer(aggregate.manufacturer_id)


class Subscriptions(Aggregates[Subscription]):
    cls = Subscription
    kind = "subscription"

    def visible(self, principal: Principal, aggregate: Subscription, public_id: str) -> bool:
        return principal.owns_all(aggregate.manufacturer_ids)


class Payments(Aggregates[Payment]):
    cls = Payment
    kind = "payment"

    def visible(self, principal: Principal, aggregate: Payment, public_id: str) -> bool:
        return principal.owns_all(aggregate.manufacturer_ids)

    def _parent(self, principal: Principal, child_id: str, kind: str, write: bool) -> Payment:
        """The payment a refund ("re") or dispute ("dp") id belongs to; 404 unless it has it."""
        what = "refund" if kind == "re" else "dispute"
        try:
            payment_id = ids.encode("payment", ids.parent_payment(child_id, kind))
        except ids.MalformedId:
            raise NotFound(f"no such {what}") from None
        lookup = self.for_write if write else self.seen_by
        payment = lookup(principal, payment_id)
        if child_id not in (payment.refunds if kind == "re" else payment.disputes):
            raise NotFound(f"no such {what}")
        return payment

    def of_refund(self, principal: Principal, refund_id: str, *, write: bool = True) -> Payment:
        return self._parent(principal, refund_id, "re", write)

    def of_dispute(self, principal: Principal, dispute_id: str, *, write: bool = True) -> Payment:
        return self._parent(principal, dispute_id, "dp", write)

    def refund(self, principal: Principal, refund_id: str) -> tuple[Payment, Refund]:
        payment = self.of_refund(principal, refund_id, write=False)
        return payment, payment.refunds[refund_id]

    def dispute(self, principal: Principal, dispute_id: str) -> tuple[Payment, Dispute]:
        payment = self.of_dispute(principal, dispute_id, write=False)
        return payment, payment.disputes[dispute_id]

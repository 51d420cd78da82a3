"""What the platform owes one manufacturer in one currency, exactly: every posting to
`manufacturer:{id}:payable` is mirrored on a ManufacturerPayable shard in the same atomic save, so
a payout is checked against an exact balance, never a lagging projection.

The balance is spread over SHARDS aggregates, the shard of a posting chosen by the aggregate it
comes from (a payment's capture, refunds and disputes all land on one shard), so captures for one
manufacturer do not queue behind one aggregate's version sequence. A payout is decided over the
sum of all shards (Payables): it reserves its amount across them and writes every shard that
exists, so a concurrent posting to any of them conflicts with it and one of the two retries; a
shard created meanwhile can only hold new captures, which the decision may safely not count.
Shard 0 keeps the id the single aggregate had, so balances recorded before sharding carry on."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InsufficientBalance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:manufacturer-payable")
SHARDS = 16


@lru_cache(maxsize=4096)  # every posting asks for its shard's id again
def _payable_id(manufacturer_id: str, currency: str, shard: int) -> UUID:
    name = f"{manufacturer_id}:{currency}" + (f":{shard}" if shard else "")
    return uuid5(_NAMESPACE, name)


def shard_for(source: str) -> int:
    """The shard a posting from source (an aggregate id) lands on."""
    return int.from_bytes(hashlib.sha256(source.encode()).digest()[:4], "big") % SHARDS


class ManufacturerPayable(LedgerAggregate):
    @staticmethod
    def create_id(manufacturer_id: str, currency: str, shard: int = 0) -> UUID:
        return _payable_id(manufacturer_id, currency, shard)

    @event("Opened")
    def __init__(self, manufacturer_id: str, currency: str, shard: int = 0) -> None:
        self.manufacturer_id = manufacturer_id
        self.currency = currency
        self.shard = shard
        self.balance = 0  # owed to the manufacturer (credit balance of the payable account)
        self.reservations: dict[str, int] = {}

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    def post(self, source: str, owed_change: int) -> None:
        """owed_change > 0: the platform owes more (a capture); < 0: less (a refund)."""
        if owed_change:
            self._posted(source=source, owed_change=owed_change)

    @event("Posted")
    def _posted(self, *, source: str, owed_change: int) -> None:
        self.balance += owed_change

    def hold(self, payout_id: str, amount: int) -> None:
        """This shard's part of a payout's reservation (0 for a shard that only had to be
        written so a concurrent change conflicts); Payables decides the parts."""
        self._reserved(payout_id=payout_id, amount=amount)

    @event("Reserved")
    def _reserved(self, *, payout_id: str, amount: int) -> None:
        self.reservations[payout_id] = amount

    def release(self, payout_id: str) -> None:
        if payout_id not in self.reservations:
            raise IllegalTransition(f"no reservation for payout {payout_id}")
        self._released(payout_id=payout_id)

    @event("Released")
    def _released(self, *, payout_id: str) -> None:
        del self.reservations[payout_id]


class Payables:
    """One manufacturer's payable in one currency over its shards (those that exist)."""

    def __init__(self, manufacturer_id: str, currency: str, shards: Iterable[ManufacturerPayable]):
        self.manufacturer_id = manufacturer_id
        self.currency = currency
        self.shards = sorted(shards, key=lambda shard: getattr(shard, "shard", 0))

    @property
    def balance(self) -> int:
        return sum(shard.balance for shard in self.shards)

    @property
    def reserved(self) -> int:
        return sum(shard.reserved for shard in self.shards)

    @property
    def available(self) -> int:
        return self.balance - self.reserved

    @property
    def version(self) -> int:
        """Grows with every event on any shard (the sum of their versions)."""
        return sum(shard.version for shard in self.shards)

    @property
    def reservations(self) -> dict[str, int]:
        """Each payout's whole reservation."""
        totals: dict[str, int] = {}
        for shard in self.shards:
            for payout_id, amount in shard.reservations.items():
                totals[payout_id] = totals.get(payout_id, 0) + amount
        return totals

    def reserve(self, payout_id: str, amount: int) -> None:
        """A payout never exceeds the available balance of all shards together."""
        if amount > self.available:
            raise InsufficientBalance(
                f"payout of {amount} exceeds the available payable balance {max(self.available, 0)}"
            )
        # The positive parts of the shards cover the amount whenever their sum does.
        left = amount
        for shard in self.shards:
            part = min(left, max(shard.available, 0))
            shard.hold(payout_id, part)
            left -= part

    def release(self, payout_id: str) -> None:
        holding = [shard for shard in self.shards if payout_id in shard.reservations]
        if not holding:
            raise IllegalTransition(f"no reservation for payout {payout_id}")
        for shard in holding:
            shard.release(payout_id)

"""ManufacturerPayable: the consistency boundary for what the platform owes one manufacturer in
one currency. Every posting to `manufacturer:{id}:payable` is mirrored here in the same atomic
save, so a payout can be checked against an exact balance, never a lagging projection."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InsufficientBalance

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:manufacturer-payable")


class ManufacturerPayable(LedgerAggregate):
    @staticmethod
    def create_id(manufacturer_id: str, currency: str) -> UUID:
        return uuid5(_NAMESPACE, f"{manufacturer_id}:{currency}")

    @event("Opened")
    def __init__(self, manufacturer_id: str, currency: str) -> None:
        self.manufacturer_id = manufacturer_id
        self.currency = currency
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

    def reserve(self, payout_id: str, amount: int) -> None:
        if amount > self.available:
            raise InsufficientBalance(
                f"payout of {amount} exceeds the available payable balance {max(self.available, 0)}"
            )
        self._reserved(payout_id=payout_id, amount=amount)

    @event("Reserved")
    def _reserved(self, *, payout_id: str, amount: int) -> None:
        self.reservations[payout_id] = amount

    def pay_out(self, payout_id: str) -> None:
        """Release a payout's reservation to pay it, if the balance still covers it: refunds or
        lost disputes booked since it was requested may have lowered the balance."""
        if payout_id not in self.reservations:
            raise IllegalTransition(f"no reservation for payout {payout_id}")
        if self.available < 0:
            amount = self.reservations[payout_id]
            covered = max(self.available + amount, 0)
            raise InsufficientBalance(
                f"payout of {amount} now exceeds the available payable balance {covered}"
            )
        self._released(payout_id=payout_id)

    def release(self, payout_id: str) -> None:
        if payout_id not in self.reservations:
            raise IllegalTransition(f"no reservation for payout {payout_id}")
        self._released(payout_id=payout_id)

    @event("Released")
    def _released(self, *, payout_id: str) -> None:
        del self.reservations[payout_id]

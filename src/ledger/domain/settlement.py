"""Provider settlements: what a provider reports it paid the platform (a Stripe payout and its
balance transactions, a PayPal settlement report), booked once per provider payout id.

A settlement books `platform:cash` (the money that reached the bank) against the provider
receivable, and the provider's fees the ledger had not booked yet (Stripe and PayPal report a
payment's fee at capture when they can; what they settle is the final word)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition
from ledger.domain.journal import JournalEntry, entry

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:provider-settlement")
_FAILED = uuid5(NAMESPACE_URL, "urn:ledger:provider-payout-failed")
TransactionType = Literal[
    "charge", "refund", "dispute", "adjustment", "fee", "payout", "ach_debit", "ach_credit", "other"
]


class SettlementFileError(ValueError):
    """A provider's file that cannot be read whole: nothing of it is booked or reconciled."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class ProviderTransaction:
    """One line of a provider's settlement, in ISO minor units.

    amount: gross, signed as it moves the platform's balance at the provider (a charge
    positive, a refund negative); fee: what the provider kept for it (positive: charged).
    reference: the provider's id of the payment it belongs to (Stripe PaymentIntent, PayPal
    transaction), refund_reference the provider's refund id; line: where it was read (files)."""

    id: str
    type: TransactionType
    amount: int
    fee: int
    currency: str
    reference: str | None = None
    refund_reference: str | None = None
    line: int | None = None

    @property
    def net(self) -> int:
        return self.amount - self.fee

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies, a tenth of a large reconciliation's time.
        return {name: getattr(self, name) for name in self.__slots__}


class ProviderSettlement(LedgerAggregate):
    """One provider payout, booked once (its id is the provider's payout id)."""

    @staticmethod
    def create_id(provider: str, payout_reference: str) -> UUID:
        return uuid5(_NAMESPACE, f"{provider}:{payout_reference}")

    @classmethod
    def book(
        cls,
        *,
        provider: str,
        payout_reference: str,
        currency: str,
        paid: int,
        fees_unbooked: int,
        transactions: int,
        settled_on: str,
    ) -> ProviderSettlement:
        """paid: what reached the platform's bank; fees_unbooked: the provider's fees on the
        settled transactions less those the ledger booked already (negative: it booked more)."""
        receivable = accounts.provider_receivable(provider)
        booking = entry(
            currency,
            [
                (accounts.PLATFORM_CASH, paid),
                (accounts.PLATFORM_PROVIDER_FEES, fees_unbooked),
                (receivable, -(paid + fees_unbooked)),
            ],
        )
        return cls(
            provider=provider,
            payout_reference=payout_reference,
            currency=currency,
            paid=paid,
            fees_unbooked=fees_unbooked,
            transactions=transactions,
            settled_on=settled_on,
            entry=booking,
        )

    @event("Booked")
    def __init__(
        self,
        *,
        provider: str,
        payout_reference: str,
        currency: str,
        paid: int,
        fees_unbooked: int,
        transactions: int,
        settled_on: str,
        entry: JournalEntry,
    ) -> None:
        self.provider = provider
        self.payout_reference = payout_reference
        self.currency = currency
        self.paid = paid
        self.fees_unbooked = fees_unbooked
        self.transactions = transactions
        self.settled_on = settled_on
        self.reversed: str | None = None  # why the payout's money never reached the bank

    def reverse(self, reason: str) -> None:
        """The payout failed (or was canceled) after it was booked: its money goes back from
        platform:cash to the provider receivable (the balance it returned to). The provider
        fees it recognised stay: the provider kept them on the charges, whatever the payout."""
        if self.reversed is not None:
            raise IllegalTransition("the payout is already reversed")
        booking = entry(
            self.currency,
            [
                (accounts.provider_receivable(self.provider), self.paid),
                (accounts.PLATFORM_CASH, -self.paid),
            ],
        )
        self._reversed(reason=reason, entry=booking)

    @event("Reversed")
    def _reversed(self, reason: str, entry: JournalEntry) -> None:
        self.reversed = reason


class FailedPayout(LedgerAggregate):
    """A provider payout that failed before it was booked: nothing was booked, and a paid
    notice delivered after the failure (webhooks arrive in any order) books nothing either."""

    @staticmethod
    def create_id(provider: str, payout_reference: str) -> UUID:
        return uuid5(_FAILED, f"{provider}:{payout_reference}")

    @event("Recorded")
    def __init__(self, *, provider: str, payout_reference: str, reason: str) -> None:
        self.provider = provider
        self.payout_reference = payout_reference
        self.reason = reason

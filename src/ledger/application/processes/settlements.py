"""Provider payouts booked: a provider says it paid the platform (Stripe's `payout.paid`), the
ledger lists what the payout settled and books it once per provider payout id (a redelivered
webhook, or another event about the same payout, books nothing twice). A payout that fails
(`payout.failed`, `payout.canceled`) takes its money back out of platform:cash, once; failed
before it was booked, it books nothing, then or later."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.ports import PayoutReports, ProviderEvent
from ledger.application.processes.provider_events import applied_once
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.payment import Payment
from ledger.domain.provider_records import ProviderLink
from ledger.domain.settlement import FailedPayout, ProviderSettlement, ProviderTransaction


@dataclass(frozen=True, slots=True)
class Settlement:
    """paid: what reached the platform's bank, in minor units of currency."""

    provider: str
    payout_reference: str
    currency: str
    paid: int
    transactions: list[ProviderTransaction]
    settled_on: str


def payment_of(uow: UnitOfWork, provider: str, reference: str | None) -> Payment | None:
    """The ledger's payment behind a provider's payment id (read only)."""
    if reference is None:
        return None
    link = uow.read(ProviderLink, ProviderLink.create_id(provider, reference))
    if link is None or not link.target_id.startswith("pay_"):
        return None
    found = uow.payments.read(link.target_id)
    return found if found is not None and found.provider == provider else None


def fees_reported(transactions: list[ProviderTransaction]) -> int:
    """The provider's fees on what it settled: each line's fee, and fee lines themselves."""
    lines = [t for t in transactions if t.type != "payout"]
    return sum(t.fee for t in lines) - sum(t.amount for t in lines if t.type == "fee")


def fees_booked(uow: UnitOfWork, provider: str, transactions: list[ProviderTransaction]) -> int:
    """What the ledger booked as the provider's fee on the charges settled, at capture."""
    total = 0
    for transaction in transactions:
        if transaction.type == "charge":
            payment = payment_of(uow, provider, transaction.reference)
            total += payment.provider_fee_booked if payment is not None else 0
    return total


def book_payout(engine: Engine, reports: PayoutReports, event: ProviderEvent) -> str:
    """Stripe's payout.paid: the payout's balance transactions listed, then booked with the
    event's receipt (a redelivery is a duplicate, another event about it books nothing)."""
    transactions: list[ProviderTransaction] = []
    try:
        engine.current(ProviderSettlement.create_id(event.provider, event.payment_reference))
    except AggregateNotFoundError:  # not booked yet: ask the provider what it settled
        transactions = reports.payout_transactions(event.payment_reference)
    settlement = Settlement(
        provider=event.provider,
        payout_reference=event.payment_reference,
        currency=event.currency or "",
        paid=event.amount or 0,
        transactions=transactions,
        settled_on=event.occurred_at.date().isoformat(),
    )

    booked = _booked_before(engine, settlement)

    def command(uow: UnitOfWork) -> str:
        return applied_once(
            uow, event.provider, event.event_id, event.kind, lambda: _book(uow, settlement, booked)
        )

    return engine.execute(command)


def book_settlement(engine: Engine, settlement: Settlement) -> str:
    """A settlement read from a file (PayPal's report), booked once per its id."""
    booked = _booked_before(engine, settlement)
    return engine.execute(lambda uow: _book(uow, settlement, booked))


def _booked_before(engine: Engine, s: Settlement) -> int:
    """Read before the command (a payout may settle thousands of charges): a captured
    payment's fee never changes, so these reads need no version check."""
    return fees_booked(UnitOfWork(engine.fresh), s.provider, s.transactions)


def _book(uow: UnitOfWork, s: Settlement, booked: int) -> str:
    settlement_id = ProviderSettlement.create_id(s.provider, s.payout_reference)
    if uow.find(ProviderSettlement, settlement_id) is not None:
        return f"payout {s.payout_reference} already booked"
    failed = uow.find(FailedPayout, FailedPayout.create_id(s.provider, s.payout_reference))
    if failed is not None:
        return f"payout {s.payout_reference} {failed.reason}: nothing booked"
    unbooked = fees_reported(s.transactions) - booked
    uow.add(
        ProviderSettlement.book(
            provider=s.provider,
            payout_reference=s.payout_reference,
            currency=s.currency,
            paid=s.paid,
            fees_unbooked=unbooked,
            transactions=len(s.transactions),
            settled_on=s.settled_on,
        )
    )
    return (
        f"payout {s.payout_reference} booked: {s.paid} {s.currency} to platform:cash, "
        f"{unbooked} {s.currency} of provider fees not booked before"
    )


def reverse_payout(engine: Engine, event: ProviderEvent) -> str:
    """Stripe's payout.failed or payout.canceled, applied once with the event's receipt."""
    reason = "canceled" if event.kind == "payout_canceled" else "failed"
    reference = event.payment_reference

    def reverse(uow: UnitOfWork) -> str:
        settlement = uow.find(
            ProviderSettlement, ProviderSettlement.create_id(event.provider, reference)
        )
        if settlement is None:
            failure_id = FailedPayout.create_id(event.provider, reference)
            if uow.find(FailedPayout, failure_id) is None:
                uow.add(
                    FailedPayout(provider=event.provider, payout_reference=reference, reason=reason)
                )
            return f"payout {reference} {reason} before it was booked: nothing booked"
        if settlement.reversed is not None:
            return f"payout {reference} already reversed ({settlement.reversed})"
        settlement.reverse(reason)
        return (
            f"payout {reference} {reason}: {settlement.paid} {settlement.currency} back from "
            f"platform:cash to {event.provider}'s receivable"
        )

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, event.provider, event.event_id, event.kind, lambda: reverse(uow))

    return engine.execute(command)

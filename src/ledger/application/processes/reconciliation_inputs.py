"""What each provider's reconciliation reads, in the ledger's terms: a Stripe payout's balance
transactions (through the SDK), a PayPal settlement report, an ACH file's entries (with the
ledger's record of that file, so an entry the bank's copy lacks is missing at the provider)."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.ports import PayoutReports
from ledger.application.processes.reconciliation import ReconciliationInput
from ledger.domain.ach_file import AchFile, AchOriginator
from ledger.domain.settlement import ProviderTransaction


def stripe_payout(reports: PayoutReports, payout_id: str) -> ReconciliationInput:
    transactions = reports.payout_transactions(payout_id)
    payout = -sum(t.amount for t in transactions if t.type == "payout")
    currency = transactions[0].currency if transactions else ""
    return ReconciliationInput("stripe", f"payout {payout_id}", currency, transactions, payout)


def settlement_report(
    provider: str, report_id: str, transactions: list[ProviderTransaction]
) -> ReconciliationInput:
    """A settlement report (PayPal's): its withdrawals to the bank are the payout."""
    payout = -sum(t.amount for t in transactions if t.type == "payout")
    currency = transactions[0].currency if transactions else ""
    return ReconciliationInput(provider, report_id, currency, transactions, payout)


def ach_file(
    engine: Engine, name: str, entries: list[tuple[str, int, bool, int]]
) -> ReconciliationInput:
    """entries: (trace number, amount in cents, credit?, line) as the bank's copy has them."""
    transactions = [
        ProviderTransaction(
            id=trace,
            type="ach_credit" if credit else "ach_debit",
            amount=-amount if credit else amount,
            fee=0,
            currency="USD",
            line=line,
        )
        for trace, amount, credit, line in entries
    ]
    traces = {trace for trace, *_ in entries}
    expected: list[dict[str, Any]] = []
    recorded = _recorded_file(engine, traces)
    if recorded is not None:
        for item in recorded.entries:
            key = "payout_id" if item["kind"] == "payout" else "payment_id"
            amount = -item["amount"] if item["credit"] else item["amount"]
            expected.append({key: item["id"], "trace": item["trace"], "amount": amount})
        name = f"{name} (ledger file {recorded.file_number})"
    payout = sum(t.amount for t in transactions)
    return ReconciliationInput("ach", name, "USD", transactions, payout, expected)


def _recorded_file(engine: Engine, traces: set[str]) -> AchFile | None:
    """The ledger's file holding any of these trace numbers (traces are never reused)."""
    try:
        originator = engine.current(AchOriginator.create_id())
    except AggregateNotFoundError:
        return None
    for number in range(originator.files, 0, -1):
        found = engine.current(AchFile.create_id(number))
        if any(item.get("trace") in traces for item in found.entries):
            assert isinstance(found, AchFile)
            return found
    return None

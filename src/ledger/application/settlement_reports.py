"""What finance submits about providers' money, the same through the API and the CLI: a PayPal
settlement report (STL) booked once per report id, and reconciliation runs started (a Stripe
payout by id, a PayPal report, an ACH file). Both record events, so they need `finance:close`
(admin holds every scope) on a platform key: a key bound to a manufacturer is refused. A file
that cannot be read whole is invalid input naming its line; nothing is booked or recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ledger.application.engine import Engine
from ledger.application.errors import ProviderNotConfigured
from ledger.application.ports import PayoutReports
from ledger.application.principal import Principal, requires
from ledger.application.processes import reconciliation_inputs as inputs
from ledger.application.processes.reconciliation import ReconciliationInput, reconcile
from ledger.application.processes.settlements import Settlement, book_settlement
from ledger.application.reconciliations import run_view
from ledger.domain.errors import InvalidInput
from ledger.domain.settlement import ProviderTransaction, SettlementFileError

SUBMIT = ("finance:close",)
PROVIDERS = ("stripe", "paypal", "ach")


class SettlementReport(Protocol):
    """A provider's settlement report as read from its file (PayPal's STL)."""

    @property
    def report_id(self) -> str: ...

    @property
    def period_end(self) -> str: ...

    @property
    def transactions(self) -> list[ProviderTransaction]: ...


def paypal_settlement(report: SettlementReport) -> Settlement:
    """What a PayPal report settled: its withdrawals to the bank are what was paid."""
    currencies = {t.currency for t in report.transactions}
    if len(currencies) > 1:
        raise InvalidInput(f"the report mixes currencies {sorted(currencies)} (nothing changed)")
    return Settlement(
        provider="paypal",
        payout_reference=report.report_id,
        currency=currencies.pop() if currencies else "USD",
        paid=-sum(t.amount for t in report.transactions if t.type == "payout"),
        transactions=report.transactions,
        settled_on=report.period_end[:10].replace("/", "-"),
    )


class SettlementReports:
    def __init__(
        self,
        engine: Engine,
        read_stl: Callable[[str], SettlementReport],
        read_nacha: Callable[[str], list[tuple[str, int, bool, int]]],
        stripe: Callable[[], object],
    ) -> None:
        self._engine = engine
        self._read_stl = read_stl
        self._read_nacha = read_nacha
        self._stripe = stripe

    def stl(self, text: str) -> SettlementReport:
        try:
            return self._read_stl(text)
        except SettlementFileError as error:
            raise InvalidInput(
                f"the file is not a PayPal settlement report: {error} (nothing changed)"
            ) from None

    def nacha(self, name: str, text: str) -> ReconciliationInput:
        try:
            entries = self._read_nacha(text)
        except ValueError as error:
            raise InvalidInput(f"the file is not a NACHA file: {error} (nothing changed)") from None
        return inputs.ach_file(self._engine, name, entries)

    def stripe_payout(self, payout_id: str) -> ReconciliationInput:
        source = self._stripe()
        if not isinstance(source, PayoutReports):
            raise ProviderNotConfigured("Stripe is not configured (LEDGER_STRIPE_API_KEY)")
        return inputs.stripe_payout(source, payout_id)

    @requires(*SUBMIT)
    def settle_paypal(self, principal: Principal, text: str) -> dict[str, str]:
        """Books the report once per its id: {settlement_id, outcome}."""
        principal.require_platform("settlements are not for a key bound to a manufacturer")
        settlement = paypal_settlement(self.stl(text))
        outcome = book_settlement(self._engine, settlement)
        return {"settlement_id": settlement.payout_reference, "outcome": outcome}

    @requires(*SUBMIT)
    def reconcile(
        self,
        principal: Principal,
        provider: str,
        source: str | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """stripe: source is the payout id, no text; paypal: text holds the report (its id
        names it); ach: text holds the file, source names it. The same input again answers
        the run recorded for it."""
        principal.require_platform("reconciliation runs are not for a key bound to a manufacturer")
        if provider not in PROVIDERS:
            raise InvalidInput(f"unknown provider '{provider}' (one of {', '.join(PROVIDERS)})")
        if provider == "stripe":
            if source is None or text is not None:
                raise InvalidInput("a Stripe run takes the payout's id (payout_id), not a file")
            given = self.stripe_payout(source)
        elif text is None:
            raise InvalidInput(f"a {provider} run takes the provider's file")
        elif provider == "paypal":
            if source is not None:
                raise InvalidInput("payout_id is for Stripe runs only (a report names itself)")
            report = self.stl(text)
            given = inputs.settlement_report("paypal", report.report_id, report.transactions)
        else:
            given = self.nacha(source or "upload", text)
        return run_view(reconcile(self._engine, given))

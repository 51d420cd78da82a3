"""ACH as a payment provider (customer debits) and a payout rail (manufacturer credits). Nothing
leaves until a NACHA file is originated (ledger.application.processes.ach):

- Debits: a payment with provider "ach" names a sealed bank-account token as its payment
  method; it stays pending until a file collects it (then authorized and captured, the trace
  number its reference). Only automatic capture in USD.
- Payouts: a manufacturer with payout_rail "ach" and a bank account is paid by the next file
  (the payout is "submitted" until then, its amount still reserved).
"""

from __future__ import annotations

from ledger.adapters.ach.nacha import MAX_ENTRY_AMOUNT
from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import VaultError
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    PayoutRequest,
    ProviderCapabilities,
    ProviderResult,
    RefundRequest,
    VoidRequest,
)


class AchProvider:
    capabilities = ProviderCapabilities(batches=True, remote=False)

    def __init__(self, sealer: VaultSealer) -> None:
        self.sealer = sealer

    def _account_ok(self, token: str | None) -> str | None:
        if not token:
            return "no bank account"
        try:
            self.sealer.open(token)
        except VaultError:
            return "invalid_bank_account"
        return None

    def check_payment_method(self, payment_method: str) -> str | None:
        """Refused before anything is recorded: an ACH payment method must be a vault token, so
        a raw account number sent by mistake is never stored."""
        if self._account_ok(payment_method) is not None:
            return "an ach payment_method is a bank-account token from POST /v1/bank-accounts"
        return None

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        problem = self._account_ok(request.payment_method)
        if request.currency != "USD":
            problem = "ach_requires_usd"
        elif not request.capture:
            problem = "ach_debits_capture_automatically"
        elif request.amount > MAX_ENTRY_AMOUNT:
            problem = "ach_amount_over_entry_limit"
        if problem:
            return ProviderResult(status="failed", reference="", failure_reason=problem)
        return ProviderResult(status="pending", reference="")

    def capture(self, request: CaptureRequest) -> ProviderResult:
        return ProviderResult("failed", "", "ach_debits_capture_automatically")

    def void(self, request: VoidRequest) -> ProviderResult:
        return ProviderResult("failed", "", "ach_debits_cannot_be_voided")

    def refund(self, request: RefundRequest) -> ProviderResult:
        # A credit back to the customer's account would need its own file entry: not built.
        return ProviderResult("failed", "", "ach_refunds_not_supported")

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        problem = self._account_ok(request.destination)
        if request.currency != "USD":
            problem = "ach_requires_usd"
        elif request.amount > MAX_ENTRY_AMOUNT:
            problem = "ach_amount_over_entry_limit"
        if problem:
            return ProviderResult(status="failed", reference="", failure_reason=problem)
        return ProviderResult(status="pending", reference="")

"""The built-in sandbox provider: deterministic, offline, and able to fail the ways real
providers fail, chosen by magic payment-method tokens (documented in docs/providers.md):

| token | authorize | refunds |
|---|---|---|
| `pm_sandbox_declined` | fails: card_declined | - |
| `pm_sandbox_insufficient_funds` | fails: insufficient_funds | - |
| `pm_sandbox_processing_error` | unavailable (transient; retry) | - |
| `pm_sandbox_timeout` | unavailable (no answer; retry) | - |
| `pm_sandbox_refund_fails` | succeeds | fail: refund_declined |
| anything else | succeeds | succeed at once |

Approved payouts are paid at once. References derive from the idempotency key, so a retried call
returns the same reference.
"""

from __future__ import annotations

import hashlib

from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    PayoutRequest,
    ProviderCapabilities,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
)

DECLINES = {
    "pm_sandbox_declined": "card_declined",
    "pm_sandbox_insufficient_funds": "insufficient_funds",
}
UNAVAILABLE = {
    "pm_sandbox_processing_error": "the sandbox reported a processing error",
    "pm_sandbox_timeout": "the sandbox did not answer in time",
}
REFUND_FAILS = "pm_sandbox_refund_fails"


def _reference(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class SandboxProvider:
    capabilities = ProviderCapabilities(remote=False)

    def check_payment_method(self, payment_method: str) -> str | None:
        return None

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        if request.payment_method in UNAVAILABLE:
            raise ProviderUnavailable(UNAVAILABLE[request.payment_method])
        reference = _reference("sbx_auth", request.idempotency_key)
        if request.payment_method in DECLINES:
            return ProviderResult(
                status="failed",
                reference=reference,
                failure_reason=DECLINES[request.payment_method],
            )
        return ProviderResult(status="succeeded", reference=reference)

    def capture(self, request: CaptureRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_cap", request.idempotency_key)
        )

    def void(self, request: VoidRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_void", request.idempotency_key)
        )

    def refund(self, request: RefundRequest) -> ProviderResult:
        reference = _reference("sbx_re", request.idempotency_key)
        if request.payment_method == REFUND_FAILS:
            return ProviderResult(
                status="failed", reference=reference, failure_reason="refund_declined"
            )
        return ProviderResult(status="succeeded", reference=reference)

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_po", request.idempotency_key)
        )

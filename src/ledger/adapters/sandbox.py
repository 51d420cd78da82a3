"""The built-in sandbox provider: authorizes every payment, completes every refund at once and
pays every approved payout at once. References are derived from the idempotency key, so a
retried call returns the same reference."""

from __future__ import annotations

import hashlib

from ledger.application.ports import (
    AuthorizationRequest,
    PayoutRequest,
    ProviderResult,
    RefundRequest,
)


def _reference(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class SandboxProvider:
    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_auth", request.idempotency_key)
        )

    def refund(self, request: RefundRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_re", request.idempotency_key)
        )

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        return ProviderResult(
            status="succeeded", reference=_reference("sbx_po", request.idempotency_key)
        )

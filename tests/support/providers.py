"""A base for the payment providers tests script: what every provider declares."""

from __future__ import annotations

from ledger.application.ports import ProviderCapabilities


class ScriptedProviderBase:
    capabilities = ProviderCapabilities()

    def check_payment_method(self, payment_method: str) -> str | None:
        return None

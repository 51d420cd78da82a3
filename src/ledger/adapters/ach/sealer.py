"""The vault as the application's BankAccountVault port: seal() returns (token, mask)."""

from __future__ import annotations

from ledger.adapters.ach.vault import BankAccount, BankAccountVault, VaultError


class VaultSealer:
    def __init__(self, vault: BankAccountVault) -> None:
        self.vault = vault

    @classmethod
    def from_base64_key(cls, key: str) -> VaultSealer:
        return cls(BankAccountVault.from_base64_key(key))

    def seal(self, routing_number: str, account_number: str, account_type: str) -> tuple[str, str]:
        if account_type not in ("checking", "savings"):
            raise VaultError("account_type must be checking or savings")
        token = self.vault.seal(
            routing_number, account_number, "checking" if account_type == "checking" else "savings"
        )
        return token, self.vault.open(token).masked

    def fingerprint(self, routing_number: str, account_number: str) -> str:
        """Keyed (HMAC): equal for equal accounts, and no way back to the number."""
        return self.vault.fingerprint(routing_number, account_number)

    def open(self, token: str) -> BankAccount:
        return self.vault.open(token)

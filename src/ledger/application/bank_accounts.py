"""Bank accounts for ACH: sealed by the vault the moment they arrive, so the ledger only ever
records a token and a mask. Customers' accounts become payment methods; a manufacturer's
account is where its ACH payouts go."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ledger.application.commands import manufacturers
from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.errors import InvalidInput
from ledger.domain.manufacturer import Manufacturer


class BankAccountsDisabled(InvalidInput):
    code = "bank-accounts-disabled"


class InvalidBankAccount(InvalidInput):
    code = "invalid-bank-account"


class BankAccountSealer(Protocol):
    def seal(self, routing_number: str, account_number: str, account_type: str) -> tuple[str, str]:
        """(token, mask); ValueError for an account that is not valid."""
        ...

    def fingerprint(self, routing_number: str, account_number: str) -> str:
        """Keyed: equal for equal accounts, and no way back to the number."""
        ...


@dataclass(frozen=True, slots=True)
class BankAccount:
    routing_number: str
    account_number: str
    account_type: str


@dataclass(frozen=True, slots=True)
class Sealed:
    token: str
    masked: str
    fingerprint: str


def _seal(sealer: BankAccountSealer | None, account: BankAccount) -> Sealed:
    if sealer is None:
        raise BankAccountsDisabled("bank accounts need LEDGER_BANK_VAULT_KEY to be set")
    try:
        token, masked = sealer.seal(
            account.routing_number, account.account_number, account.account_type
        )
    except ValueError as error:
        raise InvalidBankAccount(str(error)) from None
    return Sealed(token, masked, sealer.fingerprint(account.routing_number, account.account_number))


@requires("payments:write")
def tokenize(
    principal: Principal, sealer: BankAccountSealer | None, account: BankAccount
) -> Sealed:
    """A customer's account as a payment method for ACH debits; nothing is recorded."""
    return _seal(sealer, account)


@requires("admin", "payments:write")
def set_payout_account(
    principal: Principal,
    sealer: BankAccountSealer | None,
    manufacturer_id: str,
    account: BankAccount,
) -> tuple[Callable[[UnitOfWork], Manufacturer], Sealed]:
    """The command that records a manufacturer's payout account (sealed), and the seal (its
    fingerprint keys the request: the stored fingerprint never holds the number).

    The platform's admin key sets it at once. A key bound to the manufacturer (with
    payments:write) only proposes it: the account takes effect when the platform approves it
    (manufacturers.approve_bank_account), so a leaked manufacturer key cannot redirect payouts."""
    if principal.is_platform:
        principal.require("admin")
    sealed = _seal(sealer, account)
    if not principal.is_platform:
        command = manufacturers.propose_bank_account(
            principal, manufacturer_id, sealed.token, sealed.masked
        )
        return command, sealed
    changes = {"bank_account_token": sealed.token, "bank_account_masked": sealed.masked}
    return manufacturers.change_settings(principal, manufacturer_id, changes), sealed

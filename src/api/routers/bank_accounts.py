from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter

from api.deps import ApiError, ContainerDep, PaymentsWrite
from api.schemas import BankAccountIn, BankAccountTokenOut
from ledger.bootstrap import Container

if TYPE_CHECKING:  # cryptography loads only where a vault is configured
    from ledger.adapters.ach.sealer import VaultSealer

router = APIRouter(prefix="/v1/bank-accounts", tags=["bank accounts"])


@router.post("", status_code=201, response_model=BankAccountTokenOut)
def tokenize_bank_account(
    body: BankAccountIn, principal: PaymentsWrite, container: ContainerDep
) -> BankAccountTokenOut:
    """Seal a customer's bank account for ACH debits: use the token as the payment_method of a
    payment (or subscription) with provider `ach`. Nothing is recorded; the number exists only
    inside the sealed token (AES-GCM), and only the mask is ever shown."""
    token, masked = seal(container, body)
    return BankAccountTokenOut(token=token, masked=masked, account_type=body.account_type)


def vault_of(container: Container) -> VaultSealer:
    if container.vault is None:
        raise ApiError(
            422, "bank-accounts-disabled", "bank accounts need LEDGER_BANK_VAULT_KEY to be set"
        )
    return container.vault


def seal(container: Container, body: BankAccountIn) -> tuple[str, str]:
    """(token, mask); 422 without a vault or for an invalid account (say, a routing number
    failing its check digit)."""
    try:
        return vault_of(container).seal(body.routing_number, body.account_number, body.account_type)
    except ValueError as error:
        raise ApiError(422, "invalid-bank-account", str(error)) from None

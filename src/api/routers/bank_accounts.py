from __future__ import annotations

from fastapi import APIRouter

from api.deps import Caller, VaultDep, needs
from api.request_rules import REQUEST_RULES
from api.schemas import BankAccountIn, BankAccountTokenOut
from ledger.application import bank_accounts

router = APIRouter(prefix="/v1/bank-accounts", tags=["bank accounts"], dependencies=REQUEST_RULES)


@router.post(
    "",
    status_code=201,
    response_model=BankAccountTokenOut,
    dependencies=[needs(bank_accounts.tokenize)],
)
def tokenize_bank_account(
    body: BankAccountIn, principal: Caller, vault: VaultDep
) -> BankAccountTokenOut:
    """Seal a customer's bank account for ACH debits: use the token as the payment_method of a
    payment (or subscription) with provider `ach`. Nothing is recorded; the number exists only
    inside the sealed token (AES-GCM), and only the mask is ever shown."""
    sealed = bank_accounts.tokenize(
        principal, vault, bank_accounts.BankAccount(**body.model_dump())
    )
    return BankAccountTokenOut(
        token=sealed.token, masked=sealed.masked, account_type=body.account_type
    )

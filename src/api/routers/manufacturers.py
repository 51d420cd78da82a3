from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, VaultDep, needs
from api.deps import SendKeyOptional as Send  # moves no money: a key is optional
from api.listings import (
    LIST_RESPONSES,
    Cursor,
    Limit,
    ManufacturerList,
    ManufacturerSummary,
    answer_list,
    rows_of,
)
from api.render import manufacturer_out
from api.request_rules import REQUEST_RULES
from api.schemas import (
    BankAccountFingerprint,
    BankAccountIn,
    ManufacturerIn,
    ManufacturerOut,
    ManufacturerPatch,
    ManufacturerSettingsPatch,
    PayoutRejectIn,
)
from ledger.application import bank_accounts
from ledger.application.commands import manufacturers
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/manufacturers", tags=["manufacturers"], dependencies=REQUEST_RULES)


@router.post(
    "",
    status_code=201,
    response_model=ManufacturerOut,
    dependencies=[needs(manufacturers.register)],
)
def create_manufacturer(body: ManufacturerIn, principal: Caller, send: Send) -> Response:
    """Register a manufacturer (needs `admin`)."""
    command = manufacturers.register(principal, body.model_dump())
    return send(command, manufacturer_out, status=201, body=body)


@router.patch(
    "/{manufacturer_id}",
    response_model=ManufacturerOut,
    dependencies=[needs(manufacturers.change_terms)],
)
def change_manufacturer(
    manufacturer_id: str, body: ManufacturerPatch, principal: Caller, send: Send
) -> Response:
    """Change fee, refund-fee policy or payout approval policy (needs `admin`); recorded as an
    event, so earlier payments keep the terms they were made under."""
    changes = body.model_dump(exclude_none=True)
    command = manufacturers.change_terms(principal, manufacturer_id, changes)
    return send(command, manufacturer_out, body=body)


@router.patch(
    "/{manufacturer_id}/settings",
    response_model=ManufacturerOut,
    dependencies=[needs(manufacturers.change_settings)],
)
def change_settings(
    manufacturer_id: str, body: ManufacturerSettingsPatch, principal: Caller, send: Send
) -> Response:
    """Provider routing, payout rail and schedule, payout approval expiry and refund approval
    policy (needs `admin`); each change is an event."""
    changes = body.model_dump(exclude_none=True)
    command = manufacturers.change_settings(principal, manufacturer_id, changes)
    return send(command, manufacturer_out, body=body)


@router.put(
    "/{manufacturer_id}/bank-account",
    response_model=ManufacturerOut,
    responses={202: {"model": ManufacturerOut, "description": "Proposed: awaits the platform."}},
    dependencies=[needs(bank_accounts.set_payout_account)],
)
def set_bank_account(
    manufacturer_id: str, body: BankAccountIn, principal: Caller, send: Send, vault: VaultDep
) -> Response:
    """The account ACH payouts go to. The platform's `admin` key sets it at once (200); a key
    bound to the manufacturer (`payments:write`) proposes it (202, shown as
    `pending_bank_account`) and it takes effect when the platform approves it. The number is
    sealed (AES-GCM) before it reaches the ledger; responses and events show only its mask."""
    account = bank_accounts.BankAccount(**body.model_dump())
    command, sealed = bank_accounts.set_payout_account(principal, vault, manufacturer_id, account)
    keyed_by = BankAccountFingerprint.of(body, sealed.fingerprint)
    status = 200 if principal.is_platform else 202
    return send(command, manufacturer_out, status=status, body=keyed_by)


@router.post(
    "/{manufacturer_id}/bank-account/approve",
    response_model=ManufacturerOut,
    dependencies=[needs(manufacturers.approve_bank_account)],
)
def approve_bank_account(manufacturer_id: str, principal: Caller, send: Send) -> Response:
    """Approve the bank account a manufacturer's key proposed (the platform's `admin` key only);
    from now on its payouts go there."""
    command = manufacturers.approve_bank_account(principal, manufacturer_id)
    return send(command, manufacturer_out)


@router.post(
    "/{manufacturer_id}/bank-account/reject",
    response_model=ManufacturerOut,
    dependencies=[needs(manufacturers.reject_bank_account)],
)
def reject_bank_account(
    manufacturer_id: str,
    principal: Caller,
    send: Send,
    body: PayoutRejectIn | None = None,
) -> Response:
    """Reject a proposed bank account (the platform's `admin` key only); the current one stays."""
    body = body or PayoutRejectIn()
    command = manufacturers.reject_bank_account(principal, manufacturer_id, body.reason)
    return send(command, manufacturer_out, body=body)


@router.get(
    "/{manufacturer_id}", response_model=ManufacturerOut, dependencies=[needs(Queries.manufacturer)]
)
def get_manufacturer(
    manufacturer_id: str, principal: Caller, queries: QueriesDep
) -> ManufacturerOut:
    return manufacturer_out(queries.manufacturer(principal, manufacturer_id))


@router.get(
    "",
    response_model=ManufacturerList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.manufacturers_page)],
)
def list_manufacturers(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> ManufacturerList | Response:
    """Manufacturers newest first, from the read model; a bound key lists only its own. JSON, or
    CSV with `Accept: text/csv`."""
    page = queries.manufacturers_page(principal, cursor=cursor, limit=limit)
    data = rows_of(ManufacturerSummary, page, "manufacturer_id")
    return answer_list(request, ManufacturerList, data, page.next_cursor, queries.freshness())

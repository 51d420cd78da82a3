from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import (
    AdminKey,
    AnyRead,
    ContainerDep,
    IdempotencyKeyHeader,
    ServiceDep,
    run_command,
)
from api.render import manufacturer_out
from api.routers.bank_accounts import seal, vault_of
from api.schemas import (
    BankAccountFingerprint,
    BankAccountIn,
    ManufacturerIn,
    ManufacturerOut,
    ManufacturerPatch,
    ManufacturerSettingsPatch,
)
from ledger.application import service as commands

router = APIRouter(prefix="/v1/manufacturers", tags=["manufacturers"])


@router.post("", status_code=201, response_model=ManufacturerOut)
def create_manufacturer(
    body: ManufacturerIn,
    request: Request,
    principal: AdminKey,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Register a manufacturer (needs `admin`)."""
    return run_command(
        request,
        service,
        principal,
        commands.register_manufacturer(principal, body.model_dump()),
        manufacturer_out,
        status=201,
        idempotency_key=idempotency_key,
        body=body,
        required=False,
    )


@router.patch("/{manufacturer_id}", response_model=ManufacturerOut)
def change_manufacturer(
    manufacturer_id: str,
    body: ManufacturerPatch,
    request: Request,
    principal: AdminKey,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Change fee, refund-fee policy or payout approval policy (needs `admin`); recorded as an
    event, so earlier payments keep the terms they were made under."""
    return run_command(
        request,
        service,
        principal,
        commands.change_manufacturer(
            principal, manufacturer_id, body.model_dump(exclude_none=True)
        ),
        manufacturer_out,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
        required=False,
    )


@router.patch("/{manufacturer_id}/settings", response_model=ManufacturerOut)
def change_settings(
    manufacturer_id: str,
    body: ManufacturerSettingsPatch,
    request: Request,
    principal: AdminKey,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Provider routing, payout rail and schedule, payout approval expiry and refund approval
    policy (needs `admin`); each change is an event."""
    return run_command(
        request,
        service,
        principal,
        commands.change_manufacturer_settings(
            service, principal, manufacturer_id, body.model_dump(exclude_none=True)
        ),
        manufacturer_out,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
        required=False,
    )


@router.put("/{manufacturer_id}/bank-account", response_model=ManufacturerOut)
def set_bank_account(
    manufacturer_id: str,
    body: BankAccountIn,
    request: Request,
    principal: AdminKey,
    container: ContainerDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """The account ACH payouts go to (needs `admin`). The number is sealed (AES-GCM) before it
    reaches the ledger; responses and events show only its mask."""
    token, masked = seal(container, body)
    changes = {"bank_account_token": token, "bank_account_masked": masked}
    return run_command(
        request,
        container.service,
        principal,
        commands.change_manufacturer_settings(
            container.service, principal, manufacturer_id, changes
        ),
        manufacturer_out,
        status=200,
        idempotency_key=idempotency_key,
        body=BankAccountFingerprint(
            routing_number=body.routing_number,
            account_fingerprint=vault_of(container).fingerprint(
                body.routing_number, body.account_number
            ),
            account_type=body.account_type,
        ),
        required=False,
    )


@router.get("/{manufacturer_id}", response_model=ManufacturerOut)
def get_manufacturer(
    manufacturer_id: str, principal: AnyRead, service: ServiceDep
) -> ManufacturerOut:
    return manufacturer_out(service.manufacturer(principal, manufacturer_id))

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import (
    IdempotencyKeyHeader,
    PaymentsRead,
    PaymentsWrite,
    PayoutsApprove,
    ServiceDep,
    run_command,
)
from api.render import payout_out
from api.schemas import PayoutIn, PayoutOut, PayoutRejectIn
from ledger.application import service as commands

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])


@router.post("", status_code=201, response_model=PayoutOut)
def request_payout(
    body: PayoutIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Pay a manufacturer from its payable balance (the amount is reserved at once). At or above
    its threshold the payout waits for approvals from distinct approvers; once approved the
    payout-execution workflow pays it on the manufacturer's rail."""
    return run_command(
        request,
        service,
        principal,
        commands.request_payout(principal, body.manufacturer_id, body.amount, body.currency),
        payout_out,
        status=201,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.post("/{payout_id}/approve", response_model=PayoutOut)
def approve_payout(
    payout_id: str,
    request: Request,
    principal: PayoutsApprove,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Approve (needs `payouts:approve`; never the requester's key)."""
    return run_command(
        request,
        service,
        principal,
        commands.approve_payout(principal, payout_id),
        payout_out,
        status=200,
        idempotency_key=idempotency_key,
        body=None,
    )


@router.post("/{payout_id}/reject", response_model=PayoutOut)
def reject_payout(
    payout_id: str,
    request: Request,
    principal: PayoutsApprove,
    service: ServiceDep,
    body: PayoutRejectIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    body = body or PayoutRejectIn()
    return run_command(
        request,
        service,
        principal,
        commands.reject_payout(principal, payout_id, body.reason),
        payout_out,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.get("/{payout_id}", response_model=PayoutOut)
def get_payout(payout_id: str, principal: PaymentsRead, service: ServiceDep) -> PayoutOut:
    return payout_out(service.payout(principal, payout_id))

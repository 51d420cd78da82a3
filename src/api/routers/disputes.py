from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import IdempotencyKeyHeader, PaymentsRead, PaymentsWrite, ServiceDep, run_command
from api.render import dispute_out
from api.routers.payments import _dispute
from api.schemas import DisputeCloseIn, DisputeOut
from ledger.application import service as commands
from ledger.application.errors import NotFound
from ledger.domain import ids

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])


@router.post("/{dispute_id}/close", response_model=DisputeOut)
def close_dispute(
    dispute_id: str,
    body: DisputeCloseIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Close a dispute: `won` returns the held funds, `lost` books it like a refund."""
    return run_command(
        request,
        service,
        principal,
        commands.close_dispute(principal, dispute_id, body.outcome),
        _dispute,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.get("/{dispute_id}", response_model=DisputeOut)
def get_dispute(dispute_id: str, principal: PaymentsRead, service: ServiceDep) -> DisputeOut:
    try:
        payment_id = ids.parent_payment(dispute_id, "dp")
    except ids.MalformedId:
        raise NotFound("no such dispute") from None
    payment = service.payment(principal, ids.encode("payment", payment_id))
    if dispute_id not in payment.disputes:
        raise NotFound("no such dispute")
    return dispute_out(payment, dispute_id, payment.disputes[dispute_id])

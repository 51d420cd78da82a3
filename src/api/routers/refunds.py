from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import (
    ApiError,
    ContainerDep,
    IdempotencyKeyHeader,
    PaymentsRead,
    ReadModelsDep,
    RefundsApprove,
    ServiceDep,
    run_command,
)
from api.render import refund_out
from api.schemas import FreshnessOut, PayoutRejectIn, RefundList, RefundOut, RefundSummary
from ledger.application import service as commands
from ledger.domain.payment import Payment
from projections.cursor import BadCursor

router = APIRouter(prefix="/v1/refunds", tags=["refunds"])


@router.get("/{refund_id}", response_model=RefundOut)
def get_refund(refund_id: str, principal: PaymentsRead, service: ServiceDep) -> RefundOut:
    """Read from the event store: always current."""
    payment, refund = service.refund(principal, refund_id)
    return refund_out(payment, refund_id, refund)


@router.get("", response_model=RefundList)
def list_refunds(
    principal: PaymentsRead,
    container: ContainerDep,
    read_models: ReadModelsDep,
    payment_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> RefundList:
    """Refunds newest first, from the read model (see `freshness`)."""
    try:
        page = read_models.refunds(
            manufacturer_id=principal.manufacturer_id,
            payment_id=payment_id,
            status=status,
            cursor=cursor,
            limit=limit,
            exclusive=principal.manufacturer_id is not None,
        )
    except BadCursor:
        raise ApiError(422, "invalid-cursor", "cursor is not one this API returned") from None
    return RefundList(
        data=[
            RefundSummary(
                id=row["refund_id"],
                payment_id=row["payment_id"],
                amount=row["amount"],
                currency=row["currency"],
                status=row["status"],
                reason=row["reason"],
                failure_reason=row["failure_reason"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in page.rows
        ],
        next_cursor=page.next_cursor,
        freshness=FreshnessOut(**container.freshness()),
    )


def _refund(result: tuple[Payment, str]) -> RefundOut:
    payment, refund_id = result
    return refund_out(payment, refund_id, payment.refunds[refund_id])


@router.post("/{refund_id}/approve", response_model=RefundOut)
def approve_refund(
    refund_id: str,
    request: Request,
    principal: RefundsApprove,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Approve a refund awaiting approval (needs `refunds:approve`; never the requester's key).
    The last approval needed sends it to the provider."""
    return run_command(
        request,
        service,
        principal,
        commands.approve_refund(principal, refund_id),
        _refund,
        status=200,
        idempotency_key=idempotency_key,
        body=None,
    )


@router.post("/{refund_id}/reject", response_model=RefundOut)
def reject_refund(
    refund_id: str,
    request: Request,
    principal: RefundsApprove,
    service: ServiceDep,
    body: PayoutRejectIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Reject a refund awaiting approval: its booking is reversed, nothing goes to the provider."""
    body = body or PayoutRejectIn()
    return run_command(
        request,
        service,
        principal,
        commands.reject_refund(principal, refund_id, body.reason),
        _refund,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
    )

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.render import refund_out
from api.schemas import FreshnessOut, PayoutRejectIn, RefundList, RefundOut, RefundSummary
from ledger.application.commands import refunds
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/refunds", tags=["refunds"])


@router.get("/{refund_id}", response_model=RefundOut, dependencies=[needs(Queries.refund)])
def get_refund(refund_id: str, principal: Caller, queries: QueriesDep) -> RefundOut:
    """Read from the event store: always current."""
    payment, _ = queries.refund(principal, refund_id)
    return refund_out((payment, refund_id))


@router.get("", response_model=RefundList, dependencies=[needs(Queries.refunds_page)])
def list_refunds(
    principal: Caller,
    queries: QueriesDep,
    payment_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> RefundList:
    """Refunds newest first, from the read model (see `freshness`)."""
    page = queries.refunds_page(
        principal, payment_id=payment_id, status=status, cursor=cursor, limit=limit
    )
    return RefundList(
        data=[
            RefundSummary(
                id=row["refund_id"],
                **{field: row[field] for field in RefundSummary.model_fields if field != "id"},
            )
            for row in page.rows
        ],
        next_cursor=page.next_cursor,
        freshness=FreshnessOut(**queries.freshness()),
    )


@router.post(
    "/{refund_id}/approve", response_model=RefundOut, dependencies=[needs(refunds.approve)]
)
async def approve_refund(refund_id: str, principal: Caller, send: Send) -> Response:
    """Approve a refund awaiting approval (needs `refunds:approve`; never the requester's key).
    The last approval needed sends it to the provider."""
    return await send.run(refunds.approve(principal, refund_id), refund_out)


@router.post("/{refund_id}/reject", response_model=RefundOut, dependencies=[needs(refunds.reject)])
async def reject_refund(
    refund_id: str, principal: Caller, send: Send, body: PayoutRejectIn | None = None
) -> Response:
    """Reject a refund awaiting approval: its booking is reversed, nothing goes to the provider."""
    body = body or PayoutRejectIn()
    return await send.run(refunds.reject(principal, refund_id, body.reason), refund_out, body=body)

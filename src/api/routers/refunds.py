from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.listings import LIST_RESPONSES, Cursor, Limit, PaymentFilter, RefundStatus, answer_list
from api.render import refund_out
from api.request_rules import REQUEST_RULES
from api.schemas import PayoutRejectIn, RefundList, RefundOut, RefundSummary
from ledger.application.commands import refunds
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/refunds", tags=["refunds"], dependencies=REQUEST_RULES)


@router.get("/{refund_id}", response_model=RefundOut, dependencies=[needs(Queries.refund)])
def get_refund(refund_id: str, principal: Caller, queries: QueriesDep) -> RefundOut:
    """Read from the event store: always current."""
    payment, _ = queries.refund(principal, refund_id)
    return refund_out((payment, refund_id))


@router.get(
    "",
    response_model=RefundList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.refunds_page)],
)
def list_refunds(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    payment_id: PaymentFilter = None,
    status: RefundStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> RefundList | Response:
    """Refunds newest first, from the read model (see `freshness`); `status=pending_approval`
    lists those awaiting approval. JSON, or CSV with `Accept: text/csv`."""
    page = queries.refunds_page(
        principal, payment_id=payment_id, status=status, cursor=cursor, limit=limit
    )
    data = [
        RefundSummary(
            id=row["refund_id"],
            **{field: row[field] for field in RefundSummary.model_fields if field != "id"},
        )
        for row in page.rows
    ]
    return answer_list(request, RefundList, data, page.next_cursor, queries.freshness())


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

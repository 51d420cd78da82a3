from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.listings import (
    LIST_RESPONSES,
    Cursor,
    Limit,
    ManufacturerFilter,
    PayoutList,
    PayoutStatus,
    PayoutSummary,
    answer_list,
    rows_of,
)
from api.render import payout_out
from api.request_rules import REQUEST_RULES
from api.schemas import PayoutIn, PayoutOut, PayoutRejectIn
from ledger.application.commands import payouts
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/payouts", tags=["payouts"], dependencies=REQUEST_RULES)


@router.post("", status_code=201, response_model=PayoutOut, dependencies=[needs(payouts.request)])
def request_payout(body: PayoutIn, principal: Caller, send: Send) -> Response:
    """Pay a manufacturer from its payable balance (the amount is reserved at once). At or above
    its threshold the payout waits for approvals from distinct approvers; once approved the
    payout-execution workflow pays it on the manufacturer's rail."""
    command = payouts.request(principal, body.manufacturer_id, body.amount, body.currency)
    return send(command, payout_out, status=201, body=body)


@router.post(
    "/{payout_id}/approve", response_model=PayoutOut, dependencies=[needs(payouts.approve)]
)
def approve_payout(payout_id: str, principal: Caller, send: Send) -> Response:
    """Approve (needs `payouts:approve`; never the requester's key)."""
    return send(payouts.approve(principal, payout_id), payout_out)


@router.post("/{payout_id}/reject", response_model=PayoutOut, dependencies=[needs(payouts.reject)])
def reject_payout(
    payout_id: str, principal: Caller, send: Send, body: PayoutRejectIn | None = None
) -> Response:
    body = body or PayoutRejectIn()
    return send(payouts.reject(principal, payout_id, body.reason), payout_out, body=body)


@router.get("/{payout_id}", response_model=PayoutOut, dependencies=[needs(Queries.payout)])
def get_payout(payout_id: str, principal: Caller, queries: QueriesDep) -> PayoutOut:
    return payout_out(queries.payout(principal, payout_id))


@router.get(
    "",
    response_model=PayoutList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.payouts_page)],
)
def list_payouts(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    status: PayoutStatus | None = None,
    manufacturer_id: ManufacturerFilter = None,
    awaiting_approval_by: Annotated[
        Literal["me"] | None,
        Query(
            description="`me`: payouts pending approval that this key may approve (it holds "
            "`payouts:approve`, did not request them and has not approved them yet)."
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> PayoutList | Response:
    """Payouts newest first, from the read model (see `freshness`); a bound key lists only its
    own. JSON, or CSV with `Accept: text/csv`."""
    page = queries.payouts_page(
        principal,
        manufacturer_id=manufacturer_id,
        status=status,
        awaiting_my_approval=awaiting_approval_by == "me",
        cursor=cursor,
        limit=limit,
    )
    data = rows_of(PayoutSummary, page, "payout_id")
    return answer_list(request, PayoutList, data, page.next_cursor, queries.freshness())

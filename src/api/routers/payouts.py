from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.render import payout_out
from api.schemas import PayoutIn, PayoutOut, PayoutRejectIn
from ledger.application.commands import payouts
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/payouts", tags=["payouts"])


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

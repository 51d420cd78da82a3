from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.render import dispute_out
from api.schemas import DisputeCloseIn, DisputeOut
from ledger.application.commands import disputes
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])


@router.post("/{dispute_id}/close", response_model=DisputeOut, dependencies=[needs(disputes.close)])
def close_dispute(dispute_id: str, body: DisputeCloseIn, principal: Caller, send: Send) -> Response:
    """Close a dispute: `won` returns the held funds, `lost` books it like a refund."""
    return send(
        disputes.close(principal, dispute_id, body.outcome, body.closed_at), dispute_out, body=body
    )


@router.get("/{dispute_id}", response_model=DisputeOut, dependencies=[needs(Queries.dispute)])
def get_dispute(dispute_id: str, principal: Caller, queries: QueriesDep) -> DisputeOut:
    payment, _ = queries.dispute(principal, dispute_id)
    return dispute_out((payment, dispute_id))

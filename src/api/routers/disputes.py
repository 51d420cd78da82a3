from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.listings import (
    LIST_RESPONSES,
    CreatedFrom,
    CreatedTo,
    Cursor,
    DisputeList,
    DisputeStatus,
    DisputeSummary,
    DueAfter,
    DueBefore,
    Limit,
    ManufacturerFilter,
    answer_list,
    rows_of,
)
from api.render import dispute_out
from api.request_rules import REQUEST_RULES
from api.schemas import DisputeCloseIn, DisputeOut
from ledger.application.commands import disputes
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/disputes", tags=["disputes"], dependencies=REQUEST_RULES)


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


@router.get(
    "",
    response_model=DisputeList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.disputes_page)],
)
def list_disputes(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    status: DisputeStatus | None = None,
    manufacturer_id: ManufacturerFilter = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    due_after: DueAfter = None,
    due_before: DueBefore = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> DisputeList | Response:
    """Disputes newest first, from the read model; a bound key lists only those of payments
    wholly its own. JSON, or CSV with `Accept: text/csv`."""
    page = queries.disputes_page(
        principal,
        manufacturer_id=manufacturer_id,
        status=status,
        created_from=created_from,
        created_to=created_to,
        due_after=due_after,
        due_before=due_before,
        cursor=cursor,
        limit=limit,
    )
    data = rows_of(DisputeSummary, page, "dispute_id")
    return answer_list(request, DisputeList, data, page.next_cursor, queries.freshness())

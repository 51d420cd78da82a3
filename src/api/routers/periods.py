from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, Send, needs
from api.schemas import PeriodCloseOut
from ledger.application.commands import periods
from ledger.domain.books import Books

router = APIRouter(prefix="/v1/periods", tags=["finance"])


def _closed(books: Books) -> PeriodCloseOut:
    last = books.closes[-1]
    return PeriodCloseOut(
        period=last["period"],
        closed_through=books.closed_through or last["period"],
        closed_at=last["closed_at"],
        closed_by=last["closed_by"],
    )


@router.post("/{period}/close", response_model=PeriodCloseOut, dependencies=[needs(periods.close)])
def close_period(period: str, principal: Caller, send: Send) -> Response:
    """Close a month (and every month before it) once it has ended: its statements are frozen
    as issued; later events dated in it are booked into the first open month as adjustments.
    Needs `finance:close`."""
    return send(periods.close(principal, period), _closed, required=False)

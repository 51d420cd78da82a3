from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from api.deps import Caller, SendKeyOptional, needs
from api.request_rules import REQUEST_RULES
from api.schemas import PERIOD_SCHEMA, PeriodCloseOut
from ledger.application.commands import periods
from ledger.domain.books import Books

router = APIRouter(prefix="/v1/periods", tags=["finance"], dependencies=REQUEST_RULES)


def _closed(books: Books) -> PeriodCloseOut:
    last = books.closes[-1]
    return PeriodCloseOut(
        period=last["period"],
        closed_through=books.closed_through or last["period"],
        closed_at=last["closed_at"],
        closed_by=last["closed_by"],
    )


@router.post("/{period}/close", response_model=PeriodCloseOut, dependencies=[needs(periods.close)])
def close_period(
    period: Annotated[str, Path(description="YYYY-MM", json_schema_extra=PERIOD_SCHEMA)],
    principal: Caller,
    send: SendKeyOptional,
) -> Response:
    """Close a month (and every month before it) once it has ended: its statements are frozen
    as issued; later events dated in it are booked into the first open month as adjustments.
    Needs `finance:close`."""
    return send(periods.close(principal, period), _closed)

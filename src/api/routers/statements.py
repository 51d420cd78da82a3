from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel
from starlette.responses import Response

from api.deps import Caller, QueriesDep, needs
from api.negotiation import CSV_ALTERNATIVE, prefers_csv
from api.request_rules import REQUEST_RULES
from api.schemas import PERIOD_SCHEMA, FreshnessOut, PnlOut, StatementOut
from ledger.application.finance import FinanceQueries
from projections.statements import lines_csv, pnl_csv, statement_csv

router = APIRouter(prefix="/v1", tags=["finance"], dependencies=REQUEST_RULES)

Period = Annotated[
    str, Query(description="YYYY-MM (a calendar month, UTC)", json_schema_extra=PERIOD_SCHEMA)
]
As = Annotated[
    Literal["issued", "restated"] | None,
    Query(
        alias="as",
        description="issued: as frozen at the close (the default once closed); restated: every "
        "line in the period it happened in, with the difference from the issued one",
    ),
]


# 409 period-open: `as=issued` for a month not closed yet.
ISSUED_RESPONSES = {**CSV_ALTERNATIVE, 409: {"description": "Nothing issued for the period yet."}}


def _respond(body: BaseModel, freshness: dict[str, Any], csv_text: str | None) -> Response:
    fresh = FreshnessOut(**freshness)
    headers = {"Ledger-Projection-Updated-At": fresh.updated_at or "never"}
    if csv_text is not None:
        return Response(csv_text, media_type="text/csv", headers=headers)
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)


@router.get(
    "/statements/manufacturers/{manufacturer_id}",
    response_model=StatementOut,
    responses=ISSUED_RESPONSES,
    dependencies=[needs(FinanceQueries.statement)],
)
def manufacturer_statement(
    manufacturer_id: str,
    principal: Caller,
    queries: QueriesDep,
    period: Period,
    as_: As = None,
    lines: Annotated[bool, Query(description="list the lines behind each figure")] = False,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Opening balance, sales, platform fees, refunds, fees returned, disputes lost, payouts,
    adjustments and closing balance for a month, per currency, each signed by its effect on
    what the platform owes (opening + the rest = closing). JSON, or CSV with `Accept: text/csv`
    (with `lines=true`, the CSV lists the lines)."""
    found = queries.finance.statement(principal, manufacturer_id, period, as_, lines)
    body = StatementOut(
        manufacturer_id=manufacturer_id,
        name=found.manufacturer.name,
        period=period,
        view=found.view,
        status="closed" if found.closed_at else "open",
        closed_at=found.closed_at,
        currencies=found.sections,
        difference=found.difference,
        freshness=FreshnessOut(**found.freshness),
    )
    csv_text = None
    if prefers_csv(accept):
        csv_text = (
            lines_csv(manufacturer_id, period, found.sections)
            if lines
            else statement_csv(
                manufacturer_id, found.manufacturer.name, period, found.view, found.sections
            )
        )
    return _respond(body, found.freshness, csv_text)


@router.get(
    "/reports/platform/pnl",
    response_model=PnlOut,
    responses=ISSUED_RESPONSES,
    dependencies=[needs(FinanceQueries.profit_and_loss)],
)
def platform_pnl(
    principal: Caller,
    queries: QueriesDep,
    period: Period,
    as_: As = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """The platform's P&L for a month, per currency: fee revenue, fees returned, provider fees,
    dispute losses, adjustments (late events booked here), net. JSON or CSV."""
    found = queries.finance.profit_and_loss(principal, period, as_)
    body = PnlOut(
        period=period,
        view=found.view,
        status="closed" if found.closed_at else "open",
        closed_at=found.closed_at,
        currencies=found.sections,
        freshness=FreshnessOut(**found.freshness),
    )
    csv_text = pnl_csv(period, found.view, found.sections) if prefers_csv(accept) else None
    return _respond(body, found.freshness, csv_text)

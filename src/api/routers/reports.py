from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from api.deps import Caller, QueriesDep, needs
from api.negotiation import CSV_ALTERNATIVE, prefers_csv
from api.request_rules import REQUEST_RULES
from api.schemas import PERIOD_SCHEMA, FreshnessOut, ReportOut
from ledger.application.queries import Queries
from projections.reports import report_csv

ReportPeriod = Annotated[str | None, Query(description="YYYY-MM", json_schema_extra=PERIOD_SCHEMA)]

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=REQUEST_RULES)


@router.get(
    "/manufacturers/{manufacturer_id}",
    response_model=ReportOut,
    responses=CSV_ALTERNATIVE,
    dependencies=[needs(Queries.manufacturer_report)],
)
def manufacturer_report_endpoint(
    manufacturer_id: str,
    principal: Caller,
    queries: QueriesDep,
    period: ReportPeriod = None,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Gross captured, fees, refunds, disputes lost, net payable, payouts and the closing
    payable balance, per day and month. JSON, or CSV with `Accept: text/csv`."""
    report = queries.manufacturer_report(
        principal, manufacturer_id, period=period, start=from_, end=to
    )
    freshness = FreshnessOut(**report.freshness)
    headers = {"Ledger-Projection-Updated-At": freshness.updated_at or "never"}
    if freshness.lag_events is not None:
        headers["Ledger-Projection-Lag"] = str(freshness.lag_events)
    if prefers_csv(accept):
        csv_text = report_csv(manufacturer_id, report.sections)
        return Response(csv_text, media_type="text/csv", headers=headers)
    body = ReportOut(
        manufacturer_id=manufacturer_id,
        name=report.manufacturer.name,
        from_date=report.start.isoformat(),
        to_date=(report.end - timedelta(days=1)).isoformat(),
        currencies=report.sections,
        freshness=freshness,
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)

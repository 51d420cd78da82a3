from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from api.deps import ApiError, ContainerDep, FinanceRead, ReadModelsDep, ServiceDep
from api.schemas import FreshnessOut, ReportOut
from projections.reports import manufacturer_report, month_bounds, report_csv

router = APIRouter(prefix="/v1/reports", tags=["reports"])
_PERIOD = re.compile(r"^(19|[2-8][0-9])\d{2}-(0[1-9]|1[0-2])$")  # 1900-01 .. 8999-12
MAX_DAYS = 366


def report_range(period: str | None, start: str | None, end: str | None) -> tuple[date, date]:
    """Either period=YYYY-MM or from/to (inclusive dates); returns [start, end)."""
    if period is not None:
        if start is not None or end is not None:
            raise ApiError(422, "invalid-query", "give either period or from/to, not both")
        if not _PERIOD.match(period):
            raise ApiError(422, "invalid-query", "period must be YYYY-MM, from 1900 to 8999")
        return month_bounds(period)
    if start is None or end is None:
        raise ApiError(422, "invalid-query", "give period=YYYY-MM, or both from and to")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise ApiError(422, "invalid-query", "from and to must be YYYY-MM-DD dates") from None
    if not (1900 <= first.year <= 8999 and 1900 <= last.year <= 8999):
        raise ApiError(422, "invalid-query", "from and to must fall between 1900 and 8999")
    if last < first or (last - first).days >= MAX_DAYS:
        raise ApiError(422, "invalid-query", f"to must be on or after from, within {MAX_DAYS} days")
    return first, last + timedelta(days=1)


@router.get(
    "/manufacturers/{manufacturer_id}",
    response_model=ReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def manufacturer_report_endpoint(
    manufacturer_id: str,
    principal: FinanceRead,
    container: ContainerDep,
    read_models: ReadModelsDep,
    service: ServiceDep,
    period: Annotated[str | None, Query(description="YYYY-MM")] = None,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Gross captured, fees, refunds, disputes lost, net payable, payouts and the closing
    payable balance, per day and month. JSON, or CSV with `Accept: text/csv`."""
    manufacturer = service.manufacturer(principal, manufacturer_id)
    start, end = report_range(period, from_, to)
    freshness = FreshnessOut(**container.freshness())
    sections = manufacturer_report(read_models, manufacturer_id, start, end)
    headers = {"Ledger-Projection-Updated-At": freshness.updated_at or "never"}
    if freshness.lag_events is not None:
        headers["Ledger-Projection-Lag"] = str(freshness.lag_events)
    if accept is not None and "text/csv" in accept:
        return Response(
            report_csv(manufacturer_id, sections), media_type="text/csv", headers=headers
        )
    body = ReportOut(
        manufacturer_id=manufacturer_id,
        name=manufacturer.name,
        from_date=start.isoformat(),
        to_date=(end - timedelta(days=1)).isoformat(),
        currencies=sections,
        freshness=freshness,
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)

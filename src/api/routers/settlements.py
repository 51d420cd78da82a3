"""Provider settlements submitted as files: PayPal's settlement report (STL), booked once per
report id, the same parser and booking as `ledger paypal settle`. Platform keys with
finance:close."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, SettlementReportsDep, needs
from api.reconciliation_schemas import SettlementOut
from api.request_rules import REQUEST_RULES
from api.text_body import TEXT_415, read_text, text_body
from ledger.application.settlement_reports import SettlementReports

router = APIRouter(prefix="/v1/settlements", tags=["finance"], dependencies=REQUEST_RULES)


@router.post(
    "/paypal",
    response_model=SettlementOut,
    dependencies=[needs(SettlementReports.settle_paypal)],
    responses=TEXT_415,
    openapi_extra=text_body("A PayPal Settlement Report (STL) file, as PayPal writes it."),
)
async def settle_paypal(
    request: Request, principal: Caller, reports: SettlementReportsDep
) -> SettlementOut:
    """Book a PayPal settlement report: its withdrawals to `platform:cash` against
    `provider:paypal:receivable`, and the fees PayPal kept that the ledger had not booked.
    Once per report id (`STL:{account}:{period}`): the same report again books nothing and
    says so. A file that cannot be read whole is a 422 naming its line; nothing is booked."""
    text = await read_text(request)
    booked = await run_in_threadpool(reports.settle_paypal, principal, text)
    return SettlementOut.model_validate(booked)

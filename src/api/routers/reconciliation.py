"""Reconciliation runs (made here or by `ledger reconcile`): provider transactions matched to
the ledger, breaks by kind with both sides. Platform keys: finance:read to read them,
finance:close to start one."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, QueriesDep, SettlementReportsDep, needs
from api.reconciliation_schemas import ReconciliationRunListOut, ReconciliationRunOut
from api.request_rules import REQUEST_RULES
from api.text_body import TEXT_415, read_text, text_body
from ledger.application.reconciliations import ReconciliationQueries
from ledger.application.settlement_reports import SettlementReports

router = APIRouter(prefix="/v1/reconciliation", tags=["finance"], dependencies=REQUEST_RULES)
Provider = Annotated[Literal["stripe", "paypal"], Query(description="whose money")]
PayoutId = Annotated[
    str | None,
    Query(
        description="stripe: the payout (po_...), its balance transactions listed",
        pattern="^po_[A-Za-z0-9_]{1,64}$",
    ),
]


@router.get(
    "/runs",
    response_model=ReconciliationRunListOut,
    dependencies=[needs(ReconciliationQueries.runs)],
)
def list_runs(principal: Caller, queries: QueriesDep) -> ReconciliationRunListOut:
    """Every run, newest first: totals and breaks (not the matched lines)."""
    return ReconciliationRunListOut.model_validate({"data": queries.reconciliation.runs(principal)})


@router.get(
    "/runs/{run_id}",
    response_model=ReconciliationRunOut,
    dependencies=[needs(ReconciliationQueries.run)],
)
def get_run(run_id: str, principal: Caller, queries: QueriesDep) -> ReconciliationRunOut:
    """One run: totals (payout, provider_net, matched_net, balanced), breaks by kind
    (missing_in_ledger, missing_at_provider, amount_mismatch, currency_mismatch, fee_mismatch,
    duplicate), each with its provider and ledger side, and the matched lines."""
    return ReconciliationRunOut.model_validate(queries.reconciliation.run(principal, run_id))


@router.post(
    "/runs",
    response_model=ReconciliationRunOut,
    dependencies=[needs(SettlementReports.reconcile)],
    responses=TEXT_415,
    openapi_extra=text_body(
        "paypal: a PayPal Settlement Report (STL) file; stripe: no body.", required=False
    ),
)
async def start_run(
    request: Request,
    principal: Caller,
    reports: SettlementReportsDep,
    provider: Provider,
    payout_id: PayoutId = None,
) -> ReconciliationRunOut:
    """Reconcile a Stripe payout (`?provider=stripe&payout_id=po_...`) or a PayPal settlement
    report sent as the body (`?provider=paypal`, `text/csv` or `text/plain`). The same input
    again answers the run recorded for it. A file that cannot be read whole is a 422 naming its
    line; no run is recorded. ACH files are reconciled with `ledger reconcile --provider ach`
    (a NACHA file is digit runs the card-number guard refuses). Needs `finance:close`."""
    text = None if provider == "stripe" else await read_text(request)
    view = await run_in_threadpool(reports.reconcile, principal, provider, payout_id, text)
    return ReconciliationRunOut.model_validate(view)

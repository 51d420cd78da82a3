"""Reconciliation runs (made by `ledger reconcile`): provider transactions matched to the
ledger, breaks by kind with both sides. Platform keys with finance:read."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Caller, QueriesDep, needs
from api.reconciliation_schemas import ReconciliationRunListOut, ReconciliationRunOut
from ledger.application.reconciliations import ReconciliationQueries

router = APIRouter(prefix="/v1/reconciliation", tags=["finance"])


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

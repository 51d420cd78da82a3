"""Payouts.SweepRequested (hourly schedule) -> expire stale approvals, request due payouts.
Ach.SettlementRequested (daily schedule) -> settle the ACH files whose effective date has come."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.application.processes.ach_settlement import settle_due
from ledger.application.processes.payout_sweep import sweep_payouts
from ledger.workflows.runtime import WorkerContext


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    scheduled = envelope.get("detail", {}).get("scheduled_time")
    # The schedule's own time, so a redelivered or late message acts as of when it fired.
    at = datetime.fromisoformat(scheduled) if scheduled else context.clock()
    if envelope.get("detail-type") == "Ach.SettlementRequested":
        return settle_due(context.engine, at.date())
    return sweep_payouts(context.engine, at)

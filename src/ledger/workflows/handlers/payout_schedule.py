"""Payouts.SweepRequested (hourly schedule) -> expire stale approvals, request due payouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.application.processes.payout_sweep import sweep_payouts
from ledger.workflows.runtime import WorkerContext


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    scheduled = envelope.get("detail", {}).get("scheduled_time")
    # The schedule's own time, so a redelivered or late message sweeps as of when it fired.
    at = datetime.fromisoformat(scheduled) if scheduled else context.clock()
    return sweep_payouts(context.engine, at)

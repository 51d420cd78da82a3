"""Billing.RunRequested (daily schedule, or `ledger billing run`) -> charge due subscriptions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.application.processes.billing import billing_run
from ledger.workflows.runtime import WorkerContext


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    detail = envelope.get("detail", {})
    if detail.get("as_of"):
        as_of = date.fromisoformat(detail["as_of"])
    elif detail.get("scheduled_time"):
        as_of = datetime.fromisoformat(detail["scheduled_time"]).date()
    else:
        as_of = context.clock().date()
    return billing_run(context.engine, as_of)

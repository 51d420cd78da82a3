"""Billing.RunRequested (daily schedule, or `ledger billing run`) -> charge due subscriptions;
Subscription.Started -> charge that subscription's first period at once if it is already due
(started today without a trial), rather than at the next daily run."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ledger.application.processes.billing import bill_new_subscription, billing_run
from ledger.domain import ids
from ledger.workflows.runtime import WorkerContext

STARTED = "Subscription.Started"


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    detail = envelope.get("detail", {})
    if envelope.get("detail-type") == STARTED:
        public_id = ids.encode("subscription", UUID(detail["aggregate_id"]))
        return bill_new_subscription(context.engine, public_id, context.clock().date())
    if detail.get("as_of"):
        as_of = date.fromisoformat(detail["as_of"])
    elif detail.get("scheduled_time"):
        as_of = datetime.fromisoformat(detail["scheduled_time"]).date()
    else:
        as_of = context.clock().date()
    return billing_run(context.engine, as_of)

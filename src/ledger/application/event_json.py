"""Domain events as JSON: the shape published on the bus and shown by the events route."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

SOURCE = "payments-ledger"
SCHEDULER_SOURCE = "payments-ledger.scheduler"
_ORIGINATOR_FIELDS = ("originator_id", "originator_version", "timestamp", "originator_topic")
# Aggregates whose events go on the bus; API keys, idempotency records, payable mirrors and
# webhook receipts are internal.
PUBLISHED_AGGREGATES = ("Payment", "Payout", "Manufacturer", "Subscription")


def json_safe(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def event_data(event: Any) -> dict[str, Any]:
    """The event's own fields, without the originator bookkeeping."""
    return {k: json_safe(v) for k, v in event.__dict__.items() if k not in _ORIGINATOR_FIELDS}


def event_detail(event: Any) -> dict[str, Any]:
    return {
        "id": f"{event.originator_id}:{event.originator_version}",
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "type": type(event).__qualname__,
        "occurred_at": event.timestamp.isoformat(),
        "data": event_data(event),
    }


def detail_type(event: Any) -> str:
    return type(event).__qualname__


def is_published_topic(topic: str) -> bool:
    """Topics look like "ledger.domain.payment:Payment.Captured"."""
    return topic.rpartition(":")[2].split(".")[0] in PUBLISHED_AGGREGATES

"""Applies DynamoDB Stream records of the events table to the DynamoDB read models.

Per record: decode the NewImage back into the domain event, run the same projection logic as
the embedded follower, and apply it with per-aggregate version tracking. Redelivered records
change nothing; a record whose predecessor has not been applied raises ProjectionGap, so the
batch reports it as failed and Lambda retries from there.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper

from ledger.adapters.dynamodb_store import stored_event
from projections.logic import is_projected_topic, project, timestamp_text
from projections.store import TrackedChanges
from projections.stores.dynamodb import DynamoDBReadModels


class StreamProjector:
    def __init__(self, mapper: Mapper[Any], store: DynamoDBReadModels) -> None:
        self.mapper = mapper
        self.store = store
        self.last_event_at: str | None = None

    def apply(self, record: dict[str, Any]) -> str | None:
        """The event's name (e.g. "Payment.Captured") when the record was new to the read
        models; None for duplicates and records the read models do not follow."""
        if record.get("eventName") != "INSERT":
            return None  # events are immutable: MODIFY/REMOVE never carry ledger facts
        image = record["dynamodb"]["NewImage"]
        if not is_projected_topic(image["topic"]["S"]):
            return None
        event: Any = self.mapper.to_domain_event(stored_event(image))
        applied = self.store.apply_one(
            TrackedChanges(str(event.originator_id), event.originator_version, project(event))
        )
        moment = timestamp_text(event.timestamp)
        if self.last_event_at is None or moment > self.last_event_at:
            self.last_event_at = moment
        return type(event).__qualname__ if applied else None

    def finish_batch(self) -> None:
        if self.last_event_at is not None:
            self.store.heartbeat(self.last_event_at)
            self.last_event_at = None

"""Applies DynamoDB Stream batches of the events table to the DynamoDB read models.

A batch's records are decoded back into domain events and projected by the same logic as the
embedded follower, then written together (dynamodb_writes): redelivered records change nothing,
a record whose predecessor has not been applied fails with the rest of its aggregate's records,
and the failures are reported for Lambda to retry from there. The batch must say which shard it
came from (`shardId`, which Lambda sends when the mapping has a tumbling window): counters are
kept per shard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import Mapper

from ledger.adapters.dynamodb_store import stored_event
from projections.logic import home_row, is_projected_topic, project, timestamp_text
from projections.store import TrackedChanges
from projections.stores import dynamodb_items as items
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_writes import Record

HEARTBEAT_SECONDS = 1.0  # one heartbeat write a second a shard at most, however small batches


class MissingShard(Exception):
    """A stream batch without `shardId`: the mapping lacks its tumbling window."""


@dataclass
class BatchResult:
    failed: list[str] = field(default_factory=list)  # sequence numbers
    applied: list[str] = field(default_factory=list)  # event names, e.g. "Payment.Captured"
    oldest_seconds: float = 0.0


def tracked(event: Any) -> TrackedChanges:
    return TrackedChanges(
        str(event.originator_id), event.originator_version, project(event), home_row(event)
    )


class StreamProjector:
    def __init__(
        self,
        mapper: Mapper[Any],
        store: DynamoDBReadModels,
        clock: Any = time.monotonic,
    ) -> None:
        self.mapper = mapper
        self.store = store
        self.clock = clock
        self.last_event_at: str | None = None
        self.last_heartbeat: float | None = None

    def apply_batch(self, event: dict[str, Any]) -> BatchResult:
        result = BatchResult()
        shard = event.get("shardId")
        raw = event.get("Records") or []
        if not raw:
            return result
        if not shard:
            raise MissingShard("the stream batch carries no shardId (set a tumbling window)")
        records: list[Record] = []
        names: list[str] = []
        sequences: list[str] = []  # as the stream spells them
        for record in raw:
            if record.get("eventName") != "INSERT":
                continue  # events are immutable: MODIFY/REMOVE never carry ledger facts
            image = record["dynamodb"]["NewImage"]
            if not is_projected_topic(image["topic"]["S"]):
                continue
            sequence = record["dynamodb"]["SequenceNumber"]
            try:
                domain_event: Any = self.mapper.to_domain_event(stored_event(image))
            except Exception:  # an undecodable record fails alone
                result.failed.append(sequence)
                continue
            records.append(Record(tracked(domain_event), items.sequence_text(sequence)))
            names.append(type(domain_event).__qualname__)
            sequences.append(sequence)
            moment = timestamp_text(domain_event.timestamp)
            if self.last_event_at is None or moment > self.last_event_at:
                self.last_event_at = moment
        outcome = self.store.apply_stream(records, str(shard))
        result.failed += [sequences[i] for i in sorted(outcome.failed)]
        result.applied = [names[i] for i in sorted(outcome.new)]
        return result

    def finish_batch(self) -> None:
        now = self.clock()
        if self.last_event_at is None:
            return
        if self.last_heartbeat is not None and now - self.last_heartbeat < HEARTBEAT_SECONDS:
            return
        self.store.heartbeat(self.last_event_at)
        self.last_heartbeat = now
        self.last_event_at = None

"""Applies DynamoDB Stream batches of the events table to the DynamoDB read models.

A batch's records are decoded back into domain events and projected by the same logic as the
embedded follower, then written together (dynamodb_writes): redelivered records change nothing,
a record whose predecessor has not been applied fails with the rest of its aggregate's records,
and the failures are reported for Lambda to retry from there. The batch must say which shard it
came from (`shardId`, which Lambda sends when the mapping has a tumbling window): counters are
kept per shard. Without it (an emulator's mapping), the shard whose sequence-number range holds
the batch's records is looked up in the stream's description, when exactly one does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    """A stream batch without `shardId` (the mapping lacks its tumbling window) whose shard the
    stream's description does not tell."""


class ShardFinder:
    """The one shard of a stream whose sequence-number range holds a sequence number."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self.client = client  # makes a dynamodbstreams client, when one is first needed
        self.made: Any = None
        self.shards: dict[str, list[tuple[str, int, int | None]]] = {}

    def _describe(self, arn: str) -> list[tuple[str, int, int | None]]:
        shards: list[tuple[str, int, int | None]] = []
        request: dict[str, Any] = {"StreamArn": arn}
        self.made = self.made or self.client()
        while True:
            description = self.made.describe_stream(**request)["StreamDescription"]
            for shard in description.get("Shards", []):
                numbers = shard.get("SequenceNumberRange", {})
                end = numbers.get("EndingSequenceNumber")
                start = int(numbers.get("StartingSequenceNumber", "0"))
                shards.append((shard["ShardId"], start, int(end) if end else None))
            if not description.get("LastEvaluatedShardId"):
                return shards
            request["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]

    def __call__(self, arn: str, sequence: str) -> str | None:
        number = int(sequence)
        for fresh in (False, True):
            if fresh or arn not in self.shards:
                self.shards[arn] = self._describe(arn)
            found = [
                shard
                for shard, start, end in self.shards[arn]
                if start <= number and (end is None or number <= end)
            ]
            if len(found) == 1:
                return found[0]
        return None


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
        shard_of: Callable[[str, str], str | None] | None = None,
    ) -> None:
        self.mapper = mapper
        self.store = store
        self.shard_of = shard_of
        self.clock = clock
        self.last_event_at: str | None = None
        self.last_heartbeat: float | None = None

    def apply_batch(self, event: dict[str, Any]) -> BatchResult:
        result = BatchResult()
        shard = event.get("shardId")
        raw = event.get("Records") or []
        if not raw:
            return result
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
            except Exception:  # reported; Lambda redelivers from it on, so stop here
                result.failed.append(sequence)
                break
            records.append(Record(tracked(domain_event), items.sequence_text(sequence)))
            names.append(type(domain_event).__qualname__)
            sequences.append(sequence)
            moment = timestamp_text(domain_event.timestamp)
            if self.last_event_at is None or moment > self.last_event_at:
                self.last_event_at = moment
        if not records:
            return result
        if not shard and self.shard_of is not None:
            first = raw[0]
            arn = first.get("eventSourceARN") or event.get("eventSourceARN") or ""
            shard = self.shard_of(arn, first["dynamodb"]["SequenceNumber"])
        if not shard:
            raise MissingShard("the stream batch names no shard (set the tumbling window)")
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

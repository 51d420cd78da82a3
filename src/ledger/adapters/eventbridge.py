"""Publishes domain events from the events table's stream onto an EventBridge bus.

Entries: Source `ledger`, DetailType the event name (`Payment.Captured`), Detail the event as
JSON with an `id` (`<aggregate>:<version>`) consumers use to drop redeliveries. Batches of at most
10 entries (the PutEvents limit); entries EventBridge rejects are retried a few times, and what
still fails is reported so the stream retries those records.

API keys, idempotency records and payable mirrors are internal: they are not published. Given
`routed` (the detail-types the workflow rules match), only those events are: the rest would reach
no rule (terraform/streams.tf filters the publisher's mapping to the same set).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Mapper

from ledger.adapters.dynamodb_store import stored_event
from ledger.application.event_json import (
    SOURCE,
    detail_type,
    event_detail,
    is_published_topic,
)

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024  # PutEvents: all entries of one request together


def _entry_size(entry: dict[str, Any]) -> int:
    """Entry size as EventBridge counts it (UTF-8 of source, detail-type, detail, bus)."""
    return sum(len(str(entry[k]).encode()) for k in ("Source", "DetailType", "Detail"))


ATTEMPTS = 4


class EventBridgePublisher:
    def __init__(
        self,
        client: Any,
        bus_name: str,
        mapper: Mapper[Any],
        sleep: Callable[[float], None] = time.sleep,
        routed: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        self.routed = routed
        self.bus_name = bus_name
        self.mapper = mapper
        self.sleep = sleep
        self.published = 0  # entries accepted by the last publish()

    def entry(self, record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get("eventName") != "INSERT":
            return None
        image = record["dynamodb"]["NewImage"]
        topic = image["topic"]["S"]
        if not is_published_topic(topic):
            return None
        if self.routed is not None and topic.rpartition(":")[2] not in self.routed:
            return None
        event: Any = self.mapper.to_domain_event(stored_event(image))
        return {
            "Source": SOURCE,
            "DetailType": detail_type(event),
            "Detail": json.dumps(event_detail(event), separators=(",", ":")),
            "EventBusName": self.bus_name,
        }

    def publish(self, records: Sequence[dict[str, Any]]) -> list[str]:
        """Publish the records' events; returns the sequence numbers of records not published."""
        pending: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            entry = self.entry(record)
            if entry is not None:
                pending.append((record["dynamodb"]["SequenceNumber"], entry))
        failed: list[str] = []
        chunk: list[tuple[str, dict[str, Any]]] = []
        size = 0
        for sequence, entry in pending:
            entry_size = _entry_size(entry)
            if entry_size > MAX_REQUEST_BYTES:
                failed.append(sequence)  # can never be published: let it go to the DLQ
                continue
            if chunk and (len(chunk) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES):
                failed += self._put(chunk)
                chunk, size = [], 0
            chunk.append((sequence, entry))
            size += entry_size
        if chunk:
            failed += self._put(chunk)
        self.published = len(pending) - len(failed)
        return failed

    def _put(self, chunk: list[tuple[str, dict[str, Any]]]) -> list[str]:
        for attempt in range(ATTEMPTS):
            response = self.client.put_events(Entries=[entry for _, entry in chunk])
            if not response.get("FailedEntryCount"):
                return []
            results = response.get("Entries", [])
            chunk = [
                item for item, result in zip(chunk, results, strict=True) if "ErrorCode" in result
            ]
            if attempt < ATTEMPTS - 1:
                self.sleep(0.05 * 2**attempt)
        return [sequence for sequence, _ in chunk]

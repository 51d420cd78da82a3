"""DynamoDB event store: an `eventsourcing` persistence module.

Select it with PERSISTENCE_MODULE=ledger.adapters.dynamodb_store (the ledger's settings do this
for LEDGER_PERSISTENCE=dynamodb). Written by hand: the only published DynamoDB recorder for the
library is an early 0.x release; this one is small and tested with the library's own cases.

Table layout: partition key `aggregate_id` (S), sort key `version` (N), attributes `topic` (S),
`state` (B) and `recorded_at` (S). Items are never updated or deleted.

- Every new event is a conditional write (`attribute_not_exists`): a second writer of the same
  aggregate version fails, and the failure surfaces as the library's IntegrityError, exactly as
  on SQLite. Every save is one TransactWriteItems (idempotent under SDK retries), so it is
  all-or-nothing; DynamoDB caps a transaction at 100 items, so larger saves are refused.
- Reads of an aggregate are strongly consistent queries in version order.
- There is no global order across partitions. The notification-log methods of the library's
  ApplicationRecorder (select_notifications, subscribe) therefore do not apply and raise;
  projections follow per-aggregate order from the table's stream instead (see the brief).
"""

from __future__ import annotations

import base64
import os
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    Compressor,
    InfrastructureFactory,
    IntegrityError,
    Notification,
    PersistenceError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    Subscription,
    TrackingRecorder,
)
from eventsourcing.utils import Environment

MAX_TRANSACTION_ITEMS = 100
_CONFLICT_CODES = {"ConditionalCheckFailedException", "TransactionConflictException"}


class NoGlobalOrder(NotImplementedError):
    """DynamoDB keeps order per aggregate only; there is no application-wide sequence."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A low-level DynamoDB client with adaptive retries for throttling. Without an explicit
    endpoint, boto3 honours AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL (LocalStack, moto)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        config=Config(retries={"mode": "adaptive", "max_attempts": 8}),
    )


class ZlibOrPlain(Compressor):
    """Event states compressed with zlib, so items stay under a write unit (1 KB) where they can
    (a stored reply of a payment is 1.3 KB of JSON, 0.6 KB compressed). Events stored before the
    compressor was configured are plain JSON and read back as they are."""

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, 6)

    def decompress(self, data: bytes) -> bytes:
        if data[:1] == b"{":  # plain JSON, written before compression was on
            return data
        return zlib.decompress(data)


def event_item(event: StoredEvent) -> dict[str, Any]:
    """A stored event as an events-table item."""
    return {
        "aggregate_id": {"S": str(event.originator_id)},
        "version": {"N": str(event.originator_version)},
        "topic": {"S": event.topic},
        "state": {"B": event.state},
        "recorded_at": {"S": _now()},
    }


def stored_event(item: dict[str, Any], *, uuid_ids: bool = True) -> StoredEvent:
    """An events-table item (from a query, a Scan, or a stream record's NewImage) as the
    library's stored event. Stream records carry binary attributes base64-encoded; boto3 gives
    bytes."""
    state = item["state"]["B"]
    if isinstance(state, str):
        state = base64.b64decode(state)
    originator_id = item["aggregate_id"]["S"]
    return StoredEvent(
        originator_id=UUID(originator_id) if uuid_ids else originator_id,
        originator_version=int(item["version"]["N"]),
        topic=item["topic"]["S"],
        state=bytes(state),
    )


class DynamoDBAggregateRecorder(AggregateRecorder):
    def __init__(self, client: Any, table: str, *, uuid_ids: bool = True) -> None:
        self.client = client
        self.table = table
        self.uuid_ids = uuid_ids

    # ----- writes ----------------------------------------------------------------------------
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        if len(stored_events) > MAX_TRANSACTION_ITEMS:
            msg = f"cannot save {len(stored_events)} events atomically (DynamoDB allows 100)"
            raise ProgrammingError(msg)
        # Always a transaction, even for one event: botocore gives each TransactWriteItems a
        # ClientRequestToken, so when a response is lost and the SDK retries, DynamoDB answers
        # the retry as the same request. A retried conditional PutItem would instead fail its
        # own condition and look like a conflict, and the command would run twice.
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": event_item(event),
                            "ConditionExpression": "attribute_not_exists(aggregate_id)",
                        }
                    }
                    for event in stored_events
                ]
            )
        except ClientError as error:
            raise self._translate(error) from error
        return None

    @staticmethod
    def _translate(error: ClientError) -> Exception:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in _CONFLICT_CODES:
            return IntegrityError(message or code)
        if code == "TransactionCanceledException":
            reasons = {r.get("Code") for r in error.response.get("CancellationReasons", [])}
            if reasons & {"ConditionalCheckFailed", "TransactionConflict"}:
                return IntegrityError(message or code)
            return PersistenceError(message or code)
        if code == "ValidationException" and "multiple operations on one item" in message:
            # Two events for the same aggregate version in one save.
            return IntegrityError(message)
        return PersistenceError(f"{code}: {message}")

    # ----- reads -----------------------------------------------------------------------------
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        condition = "aggregate_id = :id"
        values: dict[str, Any] = {":id": {"S": str(originator_id)}}
        if gt is not None and lte is not None:
            condition += " AND version BETWEEN :low AND :high"
            values[":low"] = {"N": str(gt + 1)}
            values[":high"] = {"N": str(lte)}
        elif gt is not None:
            condition += " AND version > :gt"
            values[":gt"] = {"N": str(gt)}
        elif lte is not None:
            condition += " AND version <= :lte"
            values[":lte"] = {"N": str(lte)}
        if gt is not None and lte is not None and lte <= gt:
            return []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not desc,
            "ConsistentRead": True,
        }
        events: list[StoredEvent] = []
        while True:
            if limit is not None:
                request["Limit"] = limit - len(events)
            try:
                page = self.client.query(**request)
            except ClientError as error:
                raise self._translate(error) from error
            items = page.get("Items", [])
            events += [stored_event(item, uuid_ids=self.uuid_ids) for item in items]
            if (limit is not None and len(events) >= limit) or "LastEvaluatedKey" not in page:
                return events
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class DynamoDBSnapshotRecorder(DynamoDBAggregateRecorder):
    """Snapshots are a cache of aggregate state: a later write of the same version may replace
    an earlier one, so writes here are unconditional."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        for snapshot in stored_events:
            try:
                self.client.put_item(TableName=self.table, Item=event_item(snapshot))
            except ClientError as error:
                raise self._translate(error) from error
        return None


class DynamoDBApplicationRecorder(DynamoDBAggregateRecorder, ApplicationRecorder):
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        msg = "DynamoDB has no application-wide event order; follow the table's stream"
        raise NoGlobalOrder(msg)

    def max_notification_id(self) -> int | None:
        msg = "DynamoDB has no application-wide event order; follow the table's stream"
        raise NoGlobalOrder(msg)

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        msg = "DynamoDB has no application-wide event order; follow the table's stream"
        raise NoGlobalOrder(msg)


class DynamoDBFactory(InfrastructureFactory[TrackingRecorder]):
    """Reads DYNAMODB_EVENTS_TABLE, DYNAMODB_SNAPSHOTS_TABLE, optional DYNAMODB_ENDPOINT_URL
    (else AWS_ENDPOINT_URL) and DYNAMODB_ORIGINATOR_ID_TYPE ('uuid', default, or 'text')."""

    EVENTS_TABLE = "DYNAMODB_EVENTS_TABLE"
    SNAPSHOTS_TABLE = "DYNAMODB_SNAPSHOTS_TABLE"
    ENDPOINT_URL = "DYNAMODB_ENDPOINT_URL"
    ORIGINATOR_ID_TYPE = "DYNAMODB_ORIGINATOR_ID_TYPE"

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        self.client = make_client(self.env.get(self.ENDPOINT_URL) or None)
        self.uuid_ids = (self.env.get(self.ORIGINATOR_ID_TYPE) or "uuid") == "uuid"

    def _table(self, name: str) -> str:
        table = self.env.get(name)
        if not table:
            msg = f"{name} must name a DynamoDB table"
            raise PersistenceError(msg)
        return table

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose == "snapshots":
            return DynamoDBSnapshotRecorder(
                self.client, self._table(self.SNAPSHOTS_TABLE), uuid_ids=self.uuid_ids
            )
        return DynamoDBAggregateRecorder(
            self.client, self._table(self.EVENTS_TABLE), uuid_ids=self.uuid_ids
        )

    def application_recorder(self) -> ApplicationRecorder:
        return DynamoDBApplicationRecorder(
            self.client, self._table(self.EVENTS_TABLE), uuid_ids=self.uuid_ids
        )

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        msg = "projections track positions in their own read-model tables"
        raise NotImplementedError(msg)

    def process_recorder(self) -> ProcessRecorder:
        msg = "process applications are not used with DynamoDB"
        raise NotImplementedError(msg)


EVENTS_KEY_SCHEMA = [
    {"AttributeName": "aggregate_id", "KeyType": "HASH"},
    {"AttributeName": "version", "KeyType": "RANGE"},
]
EVENTS_ATTRIBUTES = [
    {"AttributeName": "aggregate_id", "AttributeType": "S"},
    {"AttributeName": "version", "AttributeType": "N"},
]

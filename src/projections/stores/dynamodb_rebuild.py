"""Rebuild DynamoDB read models from the events table itself, not the stream (which keeps only
24 hours): a parallel Scan, grouped by aggregate and sorted by version, then the same
projection logic as the stream handler. Cross-aggregate results (balances, report rows) are sums,
so per-aggregate order is all the replay needs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.persistence import Mapper

from ledger.adapters.dynamodb_store import stored_event
from projections.logic import is_projected
from projections.store import TrackedChanges
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_stream import tracked


def _scan_segment(client: Any, table: str, segment: int, total: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": total,
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def histories(client: Any, events_table: str, segments: int = 4) -> Iterator[list[dict[str, Any]]]:
    """Each aggregate's items in version order."""
    with ThreadPoolExecutor(max_workers=segments) as pool:
        parts = pool.map(
            lambda s: _scan_segment(client, events_table, s, segments), range(segments)
        )
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for part in parts:
            for item in part:
                grouped[item["aggregate_id"]["S"]].append(item)
    for items in grouped.values():
        yield sorted(items, key=lambda item: int(item["version"]["N"]))


REBUILD_BATCH = 1000  # events a write batch: the counters of hot accounts sum over it


def rebuild(client: Any, events_table: str, mapper: Mapper[Any], store: DynamoDBReadModels) -> int:
    store.reset()
    applied = 0
    batch: list[TrackedChanges] = []
    for items in histories(client, events_table):
        events = [mapper.to_domain_event(stored_event(item)) for item in items]
        batch += [tracked(event) for event in events if is_projected(event)]
        if len(batch) >= REBUILD_BATCH:
            applied += store.apply(batch)
            batch = []
    return applied + (store.apply(batch) if batch else 0)

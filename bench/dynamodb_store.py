"""DynamoDB benchmarks on DynamoDB Local (AWS's own emulator), figures and ratios from one run.

1. Event store appends per second through the recorder, for single-event saves and 10-event
   saves (both one TransactWriteItems), next to raw boto3 calls (a conditional PutItem, and the
   same TransactWriteItems): the ratio is the recorder's overhead (target: within 25 %).
2. Projection: events applied per second by the same projection logic into the SQLite store
   and into the DynamoDB store (batches of 100, folded per aggregate and counter). Write units
   and costs a payment: bench.dynamodb_read_models.

    python -m bench.dynamodb_store [--appends N] [--payments N]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import StoredEvent
from tests.support.dynamodb_tables import create_ledger_tables
from tests.support.servers import dynamodb_local

from ledger.adapters.dynamodb_store import DynamoDBAggregateRecorder, make_client
from ledger.application.commands import manufacturers, refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import build
from ledger.settings import Settings
from projections.logic import is_projected
from projections.store import TrackedChanges
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_stream import tracked
from projections.stores.sqlite import SqliteReadModels

# On-demand prices, us-east-1, as published by AWS (DynamoDB after the November 2024 cut).
PRICE_PER_MILLION_WRITE_UNITS = 0.625
PRICE_PER_MILLION_READ_UNITS = 0.125
PRICE_PER_GB_SECOND_ARM = 0.0000133334
PRICE_PER_MILLION_REQUESTS = 0.20
PRICE_PER_MILLION_EVENTBRIDGE_EVENTS = 1.00
LAMBDA_MEMORY_GB = 0.5
STREAM_BATCH = 100

STATE = b'{"amount":10000,"currency":"USD","entry":[]}' + b" " * 250  # ~300 bytes, like a payment


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def _timed(block: Callable[[], object]) -> float:
    started = time.perf_counter()
    block()
    return time.perf_counter() - started


def _item(aggregate: uuid.UUID, version: int) -> dict[str, Any]:
    return {
        "aggregate_id": {"S": str(aggregate)},
        "version": {"N": str(version)},
        "topic": {"S": "ledger.domain.payment:Payment.Captured"},
        "state": {"B": STATE},
        "recorded_at": {"S": "2026-01-01T00:00:00.000000Z"},
    }


def appends(client: Any, table: str, saves: int, per_save: int) -> tuple[float, float]:
    """(recorder saves/s, raw saves/s), alternating blocks so drift hits both alike."""
    recorder = DynamoDBAggregateRecorder(client, table)
    recorder_time = raw_time = 0.0
    block = max(saves // 10, 1)
    for _ in range(10):
        ids = [uuid.uuid4() for _ in range(block)]

        def through_recorder(ids: list[uuid.UUID] = ids) -> None:
            for aggregate in ids:
                recorder.insert_events(
                    [
                        StoredEvent(
                            aggregate, version, "ledger.domain.payment:Payment.Captured", STATE
                        )
                        for version in range(1, per_save + 1)
                    ]
                )

        raw_ids = [uuid.uuid4() for _ in range(block)]

        def raw(ids: list[uuid.UUID] = raw_ids) -> None:
            for aggregate in ids:
                if per_save == 1:
                    client.put_item(
                        TableName=table,
                        Item=_item(aggregate, 1),
                        ConditionExpression="attribute_not_exists(aggregate_id)",
                    )
                else:
                    client.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": table,
                                    "Item": _item(aggregate, version),
                                    "ConditionExpression": "attribute_not_exists(aggregate_id)",
                                }
                            }
                            for version in range(1, per_save + 1)
                        ]
                    )

        raw_time += _timed(raw)
        recorder_time += _timed(through_recorder)
    total = block * 10
    return _rate(total, recorder_time), _rate(total, raw_time)


def history(payments: int) -> list[TrackedChanges]:
    """A realistic event history: payments split over two manufacturers, refunds, disputes."""
    container = build(Settings(persistence="popo"))
    service = container.engine
    makers = []
    for fee, policy in ((250, "refund_fee"), (100, "keep_fee")):
        manufacturer = service.execute(
            manufacturers.register(
                SYSTEM,
                {
                    "name": "M",
                    "fee_bps": fee,
                    "refund_fee_policy": policy,
                    "payout_approval_threshold": {},
                    "payout_approvals_required": 0,
                },
            )
        )
        makers.append(f"mfr_{manufacturer.id.hex}")
    for index in range(payments):
        payment = service.execute(
            payments.create(
                SYSTEM,
                {
                    "amount": 10_000,
                    "currency": "USD",
                    "customer_id": "c",
                    "provider": "sandbox",
                    "payment_method": "pm",
                    "capture_method": "automatic",
                    "splits": [
                        {"manufacturer_id": makers[0], "amount": 6000},
                        {"manufacturer_id": makers[1], "amount": 4000},
                    ],
                },
            )
        )
        if index % 3 == 0:
            service.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 1234, None))
    items = []
    for notification in service.recorder.select_notifications(start=1, limit=10**7):
        event: Any = service.mapper.to_domain_event(notification)
        if is_projected(event):
            items.append(tracked(event))
    container.close()
    return items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--appends", type=int, default=1000, help="single-event saves")
    parser.add_argument("--payments", type=int, default=300, help="payments in the history")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print("DynamoDB benchmarks on DynamoDB Local (loopback only)")
    print(
        f"  machine : {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )
    with dynamodb_local() as endpoint:
        client = make_client(endpoint)
        tables = create_ledger_tables(endpoint, f"bench{uuid.uuid4().hex[:8]}")
        print("\n1. Event store appends")
        print(f"{'save':<18}{'recorder/s':>12}{'raw/s':>10}{'events/s':>10}{'overhead':>10}")
        for per_save, saves in ((1, args.appends), (10, max(args.appends // 5, 10))):
            ours, raw = appends(client, tables["events"], saves, per_save)
            overhead = (raw / ours - 1) * 100
            print(
                f"{per_save:>2}-event saves    {ours:>12.0f}{raw:>10.0f}"
                f"{ours * per_save:>10.0f}{overhead:>9.1f}%"
            )

        print("\n2. Projection (same logic; DynamoDB: batches of 100, folded)")
        items = history(args.payments)
        with tempfile.TemporaryDirectory() as folder:
            sqlite_store = SqliteReadModels(f"{folder}/rm.sqlite3")
            sqlite_seconds = _timed(lambda: [sqlite_store.apply([item], None) for item in items])
            sqlite_store.close()
        dynamo_store = DynamoDBReadModels(client, tables["read_models"])
        batches = [items[i : i + STREAM_BATCH] for i in range(0, len(items), STREAM_BATCH)]
        dynamo_seconds = _timed(lambda: [dynamo_store.apply(batch) for batch in batches])
        print(f"  events in history        : {len(items)} ({args.payments} payments)")
        print(f"  SQLite store             : {_rate(len(items), sqlite_seconds):8.0f} events/s")
        print(f"  DynamoDB Local store     : {_rate(len(items), dynamo_seconds):8.0f} events/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

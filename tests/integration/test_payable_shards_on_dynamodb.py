"""One manufacturer's captures no longer queue behind one aggregate (issue 10): on DynamoDB Local,
concurrent captures from several application instances write the payable shards of their own
payments, and payouts racing them across shards never reserve more than is available."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest

from ledger.adapters.sandbox import SandboxProvider
from ledger.application.commands import payments, payouts
from ledger.application.engine import Engine
from ledger.application.principal import SYSTEM
from ledger.application.queries import payable
from ledger.domain.errors import DomainError
from ledger.domain.payable import SHARDS, ManufacturerPayable
from tests.integration.test_dynamodb_store import create_tables
from tests.support.seed import register

pytestmark = pytest.mark.integration


def _engine(endpoint: str, tables: tuple[str, str]) -> Engine:
    return Engine(
        env={
            "PERSISTENCE_MODULE": "ledger.adapters.dynamodb_store",
            "DYNAMODB_EVENTS_TABLE": tables[0],
            "DYNAMODB_SNAPSHOTS_TABLE": tables[1],
            "DYNAMODB_ENDPOINT_URL": endpoint,
        },
        providers={"sandbox": SandboxProvider()},
    )


def _capture(engine: Engine, manufacturer: str, amount: int) -> Any:
    return engine.execute(
        payments.create(
            SYSTEM,
            {
                "amount": amount,
                "currency": "USD",
                "customer_id": "c",
                "provider": "sandbox",
                "payment_method": "pm",
                "capture_method": "automatic",
                "splits": [{"manufacturer_id": manufacturer, "amount": amount}],
            },
        )
    )


def test_concurrent_captures_and_payouts_for_one_manufacturer(dynamodb_endpoint: str) -> None:
    tables = create_tables(dynamodb_endpoint, f"t{uuid.uuid4().hex[:12]}")
    first = _engine(dynamodb_endpoint, tables)
    registered = register(first, fee_bps=0, refund_fee_policy="refund_fee")
    manufacturer = f"mfr_{registered.id.hex}"
    _capture(first, manufacturer, 1000)  # something to pay out from the start
    instances = [_engine(dynamodb_endpoint, tables) for _ in range(4)]
    captured: list[str] = []
    reserved: list[int] = []
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(8)

    def capture(worker: int) -> None:
        start.wait()
        for _ in range(6):
            payment = _capture(instances[worker % 4], manufacturer, 500)
            with lock:
                captured.append(str(payment.id))

    def pay_out(worker: int) -> None:
        start.wait()
        for _ in range(4):
            try:
                instances[worker % 4].execute(payouts.request(SYSTEM, manufacturer, 700, "USD"))
            except DomainError as error:
                with lock:
                    refused[error.code] += 1
                continue
            with lock:
                reserved.append(700)

    threads = [threading.Thread(target=capture, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=pay_out, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    final = payable(_engine(dynamodb_endpoint, tables), manufacturer, "USD")
    assert final is not None
    assert len(captured) == 24
    assert final.balance == 1000 + 24 * 500
    assert final.reserved == sum(reserved)
    assert final.available >= 0  # no interleaving reserved more than there was
    assert set(refused) <= {"insufficient-balance"}
    assert len(reserved) + sum(refused.values()) == 16

    # The captures wrote the shards of their own payments: many distinct aggregates, so one
    # manufacturer's captures are not one version sequence.
    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint)
    writes = Counter[str]()
    for shard in range(SHARDS):
        shard_id = str(ManufacturerPayable.create_id(manufacturer, "USD", shard))
        items = client.query(
            TableName=tables[0],
            KeyConditionExpression="aggregate_id = :id",
            ExpressionAttributeValues={":id": {"S": shard_id}},
        )["Items"]
        posted = [i for i in items if i["topic"]["S"].endswith("ManufacturerPayable.Posted")]
        if posted:
            writes[shard_id] = len(posted)
    assert sum(writes.values()) == 25  # every capture posted once, on one shard
    assert len(writes) >= 8  # spread: no single payable aggregate took them all

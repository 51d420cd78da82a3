"""Moving a stack from the old read-model layout (a tracking item per aggregate, ix# index
items, balance shards in one partition, a posting item per posting) to the new one:
`ledger projections rebuild` empties the table and replays the events table into the new
layout; the stream, resumed afterwards, redelivers what the rebuild already counted and changes
nothing, then projects what is new (docs: README, "Upgrading the read models")."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.adapters.dynamodb_store import make_client
from ledger.bootstrap import Container, build
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_stream import StreamProjector
from tests.support.dynamodb_tables import (
    create_ledger_tables,
    create_read_models_table,
    ledger_settings,
    read_stream,
)
from tests.support.lambda_events import projection_batch
from tests.support.seed import create_payment, register

pytestmark = pytest.mark.integration

OLD_LAYOUT = [  # what the transactional layout wrote, one of each kind
    {"pk": {"S": "tracking#8d0f1c2e"}, "sk": {"S": "v"}, "version": {"N": "3"}},
    {"pk": {"S": "ix#payments#2026-01-05"}, "sk": {"S": "2026-01-05T10:00:00Z#p"}},
    {
        "pk": {"S": "balance#platform:revenue:fees#USD"},
        "sk": {"S": "shard#03"},
        "account": {"S": "platform:revenue:fees"},
        "currency": {"S": "USD"},
        "credits": {"N": "999"},
    },
    {"pk": {"S": "posting#platform:revenue:fees#USD"}, "sk": {"S": "2026#x"}, "amount": {"N": "1"}},
]


@pytest.fixture
def stack(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    tables = create_ledger_tables(dynamodb_endpoint, f"u{uuid.uuid4().hex[:10]}")
    container = build(ledger_settings(tables))
    yield {"tables": tables, "container": container, "endpoint": dynamodb_endpoint}
    container.close()


def _payments(container: Container, count: int) -> None:
    engine = container.engine
    maker = register(engine, name="A", fee_bps=250, refund_fee_policy="refund_fee")
    for index in range(count):
        create_payment(engine, f"mfr_{maker.id.hex}", 1000 + index)


def _project(container: Container, store: DynamoDBReadModels, records: list[Any], arn: str) -> None:
    projector = StreamProjector(container.engine.mapper, store)
    assert projector.apply_batch(projection_batch(records, arn)).failed == []


def _new_records(stack: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    records = [
        r
        for r in read_stream(stack["endpoint"], stack["tables"]["stream_arn"])
        if r["dynamodb"]["SequenceNumber"] not in seen
    ]
    seen.update(r["dynamodb"]["SequenceNumber"] for r in records)
    return records


def test_rebuild_moves_the_old_layout_to_the_new_and_the_stream_resumes(
    stack: dict[str, Any],
) -> None:
    container: Container = stack["container"]
    tables, arn = stack["tables"], stack["tables"]["stream_arn"]
    client = make_client(stack["endpoint"])
    _payments(container, 3)
    seen: set[str] = set()
    before = _new_records(stack, seen)
    for item in OLD_LAYOUT:
        client.put_item(TableName=tables["read_models"], Item=item)
    store: DynamoDBReadModels = container.read_models  # type: ignore[assignment]
    # A warm projections function, which registered its shard before the rebuild.
    _project(container, store, before, arn)

    # The reference: the same events streamed into an empty table of the new layout.
    reference_table = f"{tables['read_models']}-ref"
    create_read_models_table(stack["endpoint"], reference_table)
    reference = DynamoDBReadModels(client, reference_table)
    _project(container, reference, before, arn)

    env = {
        **os.environ,
        "LEDGER_PERSISTENCE": "dynamodb",
        "LEDGER_EVENTS_TABLE": tables["events"],
        "LEDGER_SNAPSHOTS_TABLE": tables["snapshots"],
        "LEDGER_READ_MODELS_TABLE": tables["read_models"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "projections", "rebuild"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pks = {item["pk"]["S"] for item in client.scan(TableName=tables["read_models"])["Items"]}
    assert not {pk for pk in pks if pk.startswith(("tracking#", "ix#", "balance#", "posting#"))}
    assert store.dump() == reference.dump()

    # The stream resumes from its checkpoint: what the rebuild counted is not counted again.
    _project(container, store, before, arn)
    assert store.dump() == reference.dump()
    _payments(container, 2)
    after = _new_records(stack, seen)
    _project(container, store, after, arn)
    _project(container, reference, after, arn)
    assert store.dump() == reference.dump()
    fees = store.balance("platform:revenue:fees", "USD", None)
    assert fees == reference.balance("platform:revenue:fees", "USD", None)
    assert fees[1] > 0

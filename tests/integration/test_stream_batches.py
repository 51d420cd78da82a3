"""Stream batches into the DynamoDB read models on DynamoDB Local, as Lambda delivers them: a
batch redelivered whole, a retried batch overlapping the one before, a gap that fails only its
own record, and a stream shard split whose parent and children each keep their own counters. The
reference is the same records applied once, as one batch of one shard."""

from __future__ import annotations

import copy
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from ledger.adapters.dynamodb_store import make_client
from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import Container, build
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_stream import MissingShard, ShardFinder, StreamProjector
from tests.support.dynamodb_tables import (
    create_ledger_tables,
    create_read_models_table,
    ledger_settings,
    read_stream,
)
from tests.support.lambda_events import projection_batch, stream_batch
from tests.support.seed import create_payment, register

pytestmark = pytest.mark.integration

Project = Callable[[list[dict[str, Any]], str], list[str]]


@pytest.fixture(scope="module")
def recorded(dynamodb_endpoint: str) -> Iterator[tuple[Container, list[dict[str, Any]], str]]:
    """A small ledger on DynamoDB Local: two manufacturers, payments split and not, refunds."""
    tables = create_ledger_tables(dynamodb_endpoint, f"s{uuid.uuid4().hex[:10]}")
    settings = ledger_settings(tables)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
        container = build(settings)
        engine = container.engine
    a = f"mfr_{register(engine, name='A', fee_bps=250, refund_fee_policy='refund_fee').id.hex}"
    b = f"mfr_{register(engine, name='B', fee_bps=100, refund_fee_policy='keep_fee').id.hex}"
    for index in range(4):
        shared = [{"manufacturer_id": a, "amount": 600}, {"manufacturer_id": b, "amount": 400}]
        payment = create_payment(engine, a, 1000, splits=shared)
        create_payment(engine, b, 500 + index)
        engine.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 100 + index, None))
    records = [
        record
        for record in read_stream(dynamodb_endpoint, tables["stream_arn"])
        if "topic" in record["dynamodb"].get("NewImage", {})
    ]
    yield container, records, tables["stream_arn"]
    container.close()


@pytest.fixture
def new_store(
    dynamodb_endpoint: str, recorded: tuple[Container, list[dict[str, Any]], str]
) -> Iterator[Callable[[], tuple[DynamoDBReadModels, Project]]]:
    container, _, stream_arn = recorded
    client = make_client(dynamodb_endpoint)
    made: list[str] = []

    def make() -> tuple[DynamoDBReadModels, Project]:
        made.append(f"b{uuid.uuid4().hex[:12]}-read-models")
        create_read_models_table(dynamodb_endpoint, made[-1])
        store = DynamoDBReadModels(client, made[-1])
        projector = StreamProjector(container.engine.mapper, store)

        def project(records: list[dict[str, Any]], shard: str) -> list[str]:
            result = projector.apply_batch(projection_batch(records, stream_arn, shard))
            return result.failed

        return store, project

    yield make
    for table in made:
        client.delete_table(TableName=table)


def _topic(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["NewImage"]["topic"]["S"])


def _aggregate(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["aggregate_id"]["S"])


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@pytest.fixture
def reference(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
) -> dict[str, list[Any]]:
    store, project = new_store()
    assert project(recorded[1], "shardId-one") == []
    dump = store.dump()
    assert dump["balances"]
    assert dump["postings"]
    assert dump["report_days"]
    assert dump["statement_lines"]
    return dump


def test_a_redelivered_batch_changes_nothing(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
) -> None:
    store, project = new_store()
    records = recorded[1]
    assert project(records, "shardId-one") == []
    assert project(records, "shardId-one") == []
    assert store.dump() == reference


def test_an_overlapping_retried_batch_applies_each_record_once(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
) -> None:
    store, project = new_store()
    records = recorded[1]
    third = len(records) // 3
    assert project(records[: 2 * third], "shardId-one") == []
    # Lambda retries from a record inside the batch before: some records a second time.
    assert project(records[third:], "shardId-one") == []
    assert store.dump() == reference
    balances = {(row[1], row[0]): row[2] - row[3] for row in store.dump()["balances"]}
    assert sum(balances.values()) == 0


def test_a_gap_fails_only_its_own_record(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
) -> None:
    """The first event of one payment is missing from the batch: the payment's next record is
    reported, every other aggregate's records are applied, and once the stream redelivers
    from the reported record (after the missing one has arrived) all is as if in order."""
    store, project = new_store()
    records = recorded[1]
    initiated = [r for r in records if _topic(r).endswith(":Payment.Initiated")]
    missing = initiated[-1]
    payment = _aggregate(missing)
    later = [r for r in records if _aggregate(r) == payment and r is not missing]
    parent, child = [missing], [r for r in records if r is not missing]
    assert project(child, "shardId-child") == [_sequence(later[0])]
    others = [r for r in initiated if r is not missing]
    listed = store.payments(
        manufacturer_id=None,
        status=None,
        created_from=None,
        created_to=None,
        cursor=None,
        limit=100,
    )
    assert {row["payment_id"] for row in listed.rows} == {
        f"pay_{uuid.UUID(_aggregate(r)).hex}" for r in others
    }
    assert project(parent, "shardId-parent") == []
    redelivered = child[child.index(later[0]) :]
    assert project(redelivered, "shardId-child") == []
    assert store.dump() == reference


def test_a_shard_split_keeps_parent_and_child_counters_apart_and_sums_them(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
) -> None:
    """The parent shard's records come first; after the split each aggregate's records go to
    one of two children (by its key), processed concurrently in any order, one retried."""
    store, project = new_store()
    records = recorded[1]
    half = len(records) // 2
    parent, rest = records[:half], records[half:]
    children: dict[str, list[dict[str, Any]]] = {"shardId-child-a": [], "shardId-child-b": []}
    for record in rest:
        lane = (
            "shardId-child-a" if zlib.crc32(_aggregate(record).encode()) % 2 else "shardId-child-b"
        )
        children[lane].append(record)
    assert all(children.values())
    assert project(parent, "shardId-parent") == []
    assert project(children["shardId-child-b"], "shardId-child-b") == []
    assert project(children["shardId-child-a"], "shardId-child-a") == []
    assert project(children["shardId-child-a"][1:], "shardId-child-a") == []  # a retry
    assert store.dump() == reference
    platform = "platform:revenue:fees"
    lanes = store.lanes(f"reg#acct#{platform}#USD")
    assert len(lanes) >= 2
    assert set(lanes) <= {"shardId-parent", "shardId-child-a", "shardId-child-b"}
    assert store.balance(platform, "USD", None) == next(
        (d, c) for cur, account, d, c in reference["balances"] if account == platform
    )


def test_a_batch_without_its_shard_is_placed_by_the_streams_description(
    dynamodb_endpoint: str,
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
) -> None:
    """An emulator's mapping without a tumbling window sends no shardId: the one shard whose
    sequence numbers hold the batch's is found in DescribeStream; none found is refused."""
    container, records, stream_arn = recorded
    store, _ = new_store()
    streams = boto3.client("dynamodbstreams", endpoint_url=dynamodb_endpoint)
    (shard,) = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    projector = StreamProjector(
        container.engine.mapper, store, shard_of=ShardFinder(lambda: streams)
    )
    assert projector.apply_batch(stream_batch(records, stream_arn)).failed == []
    assert store.dump() == reference
    assert store.lanes("reg#acct#platform:revenue:fees#USD") == [shard["ShardId"]]
    with pytest.raises(MissingShard):
        StreamProjector(container.engine.mapper, store).apply_batch(
            stream_batch(records, stream_arn)
        )


@pytest.mark.parametrize(
    ("crash", "at_call"), [("_commit", 3), ("_counters_and_chunks", 1), ("_chunk", 3)]
)
def test_a_batch_cut_short_by_a_crash_applies_once_when_retried(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
    reference: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    crash: str,
    at_call: int,
) -> None:
    """The function dies part way through a batch (after some rows and before their home row,
    after the rows before the counters, between chunk writes); Lambda retries the batch whole:
    each record counts once."""
    store, project = new_store()
    records = recorded[1]
    writer = store.writer
    real = getattr(writer, crash)
    calls = {"n": 0}

    def dies_once_midway(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == at_call:
            raise RuntimeError("the function timed out")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, crash, dies_once_midway)
    try:
        failed = project(records, "shardId-one")
    except RuntimeError:
        failed = [_sequence(records[0])]  # the handler failed: the whole batch comes again
    assert failed
    monkeypatch.setattr(writer, crash, real)
    assert project(records, "shardId-one") == []
    assert store.dump() == reference


def test_an_undecodable_record_is_reported_and_nothing_after_it_is_applied(
    recorded: tuple[Container, list[dict[str, Any]], str],
    new_store: Callable[[], tuple[DynamoDBReadModels, Project]],
) -> None:
    """Lambda redelivers from a reported record on: the records after it wait for that."""
    records = recorded[1]
    cut = next(
        i for i in range(len(records) // 2, len(records)) if ":Payment." in _topic(records[i])
    )
    broken = copy.deepcopy(records[cut])
    broken["dynamodb"]["NewImage"]["state"] = {"B": b"not an event"}
    store, project = new_store()
    assert project([*records[:cut], broken, *records[cut + 1 :]], "shardId-one") == [
        _sequence(broken)
    ]
    before_it, project_before = new_store()
    assert project_before(records[:cut], "shardId-one") == []
    assert store.dump() == before_it.dump()

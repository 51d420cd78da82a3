"""The DynamoDB event store against DynamoDB Local: the library's own recorder test cases, the
application on top of it, and concurrent refunds that never over-refund."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest
import urllib3
from botocore.awsrequest import AWSResponse
from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.tests.persistence import AggregateRecorderTestCase

from ledger.adapters.dynamodb_store import (
    EVENTS_ATTRIBUTES,
    EVENTS_KEY_SCHEMA,
    DynamoDBAggregateRecorder,
    DynamoDBApplicationRecorder,
    NoGlobalOrder,
    make_client,
)
from ledger.adapters.sandbox import SandboxProvider
from ledger.application.commands import refunds
from ledger.application.engine import Engine
from ledger.application.principal import SYSTEM
from ledger.application.processes.execution import execute_refund
from ledger.domain.errors import DomainError
from ledger.domain.payment import Payment
from tests.support.seed import create_payment, register

pytestmark = pytest.mark.integration


def create_tables(endpoint: str, prefix: str) -> tuple[str, str]:
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    names = (f"{prefix}-events", f"{prefix}-snapshots")
    for name in names:
        client.create_table(
            TableName=name,
            KeySchema=EVENTS_KEY_SCHEMA,
            AttributeDefinitions=EVENTS_ATTRIBUTES,
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    return names


@pytest.fixture
def tables(dynamodb_endpoint: str) -> tuple[str, str]:
    return create_tables(dynamodb_endpoint, f"t{uuid.uuid4().hex[:12]}")


@pytest.fixture
def endpoint_on_class(request: pytest.FixtureRequest, dynamodb_endpoint: str) -> None:
    request.cls.endpoint = dynamodb_endpoint


@pytest.mark.usefixtures("endpoint_on_class")
class TestLibraryRecorderCases(AggregateRecorderTestCase):
    """The library's own AggregateRecorder test case. Its ApplicationRecorder cases assert a
    gap-free, application-wide notification order, which DynamoDB does not provide and the
    ledger's projections do not need (they follow per-aggregate order); they are not run."""

    endpoint = ""

    def create_recorder(self) -> AggregateRecorder:
        table, _ = create_tables(self.endpoint, f"c{uuid.uuid4().hex[:12]}")
        return DynamoDBAggregateRecorder(make_client(self.endpoint), table)


def _event(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="t", state=b"s")


def test_a_multi_aggregate_save_is_all_or_nothing(
    dynamodb_endpoint: str, tables: tuple[str, str]
) -> None:
    recorder = DynamoDBAggregateRecorder(make_client(dynamodb_endpoint), tables[0])
    a, b = uuid.uuid4(), uuid.uuid4()
    recorder.insert_events([_event(b, 1)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([_event(a, 1), _event(a, 2), _event(b, 1)])
    assert recorder.select_events(a) == []
    with pytest.raises(ProgrammingError):
        recorder.insert_events([_event(a, v) for v in range(1, 102)])
    assert recorder.select_events(a) == []


def test_long_histories_page_through_query_results(
    dynamodb_endpoint: str, tables: tuple[str, str]
) -> None:
    recorder = DynamoDBAggregateRecorder(make_client(dynamodb_endpoint), tables[0])
    a = uuid.uuid4()
    for version in range(1, 6):  # 5 x 300 KB: more than one 1 MB query page
        recorder.insert_events(
            [
                StoredEvent(
                    originator_id=a, originator_version=version, topic="t", state=b"x" * 300_000
                )
            ]
        )
    assert [e.originator_version for e in recorder.select_events(a)] == [1, 2, 3, 4, 5]
    assert [e.originator_version for e in recorder.select_events(a, desc=True, limit=2)] == [5, 4]
    assert [e.originator_version for e in recorder.select_events(a, gt=1, lte=4)] == [2, 3, 4]
    assert recorder.select_events(a, gt=4, lte=4) == []


def test_there_is_no_global_order(dynamodb_endpoint: str, tables: tuple[str, str]) -> None:
    recorder = DynamoDBApplicationRecorder(make_client(dynamodb_endpoint), tables[0])
    with pytest.raises(NoGlobalOrder):
        recorder.select_notifications(start=1, limit=10)


def _service(endpoint: str, tables: tuple[str, str]) -> Engine:
    return Engine(
        env={
            "PERSISTENCE_MODULE": "ledger.adapters.dynamodb_store",
            "DYNAMODB_EVENTS_TABLE": tables[0],
            "DYNAMODB_SNAPSHOTS_TABLE": tables[1],
            "DYNAMODB_ENDPOINT_URL": endpoint,
        },
        providers={"sandbox": SandboxProvider()},
    )


def _payment(service: Engine, amount: int) -> str:
    manufacturer = register(service, fee_bps=250, refund_fee_policy="refund_fee")
    payment = create_payment(service, f"mfr_{manufacturer.id.hex}", amount)
    return f"pay_{payment.id.hex}"


def test_the_ledger_runs_on_dynamodb(dynamodb_endpoint: str, tables: tuple[str, str]) -> None:
    service = _service(dynamodb_endpoint, tables)
    payment_id = _payment(service, 1000)
    refund = service.execute(refunds.request(SYSTEM, payment_id, 400, None))
    # What the refund-execution worker does with the message: execute it once, then no more.
    assert execute_refund(service, refund[1]) == "succeeded"
    assert execute_refund(_service(dynamodb_endpoint, tables), refund[1]) == "skipped"
    fresh = _service(dynamodb_endpoint, tables).find(Payment, "payment", payment_id)
    assert fresh.amount_refunded == 400
    assert fresh.refunds[refund[1]]["status"] == "succeeded"
    assert [type(e).__name__ for e in service.events.get(fresh.id)] == [
        "Initiated",
        "Authorized",
        "Captured",
        "RefundRequested",
        "RefundSucceeded",
    ]


def test_concurrent_refunds_never_over_refund_on_dynamodb(
    dynamodb_endpoint: str, tables: tuple[str, str]
) -> None:
    payment_id = _payment(_service(dynamodb_endpoint, tables), 10_000)
    instances = [_service(dynamodb_endpoint, tables) for _ in range(4)]
    outcomes: Counter[str] = Counter()
    acknowledged: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def refund(worker: int) -> None:
        service = instances[worker % len(instances)]
        start.wait()
        for _ in range(8):
            try:
                _, refund_id = service.execute(refunds.request(SYSTEM, payment_id, 1000, None))
                result = "ok"
                with lock:
                    acknowledged.append(refund_id)
            except DomainError as error:
                result = error.code
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    payment = _service(dynamodb_endpoint, tables).find(Payment, "payment", payment_id)
    assert outcomes["ok"] == 10, outcomes
    assert outcomes["exceeds-refundable"] == 86, outcomes
    assert payment.amount_refunded == 10_000
    assert sorted(payment.refunds) == sorted(acknowledged)  # nothing acknowledged was lost


def test_a_lost_response_retried_by_the_sdk_does_not_save_twice(
    dynamodb_endpoint: str, tables: tuple[str, str]
) -> None:
    """The first TransactWriteItems reaches DynamoDB but its response is lost (HTTP 500): the
    SDK retries with the same ClientRequestToken and DynamoDB answers it as the same request,
    so the command neither fails as a conflict nor runs again."""
    service = _service(dynamodb_endpoint, tables)
    client = service.recorder.client  # type: ignore[attr-defined]
    pool = urllib3.PoolManager()
    dropped: list[int] = []

    def lose_first_response(request: Any, **_: Any) -> Any:
        if dropped:
            return None
        answer = pool.request(
            request.method, request.url, body=request.body, headers=dict(request.headers)
        )
        dropped.append(answer.status)
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError"}'
        raw = type("Raw", (), {"stream": lambda self, **_: iter([body])})()
        return AWSResponse(request.url, 500, {}, raw)

    client.meta.events.register("before-send.dynamodb.TransactWriteItems", lose_first_response)
    manufacturer = register(service, fee_bps=0, refund_fee_policy="keep_fee")
    assert dropped == [200]  # the first attempt did reach DynamoDB
    items = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint).scan(TableName=tables[0])[
        "Items"
    ]
    registered = [i for i in items if i["topic"]["S"].endswith("Manufacturer.Registered")]
    assert len(registered) == 1
    assert registered[0]["aggregate_id"]["S"] == str(manufacturer.id)

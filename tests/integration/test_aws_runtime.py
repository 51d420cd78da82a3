"""The AWS runtime on DynamoDB Local: the `api` Lambda through Mangum with API Gateway v2 events,
the real DynamoDB Stream read with boto3 and fed to the `projections` Lambda in Lambda-shaped
batches, and the rebuild from the events table."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ledger.application.processes.execution import execute_refund
from ledger.bootstrap import Container, build
from ledger.lambdas import api as api_lambda
from ledger.lambdas import projections as projections_lambda
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_rebuild import rebuild
from projections.stores.dynamodb_stream import StreamProjector
from tests.support.dynamodb_tables import create_ledger_tables, ledger_settings, read_stream
from tests.support.lambda_events import PROJECTED, LambdaContext, http_api_event, projection_batch

pytestmark = pytest.mark.integration


@pytest.fixture
def aws(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LedgerTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ledger")
    tables = create_ledger_tables(dynamodb_endpoint, f"r{uuid.uuid4().hex[:10]}")
    container = build(ledger_settings(tables))
    yield {"tables": tables, "container": container, "endpoint": dynamodb_endpoint}
    container.close()


class ApiClient:
    def __init__(self, container: Container, key: str) -> None:
        self.handler = api_lambda.make_handler(container)
        self.headers = {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        response = self.handler(
            http_api_event(method, path, body=body, headers={**self.headers, **headers}),
            LambdaContext(),
        )
        raw = response["body"]
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        return response["statusCode"], json.loads(raw) if raw else None


def _read_models(store: DynamoDBReadModels) -> dict[str, list[Any]]:
    """What the read models hold (the projector's heartbeat is not in it)."""
    return store.dump()


def _project(aws: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    container = aws["container"]
    projector = StreamProjector(container.engine.mapper, container.read_models)
    handle = projections_lambda.make_handler(projector)
    return handle(projection_batch(records, aws["tables"]["stream_arn"]), LambdaContext())


def test_api_lambda_records_events_and_streams_project_them(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    container: Container = aws["container"]
    secret, _ = container.keys.create(["admin"])
    api = ApiClient(container, secret)
    status, manufacturer = api.call(
        "POST",
        "/v1/manufacturers",
        {"name": "Acme", "fee_bps": 250, "refund_fee_policy": "refund_fee"},
    )
    assert status == 201
    m = manufacturer["id"]
    payment_body = {
        "amount": 10_000,
        "currency": "USD",
        "customer_id": "c",
        "payment_method": "pm",
        "splits": [{"manufacturer_id": m, "amount": 10_000}],
    }
    status, payment = api.call("POST", "/v1/payments", payment_body, **{"Idempotency-Key": "p1"})
    assert status == 201
    assert payment["status"] == "captured"
    replay_status, replay = api.call(
        "POST", "/v1/payments", payment_body, **{"Idempotency-Key": "p1"}
    )
    assert (replay_status, replay) == (201, payment)
    status, refund = api.call(
        "POST",
        f"/v1/payments/{payment['id']}/refunds",
        {"amount": 2500},
        **{"Idempotency-Key": "r1"},
    )
    assert status == 201
    assert refund["status"] == "pending"  # booked; the refund-execution worker executes it
    assert execute_refund(container.engine, refund["id"]) == "succeeded"
    status, settled = api.call("GET", f"/v1/refunds/{refund['id']}")
    assert settled["status"] == "succeeded"
    status, fetched = api.call("GET", f"/v1/payments/{payment['id']}")
    assert fetched["amount_refunded"] == 2500
    status, _ = api.call(
        "POST", "/v1/payments", {**payment_body, "amount": 1.5}, **{"Idempotency-Key": "p2"}
    )
    assert status == 422

    records = read_stream(aws["endpoint"], aws["tables"]["stream_arn"])
    assert records, "the events table's stream carries the new events"
    response = _project(aws, records)
    assert response == PROJECTED
    emitted = capsys.readouterr().out
    assert '"EventsProjected"' in emitted  # EMF metrics were flushed
    assert '"PaymentsCaptured"' in emitted
    assert '"ProjectionLag"' in emitted

    handler = api_lambda.make_handler(container)
    raw = handler(
        http_api_event(
            "GET",
            f"/v1/accounts/manufacturer:{m}:payable/balance",
            headers=api.headers,
            query={"currency": "USD"},
        ),
        LambdaContext(),
    )
    balance = json.loads(raw["body"])
    assert balance["balance"] == -(9750 - 2438)
    assert balance["freshness"]["source"] == "dynamodb-stream"
    assert balance["freshness"]["last_event_at"] is not None

    store: DynamoDBReadModels = container.read_models  # type: ignore[assignment]
    trial = store.trial_balance(None)
    assert sum(row["debits"] - row["credits"] for row in trial) == 0
    fees = [row for row in trial if row["account"] == "platform:revenue:fees"]
    assert fees[0]["credits"] - fees[0]["debits"] == 250 - 62

    before = _read_models(store)
    # Redelivery of the whole batch, and of a half batch, changes nothing.
    assert _project(aws, records) == PROJECTED
    assert _project(aws, records[: len(records) // 2]) == PROJECTED
    assert _read_models(store) == before


def test_a_record_before_its_predecessor_is_reported_failed(aws: dict[str, Any]) -> None:
    container: Container = aws["container"]
    secret, _ = container.keys.create(["admin"])
    api = ApiClient(container, secret)
    _, manufacturer = api.call("POST", "/v1/manufacturers", {"name": "A", "fee_bps": 0})
    body = {
        "amount": 100,
        "currency": "EUR",
        "customer_id": "c",
        "payment_method": "pm",
        "splits": [{"manufacturer_id": manufacturer["id"], "amount": 100}],
    }
    api.call("POST", "/v1/payments", body, **{"Idempotency-Key": "k"})
    records = read_stream(aws["endpoint"], aws["tables"]["stream_arn"])
    payment_records = [r for r in records if "Payment." in r["dynamodb"]["NewImage"]["topic"]["S"]]
    later = payment_records[1]
    response = _project(aws, [later])
    assert response == {
        "batchItemFailures": [{"itemIdentifier": later["dynamodb"]["SequenceNumber"]}],
        "state": {},
    }
    assert _project(aws, records) == PROJECTED


def test_rebuild_from_the_events_table_equals_the_stream_projection(aws: dict[str, Any]) -> None:
    container: Container = aws["container"]
    secret, _ = container.keys.create(["admin"])
    api = ApiClient(container, secret)
    _, m1 = api.call("POST", "/v1/manufacturers", {"name": "A", "fee_bps": 300})
    _, m2 = api.call(
        "POST", "/v1/manufacturers", {"name": "B", "fee_bps": 100, "refund_fee_policy": "keep_fee"}
    )
    for index in range(5):
        body = {
            "amount": 1000 + index,
            "currency": "USD",
            "customer_id": "c",
            "payment_method": "pm",
            "splits": [
                {"manufacturer_id": m1["id"], "amount": 600},
                {"manufacturer_id": m2["id"], "amount": 400 + index},
            ],
        }
        _, payment = api.call("POST", "/v1/payments", body, **{"Idempotency-Key": f"p{index}"})
        api.call(
            "POST",
            f"/v1/payments/{payment['id']}/refunds",
            {"amount": 77 + index},
            **{"Idempotency-Key": f"r{index}"},
        )
    _project(aws, read_stream(aws["endpoint"], aws["tables"]["stream_arn"]))
    store: DynamoDBReadModels = container.read_models  # type: ignore[assignment]
    incremental = _read_models(store)
    client = boto3.client("dynamodb", endpoint_url=aws["endpoint"])
    applied = rebuild(client, aws["tables"]["events"], container.engine.mapper, store)
    assert applied > 0
    rebuilt = _read_models(store)
    assert rebuilt == incremental


def test_keys_create_works_against_dynamodb(aws: dict[str, Any]) -> None:
    tables = aws["tables"]
    env = {
        **os.environ,
        "LEDGER_PERSISTENCE": "dynamodb",
        "LEDGER_EVENTS_TABLE": tables["events"],
        "LEDGER_SNAPSHOTS_TABLE": tables["snapshots"],
        "LEDGER_READ_MODELS_TABLE": tables["read_models"],
        "AWS_ENDPOINT_URL_DYNAMODB": aws["endpoint"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli", "keys", "create", "--scope", "finance:read"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    principal = aws["container"].keys.authenticate(secret)
    assert principal is not None
    assert principal.scopes == frozenset({"finance:read"})


def test_lists_on_dynamodb_page_through_every_day(aws: dict[str, Any]) -> None:
    """Payments and refunds made far apart in time all come back, newest first, a page at a
    time, with and without bounds (the day indexes are walked, not a fixed window)."""
    from datetime import UTC, datetime, timedelta

    from tests.conftest import ManualClock

    tables = aws["tables"]
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now=now - timedelta(days=200))
    container = build(
        ledger_settings(tables),
        clock=clock,
    )
    secret, _ = container.keys.create(["admin"])
    api = ApiClient(container, secret)
    _, manufacturer = api.call("POST", "/v1/manufacturers", {"name": "A", "fee_bps": 0})
    made = []
    for days_ago in (200, 100, 50, 1, 0):
        clock.now = now - timedelta(days=days_ago)
        body = {
            "amount": 100 + days_ago,
            "currency": "USD",
            "customer_id": "c",
            "payment_method": "pm",
            "splits": [{"manufacturer_id": manufacturer["id"], "amount": 100 + days_ago}],
        }
        _, payment = api.call("POST", "/v1/payments", body, **{"Idempotency-Key": f"d{days_ago}"})
        api.call(
            "POST",
            f"/v1/payments/{payment['id']}/refunds",
            {"amount": 1},
            **{"Idempotency-Key": f"r{days_ago}"},
        )
        made.append(payment["id"])
    _project(aws, read_stream(aws["endpoint"], tables["stream_arn"]))
    store: DynamoDBReadModels = aws["container"].read_models  # type: ignore[assignment]

    def all_pages(**filters: Any) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = store.payments(
                manufacturer_id=filters.get("manufacturer_id"),
                status=None,
                created_from=filters.get("created_from"),
                created_to=None,
                cursor=cursor,
                limit=2,
            )
            seen += [row["payment_id"] for row in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                return seen

    newest_first = made[::-1]
    assert all_pages() == newest_first
    assert all_pages(manufacturer_id=manufacturer["id"]) == newest_first
    cutoff = (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert all_pages(created_from=cutoff) == newest_first[:3]
    refunds = store.refunds(
        manufacturer_id=None, payment_id=None, status=None, cursor=None, limit=10
    )
    assert len(refunds.rows) == 5
    status, listed = api.call("GET", "/v1/payments")
    assert status == 200
    assert [p["id"] for p in listed["data"]] == newest_first
    container.close()

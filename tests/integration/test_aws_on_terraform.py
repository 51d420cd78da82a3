"""The integration run on the stack `terraform apply` built (moto here; LocalStack with
`make localstack-test`): the `api` handler driven in-process with API Gateway v2 events through
Mangum (emulated Lambdas run no code), the real DynamoDB Stream read with boto3 and fed to the
`projections` and `publisher` handlers as Lambda-shaped batches, EventBridge -> SQS delivery by the
workflow rules, and DLQ routing of a poison message (the workers: test_workflows_on_aws.py).
Also: the tables DynamoDB Local tests create match Terraform's."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.bootstrap import Container, build
from ledger.lambdas import api as api_lambda
from ledger.lambdas import projections as projections_lambda
from ledger.lambdas import publisher as publisher_lambda
from ledger.settings import Settings
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_stream import StreamProjector
from tests.support.dynamodb_tables import create_ledger_tables, read_stream
from tests.support.lambda_events import (
    PROJECTED,
    LambdaContext,
    http_api_event,
    projection_batch,
    stream_batch,
)
from tests.support.terraform import Stack, table_definition

pytest_plugins = ["tests.support.terraform"]
pytestmark = pytest.mark.integration


@pytest.fixture
def deployed(terraform_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    for name, value in {
        "AWS_ENDPOINT_URL": terraform_stack.endpoint,
        "AWS_DEFAULT_REGION": terraform_stack.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    container = build(
        Settings(
            persistence="dynamodb",
            events_table=terraform_stack.output("events_table_name"),
            snapshots_table=terraform_stack.output("snapshots_table_name"),
            read_models_table=terraform_stack.output("read_models_table_name"),
            event_bus_name=terraform_stack.output("event_bus_name"),
        )
    )
    yield container
    container.close()


def call(handler: Any, method: str, path: str, auth: dict[str, str], **kw: Any) -> tuple[int, Any]:
    response = handler(http_api_event(method, path, headers=auth, **kw), LambdaContext())
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body) if body else None


def drain(stack: Stack, url: str, wanted: int) -> list[dict[str, Any]]:
    """Every message on the queue (deleted), waiting up to 20 s for at least `wanted`."""
    sqs = stack.client("sqs")
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        if not messages and len(bodies) >= wanted:
            break
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_api_stream_projections_and_bus_on_the_applied_stack(
    terraform_stack: Stack, deployed: Container
) -> None:
    secret, _ = deployed.keys.create(["admin"])
    auth = {"Authorization": f"Bearer {secret}"}
    api = api_lambda.make_handler(deployed)
    status, manufacturer = call(
        api, "POST", "/v1/manufacturers", auth, body={"name": "Acme", "fee_bps": 250}
    )
    assert status == 201
    body = {
        "amount": 10_000,
        "currency": "USD",
        "customer_id": "c",
        "payment_method": "pm",
        "splits": [{"manufacturer_id": manufacturer["id"], "amount": 10_000}],
    }
    status, payment = call(
        api, "POST", "/v1/payments", {**auth, "Idempotency-Key": "tf-1"}, body=body
    )
    assert (status, payment["status"]) == (201, "captured")
    status, refund = call(
        api,
        "POST",
        f"/v1/payments/{payment['id']}/refunds",
        {**auth, "Idempotency-Key": "tf-2"},
        body={"amount": 1000},
    )
    # Booked now; the refund-execution worker executes it at the provider.
    assert (status, refund["status"]) == (201, "pending")

    stream_arn = terraform_stack.output("events_stream_arn")
    # Every ledger event of the session (test_terraform_apply's stream probe item is none).
    records = [
        record
        for record in read_stream(terraform_stack.endpoint, stream_arn)
        if "topic" in record["dynamodb"]["NewImage"]
    ]
    assert len(records) >= 8
    batch = projection_batch(records, stream_arn)

    assert isinstance(deployed.read_models, DynamoDBReadModels)
    projector = StreamProjector(deployed.engine.mapper, deployed.read_models)
    projections = projections_lambda.make_handler(projector)
    assert projections(batch, LambdaContext()) == PROJECTED
    status, balance = call(
        api,
        "GET",
        f"/v1/accounts/manufacturer:{manufacturer['id']}:payable/balance",
        auth,
        query={"currency": "USD"},
    )
    assert status == 200
    assert balance["balance"] == -(9750 - (1000 - 25))
    assert projections(batch, LambdaContext()) == PROJECTED  # redelivered
    _, again = call(
        api,
        "GET",
        f"/v1/accounts/manufacturer:{manufacturer['id']}:payable/balance",
        auth,
        query={"currency": "USD"},
    )
    assert again["balance"] == balance["balance"]

    publisher = publisher_lambda.make_handler(
        EventBridgePublisher(
            boto3.client("events"),
            terraform_stack.output("event_bus_name"),
            deployed.engine.mapper,
        )
    )
    assert publisher(stream_batch(records, stream_arn), LambdaContext()) == {
        "batchItemFailures": []
    }
    # Only what a workflow rule matches is routed, each to its rule's queue: the refund request
    # (the stream may hold other tests' events too, so this refund is looked for by id).
    delivered = drain(terraform_stack, terraform_stack.queue_url("refund-execution"), wanted=1)
    assert all(message["source"] == "payments-ledger" for message in delivered)
    assert {message["detail-type"] for message in delivered} <= {
        "Payment.RefundRequested",
        "Payment.RefundApproved",
    }
    (requested,) = [m for m in delivered if m["detail"]["data"].get("refund_id") == refund["id"]]
    assert requested["detail-type"] == "Payment.RefundRequested"
    assert requested["detail"]["data"]["amount"] == 1000


def test_a_poison_message_lands_in_the_workflow_dlq(terraform_stack: Stack) -> None:
    sqs = terraform_stack.client("sqs")
    queue = terraform_stack.queue_url("billing")
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"poison": True}))
    for _ in range(int(policy["maxReceiveCount"]) + 1):
        # A worker that fails: receives it, never deletes it, lets it become visible again.
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=0)
    landed = drain(terraform_stack, terraform_stack.dlq_url("billing"), wanted=1)
    assert landed == [{"poison": True}]
    assert drain(terraform_stack, queue, wanted=0) == []  # gone from the queue


def test_dynamodb_local_tables_match_terraform(
    terraform_tables: dict[str, dict[str, Any]], dynamodb_endpoint: str
) -> None:
    names = create_ledger_tables(dynamodb_endpoint, "match")
    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint)
    ours = {
        role: table_definition(client.describe_table(TableName=names[role])["Table"])
        for role in ("events", "snapshots", "read_models")
    }
    assert ours == terraform_tables

"""The workflows on the stack `terraform apply` built (moto here; LocalStack with
LEDGER_TEST_AWS_ENDPOINT).

The chain a refund takes on AWS, with every hop real except the Lambda service itself (emulated
Lambdas run no code): the api handler books the refund; its events are read from the events
table's stream and fed to the publisher handler; EventBridge's rule puts the request on the
refund-execution queue; the message is received with boto3 and handed to the worker handler as
the Lambda service would (an SQS batch), and what the handler does not report failed is deleted,
as the event source mapping does. Failures: a transient provider error (the message is hidden
for its backoff and comes back), and one that outlasts max_receive_count deliveries (the queue's
redrive policy moves it to the DLQ; SqsQueue.redrive brings it back once the provider is up).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.adapters.sandbox import SandboxProvider
from ledger.adapters.sqs_queue import SqsQueue
from ledger.application.ports import ProviderUnavailable, RefundRequest
from ledger.bootstrap import Container, build
from ledger.domain import ids
from ledger.lambdas import api as api_lambda
from ledger.lambdas import publisher as publisher_lambda
from ledger.lambdas import worker as worker_lambda
from ledger.settings import Settings
from ledger.workflows import rules as workflow_rules
from tests.support.dynamodb_tables import read_stream
from tests.support.lambda_events import LambdaContext, http_api_event, sqs_batch, stream_batch
from tests.support.terraform import Stack

pytest_plugins = ["tests.support.terraform"]
pytestmark = pytest.mark.integration

QUEUE = "refund-execution"
SPEC = workflow_rules.load().queues[QUEUE]
PREFIX = "ledger-local"  # envs/local.tfvars


@dataclass
class Deployed:
    stack: Stack
    container: Container  # the seeding side (the worker builds its own, as a Lambda does)
    api: api_lambda.Handler
    auth: dict[str, str]
    manufacturer_id: str
    sqs: Any
    queue_url: str
    queue_arn: str
    queues: SqsQueue


@pytest.fixture(scope="module")
def deployed(terraform_stack: Stack) -> Iterator[Deployed]:
    """The Lambda environment Terraform gives a refund-execution worker, for this module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ENDPOINT_URL": terraform_stack.endpoint,
            "AWS_DEFAULT_REGION": terraform_stack.region,
            "AWS_REGION": terraform_stack.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "LEDGER_PERSISTENCE": "dynamodb",
            "LEDGER_EVENTS_TABLE": terraform_stack.output("events_table_name"),
            "LEDGER_SNAPSHOTS_TABLE": terraform_stack.output("snapshots_table_name"),
            "LEDGER_READ_MODELS_TABLE": terraform_stack.output("read_models_table_name"),
            "LEDGER_EVENT_BUS_NAME": terraform_stack.output("event_bus_name"),
            "LEDGER_QUEUE_NAME_PREFIX": PREFIX,
            "LEDGER_WORKER_QUEUE": QUEUE,
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        # The provider secret has no value on the emulator: credentials stay unset.
        patch.delenv("LEDGER_PROVIDER_SECRET_ARN", raising=False)
        patch.setattr(worker_lambda, "_handler", None)  # a cold start in this environment

        container = build(Settings())
        secret, _ = container.service.create_api_key(["admin"])
        auth = {"Authorization": f"Bearer {secret}"}
        api = api_lambda.make_handler(container)
        status, manufacturer = call(
            api, "POST", "/v1/manufacturers", auth, body={"name": "Acme", "fee_bps": 250}
        )
        assert status == 201
        sqs = terraform_stack.client("sqs")
        url = terraform_stack.queue_url(QUEUE)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        queues = SqsQueue(sqs, PREFIX)
        # Whatever earlier modules routed here (their refunds) is not this module's to run.
        for queue_url in (url, terraform_stack.dlq_url(QUEUE)):
            drain(sqs, queue_url)
        yield Deployed(
            stack=terraform_stack,
            container=container,
            api=api,
            auth=auth,
            manufacturer_id=manufacturer["id"],
            sqs=sqs,
            queue_url=url,
            queue_arn=arn["Attributes"]["QueueArn"],
            queues=queues,
        )
        container.close()


def drain(sqs: Any, url: str) -> None:
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
    ).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def call(handler: Any, method: str, path: str, auth: dict[str, str], **kw: Any) -> tuple[int, Any]:
    response = handler(http_api_event(method, path, headers=auth, **kw), LambdaContext())
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body) if body else None


def requested_refund(deployed: Deployed, key: str, amount: int = 1000) -> tuple[str, str]:
    """A captured payment and a refund booked on it through the api handler, its events
    published through the publisher handler: (payment id, refund id)."""
    payment_body = {
        "amount": 10_000,
        "currency": "USD",
        "customer_id": "c",
        "payment_method": "pm",
        "splits": [{"manufacturer_id": deployed.manufacturer_id, "amount": 10_000}],
    }
    status, payment = call(
        deployed.api,
        "POST",
        "/v1/payments",
        {**deployed.auth, "Idempotency-Key": f"{key}-pay"},
        body=payment_body,
    )
    assert (status, payment["status"]) == (201, "captured")
    status, refund = call(
        deployed.api,
        "POST",
        f"/v1/payments/{payment['id']}/refunds",
        {**deployed.auth, "Idempotency-Key": f"{key}-refund"},
        body={"amount": amount},
    )
    assert (status, refund["status"]) == (201, "pending")
    publish(deployed, payment["id"])
    return payment["id"], refund["id"]


def publish(deployed: Deployed, payment_id: str) -> None:
    """The payment's records of the events stream through the publisher handler."""
    stream_arn = deployed.stack.output("events_stream_arn")
    aggregate = str(ids.decode("payment", payment_id))
    records = [
        record
        for record in read_stream(deployed.stack.endpoint, stream_arn)
        if record["dynamodb"]["NewImage"]["aggregate_id"]["S"] == aggregate
    ]
    assert records
    publisher = publisher_lambda.make_handler(
        EventBridgePublisher(
            boto3.client("events"),
            deployed.stack.output("event_bus_name"),
            deployed.container.service.mapper,
        )
    )
    assert publisher(stream_batch(records, stream_arn), LambdaContext()) == {
        "batchItemFailures": []
    }


def receive(deployed: Deployed, *, wait: int = 1, visibility: int | None = None) -> list[Any]:
    request: dict[str, Any] = {
        "QueueUrl": deployed.queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": wait,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        request["VisibilityTimeout"] = visibility
    return list(deployed.sqs.receive_message(**request).get("Messages", []))


def run_worker(deployed: Deployed, messages: list[Any]) -> list[str]:
    """The messages through the worker handler as the event source mapping runs it: those not
    reported failed are deleted. Returns the ids reported failed."""
    response = worker_lambda.handler(sqs_batch(messages, deployed.queue_arn), LambdaContext())
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    for message in messages:
        if message["MessageId"] not in failed:
            deployed.sqs.delete_message(
                QueueUrl=deployed.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return failed


def messages_left(deployed: Deployed) -> int:
    attributes = deployed.sqs.get_queue_attributes(
        QueueUrl=deployed.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def refund_status(deployed: Deployed, refund_id: str) -> str:
    status, refund = call(deployed.api, "GET", f"/v1/refunds/{refund_id}", deployed.auth)
    assert status == 200
    return str(refund["status"])


def payment_event_types(deployed: Deployed, payment_id: str) -> list[str]:
    events = deployed.container.service.events.get(ids.decode("payment", payment_id))
    return [type(event).__qualname__ for event in events]


def only_message_for(messages: list[Any], refund_id: str) -> Any:
    (message,) = messages
    body = json.loads(message["Body"])
    assert body["detail-type"] == "Payment.RefundRequested"
    assert body["detail"]["data"]["refund_id"] == refund_id
    return message


class Outage:
    """Makes the sandbox's refunds raise ProviderUnavailable while `down`, or `times` times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, times: int = 0, down: bool = False):
        self.times = times
        self.down = down
        self.calls = 0
        working = SandboxProvider.refund

        def refund(provider: SandboxProvider, request: RefundRequest) -> Any:
            self.calls += 1
            if self.down or self.times > 0:
                self.times -= 1
                raise ProviderUnavailable("sandbox refunds are down")
            return working(provider, request)

        monkeypatch.setattr(SandboxProvider, "refund", refund)


def worker_metrics(output: str) -> list[dict[str, Any]]:
    """The Powertools (EMF) metric documents a worker printed."""
    documents = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [document for document in documents if "WorkflowMessages" in document]


def test_a_requested_refund_is_routed_to_its_queue_and_executed_by_the_worker(
    deployed: Deployed, capsys: pytest.CaptureFixture[str]
) -> None:
    payment_id, refund_id = requested_refund(deployed, "wf-ok")

    # EventBridge's rule put the request on the refund-execution queue (and nothing else).
    message = only_message_for(receive(deployed), refund_id)
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Payment.RefundSucceeded" not in payment_event_types(deployed, payment_id)

    capsys.readouterr()
    assert run_worker(deployed, [message]) == []
    (emf,) = worker_metrics(capsys.readouterr().out)

    assert refund_status(deployed, refund_id) == "succeeded"
    assert payment_event_types(deployed, payment_id)[-1] == "Payment.RefundSucceeded"
    assert messages_left(deployed) == 0
    assert emf["WorkflowMessages"] == [1.0]
    assert emf["Queue"] == QUEUE
    assert "WorkflowRetries" not in emf
    assert "WorkflowFailures" not in emf


def test_a_transient_provider_failure_is_retried_after_a_backoff(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payment_id, refund_id = requested_refund(deployed, "wf-retry")
    flaky = Outage(monkeypatch, times=1)
    # Received as a poller that hides nothing would: only the worker can delay it now.
    message = only_message_for(receive(deployed, visibility=0), refund_id)

    capsys.readouterr()
    assert run_worker(deployed, [message]) == [message["MessageId"]]
    assert flaky.calls == 1
    (emf,) = worker_metrics(capsys.readouterr().out)
    assert emf["Queue"] == QUEUE
    assert (emf["WorkflowMessages"], emf["WorkflowRetries"]) == ([1.0], [1.0])
    assert refund_status(deployed, refund_id) == "pending"

    # The worker hid it for its backoff: not there at once, back within the first delay's cap.
    assert receive(deployed, wait=0) == []
    hidden_at = time.monotonic()
    again: list[Any] = []
    while not again and time.monotonic() - hidden_at < SPEC.backoff_base_seconds + 3:
        again = receive(deployed, wait=1)
    assert time.monotonic() - hidden_at >= 0.5
    redelivered = only_message_for(again, refund_id)
    assert redelivered["MessageId"] == message["MessageId"]
    assert redelivered["Attributes"]["ApproximateReceiveCount"] == "2"

    assert run_worker(deployed, [redelivered]) == []
    assert flaky.calls == 2
    assert refund_status(deployed, refund_id) == "succeeded"
    assert payment_event_types(deployed, payment_id).count("Payment.RefundSucceeded") == 1
    assert messages_left(deployed) == 0


def test_a_message_that_keeps_failing_goes_to_the_dlq_and_is_redriven(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    payment_id, refund_id = requested_refund(deployed, "wf-dead")
    flaky = Outage(monkeypatch, down=True)

    original_id = None
    for delivery in range(1, SPEC.max_receive_count + 1):
        message = only_message_for(receive(deployed), refund_id)
        original_id = original_id or message["MessageId"]
        assert message["MessageId"] == original_id
        assert message["Attributes"]["ApproximateReceiveCount"] == str(delivery)
        assert run_worker(deployed, [message]) == [original_id]
        if delivery < SPEC.max_receive_count:
            # Time passes: the backoff the worker set is over.
            deployed.sqs.change_message_visibility(
                QueueUrl=deployed.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
    assert flaky.calls == SPEC.max_receive_count

    # Out of deliveries: the worker released it at once and the redrive policy moved it.
    assert receive(deployed, wait=0) == []
    (dead,) = deployed.queues.dead_letters(QUEUE)
    assert dead.message_id == original_id
    assert json.loads(dead.body)["detail"]["data"]["refund_id"] == refund_id
    assert dead.receive_count >= SPEC.max_receive_count
    assert refund_status(deployed, refund_id) == "pending"
    # Redriving other messages leaves it in the DLQ, and visible there (listing did too).
    assert deployed.queues.redrive(QUEUE, ["not-a-dead-letter"]) == 0
    assert [d.message_id for d in deployed.queues.dead_letters(QUEUE)] == [original_id]

    flaky.down = False
    assert deployed.queues.redrive(QUEUE, [original_id]) == 1
    assert deployed.queues.dead_letters(QUEUE) == []
    message = only_message_for(receive(deployed), refund_id)
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"  # a fresh start
    assert run_worker(deployed, [message]) == []
    assert refund_status(deployed, refund_id) == "succeeded"
    assert payment_event_types(deployed, payment_id).count("Payment.RefundSucceeded") == 1
    assert messages_left(deployed) == 0

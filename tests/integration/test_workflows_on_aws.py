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

The scheduled workflows: the message Terraform gave a schedule (read back from the scheduler),
its time filled in as EventBridge Scheduler does, sent to the schedule's queue and run by that
queue's worker, cold-started with the environment Terraform gave it: the daily billing run pays a
due subscription once, and the payout sweep rejects a payout left unapproved past its window.
And Stripe webhooks through the api handler cold-started with Stripe configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.adapters.sandbox import SandboxProvider
from ledger.adapters.sqs_queue import SqsQueue
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderCapabilities,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
)
from ledger.application.queries import payable as payable_of
from ledger.bootstrap import Container, build
from ledger.domain import ids
from ledger.domain.provider_records import WebhookReceipt
from ledger.lambdas import api as api_lambda
from ledger.lambdas import publisher as publisher_lambda
from ledger.lambdas import worker as worker_lambda
from ledger.settings import Settings
from ledger.workflows import rules as workflow_rules
from tests.support.dynamodb_tables import read_stream
from tests.support.lambda_events import (
    LambdaContext,
    http_api_event,
    http_api_raw_event,
    sqs_batch,
    stream_batch,
)
from tests.support.providers import ScriptedProviderBase
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
        patch.setattr(worker_lambda.handler, "_handler", None)  # a cold start in this environment

        container = build(Settings())
        secret, _ = container.keys.create(["admin"])
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
    return answer(handler(http_api_event(method, path, headers=auth, **kw), LambdaContext()))


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    """An API Gateway v2 response: (status, JSON body)."""
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
            deployed.container.engine.mapper,
        )
    )
    assert publisher(stream_batch(records, stream_arn), LambdaContext()) == {
        "batchItemFailures": []
    }


def receive(
    deployed: Deployed, *, wait: int = 1, visibility: int | None = None, url: str | None = None
) -> list[Any]:
    request: dict[str, Any] = {
        "QueueUrl": url or deployed.queue_url,
        "MaxNumberOfMessages": 10,
        "WaitTimeSeconds": wait,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        request["VisibilityTimeout"] = visibility
    return list(deployed.sqs.receive_message(**request).get("Messages", []))


def run_worker(
    deployed: Deployed, messages: list[Any], *, url: str | None = None, arn: str | None = None
) -> list[str]:
    """The messages through the worker handler as the event source mapping runs it: those not
    reported failed are deleted. Returns the ids reported failed. (url, arn: another queue than
    refund-execution, with the worker cold-started for it.)"""
    response = worker_lambda.handler(
        sqs_batch(messages, arn or deployed.queue_arn), LambdaContext()
    )
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    for message in messages:
        if message["MessageId"] not in failed:
            deployed.sqs.delete_message(
                QueueUrl=url or deployed.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    return failed


def messages_left(deployed: Deployed, url: str | None = None) -> int:
    attributes = deployed.sqs.get_queue_attributes(
        QueueUrl=url or deployed.queue_url,
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
    events = deployed.container.engine.events.get(ids.decode("payment", payment_id))
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


# ----- scheduled workflows: billing and the payout sweep --------------------------------------
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_manufacturer(deployed: Deployed, **terms: Any) -> str:
    status, manufacturer = call(
        deployed.api,
        "POST",
        "/v1/manufacturers",
        deployed.auth,
        body={"name": unique("mfr"), "fee_bps": 0, **terms},
    )
    assert status == 201, manufacturer
    return str(manufacturer["id"])


@dataclass
class ScheduledQueue:
    """A scheduled workflow's queue, its worker Lambda cold-started here with the environment
    Terraform gave that function, and the message Terraform gave its schedule."""

    deployed: Deployed
    url: str
    arn: str
    template: str  # the schedule target's Input, placeholder and all

    def message(self, at: datetime) -> str:
        """What EventBridge Scheduler sends when the schedule fires at `at` (it substitutes the
        placeholder as plain text)."""
        return self.template.replace(
            SCHEDULED_TIME, at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )

    def fire(self, at: datetime) -> None:
        """The message sent to the queue (SendMessage), received, and run by the worker: it
        succeeds and is deleted."""
        body = self.message(at)
        self.deployed.sqs.send_message(QueueUrl=self.url, MessageBody=body)
        (message,) = receive(self.deployed, url=self.url)
        assert message["Body"] == body
        assert run_worker(self.deployed, [message], url=self.url, arn=self.arn) == []
        assert messages_left(self.deployed, self.url) == 0


def scheduled_queue(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, schedule_name: str
) -> ScheduledQueue:
    (schedule,) = [s for s in workflow_rules.load().schedules if s.name == schedule_name]
    stack = deployed.stack
    url = stack.queue_url(schedule.queue)
    arn = deployed.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    target = stack.client("scheduler").get_schedule(
        Name=f"{PREFIX}-{schedule_name}", GroupName=stack.output("workflow_schedule_group")
    )["Target"]
    assert target["Arn"] == arn
    assert SCHEDULED_TIME in target["Input"]
    function = stack.output("worker_function_names")[schedule.queue]
    env = stack.client("lambda").get_function_configuration(FunctionName=function)
    variables = env["Environment"]["Variables"]
    assert variables["LEDGER_WORKER_QUEUE"] == schedule.queue
    for name in ("LEDGER_WORKER_QUEUE", "LEDGER_QUEUE_NAME_PREFIX"):
        monkeypatch.setenv(name, variables[name])
    monkeypatch.setattr(worker_lambda.handler, "_handler", None)  # that worker's cold start
    assert messages_left(deployed, url) == 0
    return ScheduledQueue(deployed, url, arn, str(target["Input"]))


def at_six(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)  # cron(0 6 * * ? *)


def test_the_daily_billing_schedule_charges_a_due_subscription_once(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    billing = scheduled_queue(deployed, monkeypatch, "daily-billing-run")
    manufacturer_id = new_manufacturer(deployed, fee_bps=250)
    start_on = datetime.now(UTC).date() + timedelta(days=3)
    status, subscription = call(
        deployed.api,
        "POST",
        "/v1/subscriptions",
        {**deployed.auth, "Idempotency-Key": unique("sub")},
        body={
            "customer_id": "cus-aws-billing",
            "amount": 2000,
            "currency": "USD",
            "provider": "sandbox",
            "payment_method": "pm_card",
            "interval": "monthly",
            "start_on": start_on.isoformat(),
            "splits": [{"manufacturer_id": manufacturer_id, "amount": 2000}],
        },
    )
    assert status == 201, subscription
    assert (subscription["status"], subscription["next_billing_on"]) == (
        "active",
        start_on.isoformat(),
    )
    path = f"/v1/subscriptions/{subscription['id']}"

    def invoices() -> list[dict[str, Any]]:
        status, listed = call(deployed.api, "GET", f"{path}/invoices", deployed.auth)
        assert status == 200
        return list(listed["data"])

    # The run of the day before: not due yet, nothing charged.
    billing.fire(at_six(start_on - timedelta(days=1)))
    assert invoices() == []
    assert payable_of(deployed.container.engine, manufacturer_id, "USD") is None

    # The run of the due day pays the first period.
    due_run = billing.message(at_six(start_on))
    billing.fire(at_six(start_on))
    (invoice,) = invoices()
    assert (invoice["period"], invoice["status"], invoice["amount"]) == (
        start_on.isoformat(),
        "paid",
        2000,
    )
    (attempt,) = invoice["attempts"]
    assert (attempt["attempt"], attempt["outcome"]) == (1, "succeeded")
    status, payment = call(
        deployed.api, "GET", f"/v1/payments/{attempt['payment_id']}", deployed.auth
    )
    assert status == 200
    assert (payment["status"], payment["amount_captured"], payment["provider"]) == (
        "captured",
        2000,
        "sandbox",
    )
    assert payment["metadata"]["subscription_id"] == subscription["id"]
    _, after = call(deployed.api, "GET", path, deployed.auth)
    assert after["next_billing_on"] > start_on.isoformat()
    payable = payable_of(deployed.container.engine, manufacturer_id, "USD")
    assert payable is not None
    assert payable.balance == 2000 - 50  # 250 bps kept as the platform's fee
    paid = (payable.balance, payable.version)

    # The scheduler delivers the same run again: nothing more is charged or recorded.
    assert billing.message(at_six(start_on)) == due_run
    billing.fire(at_six(start_on))
    assert invoices() == [invoice]
    _, again = call(deployed.api, "GET", path, deployed.auth)
    assert again == after
    payable = payable_of(deployed.container.engine, manufacturer_id, "USD")
    assert payable is not None
    assert (payable.balance, payable.version) == paid


def test_the_payout_sweep_rejects_a_payout_left_unapproved_past_its_window(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep = scheduled_queue(deployed, monkeypatch, "hourly-payout-sweep")
    manufacturer_id = new_manufacturer(
        deployed, payout_approval_threshold={"USD": 1000}, payout_approvals_required=1
    )
    status, manufacturer = call(
        deployed.api,
        "PATCH",
        f"/v1/manufacturers/{manufacturer_id}/settings",
        deployed.auth,
        body={"payout_approval_expiry_hours": 1},
    )
    assert (status, manufacturer["settings"]["payout_approval_expiry_hours"]) == (200, 1)
    status, payment = call(
        deployed.api,
        "POST",
        "/v1/payments",
        {**deployed.auth, "Idempotency-Key": unique("pay")},
        body={
            "amount": 10_000,
            "currency": "USD",
            "customer_id": "c",
            "payment_method": "pm",
            "splits": [{"manufacturer_id": manufacturer_id, "amount": 10_000}],
        },
    )
    assert (status, payment["status"]) == (201, "captured")
    requested_at = datetime.now(UTC)
    status, payout = call(
        deployed.api,
        "POST",
        "/v1/payouts",
        {**deployed.auth, "Idempotency-Key": unique("payout")},
        body={"manufacturer_id": manufacturer_id, "amount": 5000, "currency": "USD"},
    )
    assert (status, payout["status"]) == (201, "pending_approval")
    expires_at = datetime.fromisoformat(payout["approval_expires_at"])
    assert timedelta(minutes=59) < expires_at - requested_at < timedelta(minutes=61)
    path = f"/v1/payouts/{payout['id']}"

    def available() -> int:
        payable = payable_of(deployed.container.engine, manufacturer_id, "USD")
        assert payable is not None
        return payable.available

    assert available() == 5000  # the payout's amount is reserved

    # The sweep that fires two hours after the request (not the clock's time, which is still
    # within the window): the window has passed, the payout is rejected. One run reads every
    # registry shard, so the sweep within the window is left to the unit tests.
    sweep.fire(requested_at + timedelta(hours=2))
    status, rejected = call(deployed.api, "GET", path, deployed.auth)
    assert status == 200
    assert rejected["status"] == "rejected"
    assert rejected["rejection"]["by"] == "system:approval-expiry"
    assert available() == 10_000  # the reservation is released


# ----- Stripe webhooks through the api Lambda -------------------------------------------------
WEBHOOK_SECRET = "whsec_aws_test"


def closed_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


def stripe_signature(payload: bytes, secret: str = WEBHOOK_SECRET) -> str:
    timestamp = int(time.time())
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def stripe_event(event_id: str, kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": kind,
            "data": {"object": obj},
        }
    ).encode()


class PendingStripe(ScriptedProviderBase):
    """Stripe as a payment that waits for 3-D Secure answers: pending, under a PaymentIntent id
    chosen by the test; Stripe's webhook says how it ended."""

    capabilities = ProviderCapabilities(sends_webhooks=True)

    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        return ProviderResult(status="pending", reference=self.intent_id)

    def capture(self, request: CaptureRequest) -> ProviderResult:
        raise AssertionError("a payment captured on the webhook calls no provider")

    def void(self, request: VoidRequest) -> ProviderResult:
        raise AssertionError("not used")

    def refund(self, request: RefundRequest) -> ProviderResult:
        raise AssertionError("not used")


def test_stripe_webhooks_through_the_api_lambda_with_stripe_configured(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The api Lambda's cold start with Stripe configured (its API out of reach: webhooks never
    # call it); the module's handler cache and environment come back after the test.
    monkeypatch.setenv("LEDGER_STRIPE_API_KEY", "sk_test_aws")
    monkeypatch.setenv("LEDGER_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("LEDGER_STRIPE_API_BASE", f"http://127.0.0.1:{closed_loopback_port()}")
    monkeypatch.setattr(api_lambda.handler, "_handler", None)
    built: list[Container] = []

    def build_and_keep(settings: Settings) -> Container:
        built.append(build(settings))
        return built[-1]

    monkeypatch.setattr(api_lambda, "build", build_and_keep)
    try:
        run_stripe_webhooks(deployed, built)
    finally:
        for container in built:
            container.close()


def run_stripe_webhooks(deployed: Deployed, built: list[Container]) -> None:
    intent_id = unique("pi_aws")

    def deliver(payload: bytes, signature: str | None = None) -> tuple[int, Any]:
        headers = {"Stripe-Signature": signature or stripe_signature(payload)}
        event = http_api_raw_event("POST", "/v1/webhooks/stripe", payload, headers=headers)
        return answer(api_lambda.handler(event, LambdaContext()))

    def receipt(event_id: str) -> bool:
        receipt_id = WebhookReceipt.create_id("stripe", event_id)
        return bool(deployed.container.engine.recorder.select_events(receipt_id))

    succeeded = stripe_event(
        unique("evt_ok"),
        "payment_intent.succeeded",
        {
            "id": intent_id,
            "object": "payment_intent",
            "amount": 2500,
            "amount_received": 2500,
            "currency": "usd",
            "metadata": {},
            "status": "succeeded",
        },
    )
    event_id = json.loads(succeeded)["id"]

    # Before the ledger has the payment: 503 so Stripe delivers it again; nothing recorded.
    status, problem = deliver(succeeded)
    assert status == 503, problem
    assert problem["type"] == "urn:ledger:problem:payment-not-yet-known"
    assert not receipt(event_id)
    dispute = stripe_event(
        unique("evt_du"),
        "charge.dispute.created",
        {
            "id": unique("du_aws"),
            "object": "dispute",
            "amount": 2500,
            "currency": "usd",
            "payment_intent": unique("pi_unknown"),
            "reason": "fraudulent",
            "status": "needs_response",
        },
    )
    status, problem = deliver(dispute)
    assert (status, problem["type"]) == (503, "urn:ledger:problem:payment-not-yet-known")
    assert not receipt(json.loads(dispute)["id"])

    # A body changed after signing, or signed with another secret: 400, nothing recorded.
    tampered = succeeded.replace(b'"amount_received": 2500', b'"amount_received": 25')
    assert tampered != succeeded
    status, problem = deliver(tampered, stripe_signature(succeeded))
    assert (status, problem["type"]) == (400, "urn:ledger:problem:webhook-rejected")
    status, problem = deliver(succeeded, stripe_signature(succeeded, "whsec_other"))
    assert (status, problem["type"]) == (400, "urn:ledger:problem:webhook-rejected")
    assert not receipt(event_id)

    # The payment, pending at Stripe, recorded through the same Lambda (Stripe faked for it).
    (container,) = built  # the api Lambda's one cold start
    container.engine.register_provider("stripe", PendingStripe(intent_id))
    manufacturer_id = new_manufacturer(deployed, fee_bps=0)
    status, payment = call(
        api_lambda.handler,
        "POST",
        "/v1/payments",
        {**deployed.auth, "Idempotency-Key": unique("pay-stripe")},
        body={
            "amount": 2500,
            "currency": "USD",
            "customer_id": "c",
            "provider": "stripe",
            "payment_method": "pm_card_threeDSecure2Required",
            "splits": [{"manufacturer_id": manufacturer_id, "amount": 2500}],
        },
    )
    assert (status, payment["status"]) == (201, "pending"), payment

    # Stripe's retry of the event now applies: captured, once.
    status, outcome = deliver(succeeded)
    assert status == 200, outcome
    assert outcome == {"outcome": "captured", "event_id": event_id, "kind": "payment_succeeded"}
    assert receipt(event_id)
    status, shown = call(deployed.api, "GET", f"/v1/payments/{payment['id']}", deployed.auth)
    assert (shown["status"], shown["amount_captured"], shown["provider_reference"]) == (
        "captured",
        2500,
        intent_id,
    )
    history = payment_event_types(deployed, payment["id"])
    status, outcome = deliver(succeeded)
    assert (status, outcome["outcome"]) == (200, "duplicate")
    assert payment_event_types(deployed, payment["id"]) == history

"""Least privilege, proven by evaluation on the stack `terraform apply` built (moto).

Every Lambda handler (api, projections, publisher, every worker) runs in this process through its
real entry point (`ledger.lambdas.<module>.handler`), with exactly the environment Terraform gave
that function (read back from its live alias), from a cold start: a payment created, captured and
refunded, a payout and a subscription through the api; their stream records through projections and
publisher; the messages EventBridge routed (and the schedules' messages, a retry among them) through
each worker; then the console's Operations routes through the api: every workflow DLQ listed with
its dead letters and each redriven to its queue. A botocore hook records every AWS call each
function makes (tests/support/iam_audit.py), each call becomes the action(s) and resource ARN(s) IAM
authorises, plus what AWS does with the role on the function's behalf (KMS for encrypted resources,
the Lambda service's logs, tracing and event source mappings), and all of it is evaluated against
the policies attached to that function's role as Terraform applied them, with moto's IAM policy
evaluator. A call not granted fails, naming function, action and resource; so does any statement,
action or resource of a role that no call needed.

moto's own IAM enforcement is not used: it checks most services against resource "*" only.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from ledger.bootstrap import build
from ledger.domain import ids as ledger_ids
from ledger.lambdas import api as api_lambda
from ledger.lambdas import projections as projections_lambda
from ledger.lambdas import publisher as publisher_lambda
from ledger.lambdas import worker as worker_lambda
from ledger.settings import Settings
from ledger.workflows import rules as workflow_rules
from tests.support.dynamodb_tables import read_stream
from tests.support.iam_audit import (
    Account,
    Call,
    CallRecorder,
    FunctionConfig,
    code_calls,
    evaluate,
    role_statements,
    service_calls,
)
from tests.support.lambda_events import (
    PROJECTED,
    LambdaContext,
    http_api_event,
    projection_batch,
    sqs_batch,
    stream_batch,
)
from tests.support.terraform import Stack

pytest_plugins = ["tests.support.terraform"]
pytestmark = pytest.mark.integration

RULES = workflow_rules.load()
ALIAS = "live"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# Each function's entry point module (the handler is `<module>.handler`, as Terraform says).
HANDLERS: dict[str, ModuleType] = {
    "api": api_lambda,
    "projections": projections_lambda,
    "publisher": publisher_lambda,
    **{f"worker-{queue}": worker_lambda for queue in RULES.queues},
}


def function_name(stack: Stack, key: str) -> str:
    if key.startswith("worker-"):
        return str(stack.output("worker_function_names")[key.removeprefix("worker-")])
    return str(stack.output(f"{key}_function_name"))


def function_config(stack: Stack, key: str, mappings: list[dict[str, Any]]) -> FunctionConfig:
    name = function_name(stack, key)
    config = stack.client("lambda").get_function_configuration(FunctionName=name, Qualifier=ALIAS)
    log_group = (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
    return FunctionConfig(
        key=key,
        name=name,
        role_arn=config["Role"],
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        kms_key_arn=config.get("KMSKeyArn"),
        tracing=config.get("TracingConfig", {}).get("Mode", "PassThrough"),
        log_group=log_group,
        mappings=[m for m in mappings if m["FunctionArn"].split(":")[6] == name],
    )


@dataclass
class Run:
    """The audited run: what each function was configured with and what it called."""

    stack: Stack
    account: Account
    recorder: CallRecorder
    configs: dict[str, FunctionConfig]
    answers: dict[str, list[Any]] = field(default_factory=dict)

    def calls(self, key: str) -> tuple[list[Call], list[str]]:
        recorded = [c for c in self.recorder.calls if c.function == key]
        calls, unmapped = code_calls(recorded, self.account)
        calls += service_calls(self.configs[key], self.account, self.stack.region)
        return calls, unmapped


@contextmanager
def lambda_environment(run: Run, key: str) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """The function's execution environment in this process: exactly its variables as applied,
    a cold start (no handler built, no cached secret), then warm invocations."""
    module = HANDLERS[key]
    config = run.configs[key]
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("LEDGER_", "POWERTOOLS_")) or name == "LOG_LEVEL":
                patch.delenv(name)
        for name, value in config.environment.items():
            patch.setenv(name, value)
        patch.setattr(module.handler, "_handler", None)
        parameters.clear_caches()
        answers = run.answers.setdefault(key, [])

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            with run.recorder.running(key):
                answer: dict[str, Any] = module.handler(event, LambdaContext(function_name=key))
            answers.append(answer)
            return answer

        try:
            yield invoke
        finally:
            parameters.clear_caches()


def answer_of(response: dict[str, Any]) -> tuple[int, Any]:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return response["statusCode"], json.loads(body) if body else None


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def receive_for(stack: Stack, queue: str, wanted: Callable[[dict[str, Any]], bool]) -> list[Any]:
    """This run's messages on a workflow queue, as the event source mapping receives them
    (others' messages are left alone)."""
    sqs = stack.client("sqs")
    url = stack.queue_url(queue)
    found = []
    for _ in range(5):
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            if wanted(json.loads(message["Body"])):
                found.append(message)
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if found:
            return found
    return found


def settle(stack: Stack, queue: str, messages: list[Any], failed: list[str]) -> None:
    """What the mapping does after the function returned: delete what did not fail."""
    sqs = stack.client("sqs")
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(
                QueueUrl=stack.queue_url(queue), ReceiptHandle=message["ReceiptHandle"]
            )


def queue_arn(stack: Stack, queue: str) -> str:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url(queue), AttributeNames=["QueueArn"]
    )
    return str(attributes["Attributes"]["QueueArn"])


@pytest.fixture(scope="module")
def audit(terraform_stack: Stack) -> Iterator[Run]:
    stack = terraform_stack
    mappings = stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    account_id = stack.client("sts").get_caller_identity()["Account"]
    run = Run(
        stack=stack,
        account=Account(account_id=account_id, partition="aws", client=stack.client),
        recorder=CallRecorder(),
        configs={key: function_config(stack, key, mappings) for key in HANDLERS},
    )
    with pytest.MonkeyPatch.context() as patch, run.recorder.installed():
        for name, value in {
            "AWS_ENDPOINT_URL": stack.endpoint,
            "AWS_REGION": stack.region,
            "AWS_DEFAULT_REGION": stack.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        scenario(run)
        yield run


def scenario(run: Run) -> None:
    stack = run.stack
    stream_arn = stack.output("events_stream_arn")
    seen = {
        record["dynamodb"]["SequenceNumber"] for record in read_stream(stack.endpoint, stream_arn)
    }
    # The operator's side (not audited): an API key, as `ledger keys create` makes one.
    operator = build(
        Settings(
            persistence="dynamodb",
            events_table=stack.output("events_table_name"),
            snapshots_table=stack.output("snapshots_table_name"),
            read_models_table=stack.output("read_models_table_name"),
        )
    )
    secret, _ = operator.keys.create(["admin"])
    operator.close()
    auth = {"Authorization": f"Bearer {secret}"}
    today = datetime.now(UTC).date().isoformat()
    made: dict[str, str] = {}

    def call(api: Any, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = {**auth, **kw.pop("headers", {})}
        if method == "POST" and body is not None:
            headers.setdefault("Idempotency-Key", unique("iam"))
        status, answer = answer_of(
            api(http_api_event(method, path, body=body, headers=headers, **kw))
        )
        assert status < 300, (method, path, status, answer)
        return answer

    with lambda_environment(run, "api") as api:
        manufacturer = call(api, "POST", "/v1/manufacturers", {"name": "IAM audit", "fee_bps": 250})
        m = made["manufacturer"] = manufacturer["id"]
        splits = [{"manufacturer_id": m, "amount": 10_000}]
        payment = call(
            api,
            "POST",
            "/v1/payments",
            {
                "amount": 10_000,
                "currency": "USD",
                "customer_id": "cus_iam",
                "payment_method": "pm_tok_visa",
                "capture_method": "manual",
                "splits": splits,
            },
        )
        assert payment["status"] == "authorized"
        p = made["payment"] = payment["id"]
        assert call(api, "POST", f"/v1/payments/{p}/capture", {"amount": 10_000})["status"] == (
            "captured"
        )
        refund = call(api, "POST", f"/v1/payments/{p}/refunds", {"amount": 1000})
        made["refund"] = refund["id"]
        payout = call(
            api, "POST", "/v1/payouts", {"manufacturer_id": m, "amount": 2000, "currency": "USD"}
        )
        assert payout["status"] == "approved"
        made["payout"] = payout["id"]
        subscription = call(
            api,
            "POST",
            "/v1/subscriptions",
            {
                "customer_id": "cus_iam",
                "amount": 1500,
                "currency": "USD",
                "payment_method": "pm_tok_visa",
                "interval": "monthly",
                "start_on": today,
                "splits": [{"manufacturer_id": m, "amount": 1500}],
            },
        )
        made["subscription"] = subscription["id"]
        # A payout left awaiting approval past its window: the payout sweep rejects it.
        approver = call(
            api,
            "POST",
            "/v1/manufacturers",
            {
                "name": "IAM audit, approvals",
                "fee_bps": 0,
                "payout_approval_threshold": {"USD": 1000},
                "payout_approvals_required": 1,
            },
        )["id"]
        call(
            api,
            "PATCH",
            f"/v1/manufacturers/{approver}/settings",
            {"payout_approval_expiry_hours": 1},
        )
        call(
            api,
            "POST",
            "/v1/payments",
            {
                "amount": 5000,
                "currency": "USD",
                "customer_id": "cus_iam",
                "payment_method": "pm_tok_visa",
                "splits": [{"manufacturer_id": approver, "amount": 5000}],
            },
        )
        waiting = call(
            api,
            "POST",
            "/v1/payouts",
            {"manufacturer_id": approver, "amount": 5000, "currency": "USD"},
        )
        assert waiting["status"] == "pending_approval"
        made["waiting_payout"] = waiting["id"]
        for path in (
            f"/v1/payments/{p}",
            f"/v1/payments/{p}/events",
            f"/v1/refunds/{made['refund']}",
            f"/v1/payouts/{made['payout']}",
            f"/v1/manufacturers/{m}",
            f"/v1/subscriptions/{made['subscription']}",
        ):
            call(api, "GET", path)
        for probe in ("/healthz", "/readyz"):
            assert answer_of(api(http_api_event("GET", probe)))[0] == 200, probe

    records = [
        record
        for record in read_stream(stack.endpoint, stream_arn)
        if record["dynamodb"]["SequenceNumber"] not in seen
        and "topic" in record["dynamodb"].get("NewImage", {})
    ]
    assert len(records) >= 10
    batch = stream_batch(records, stream_arn)
    with lambda_environment(run, "projections") as projections:
        assert projections(projection_batch(records, stream_arn)) == PROJECTED
        # The stream delivers again (a retried batch): applied once, the home rows say so.
        assert projections(projection_batch(records, stream_arn)) == PROJECTED
    with lambda_environment(run, "publisher") as publisher:
        assert publisher(batch) == {"batchItemFailures": []}

    # The read models, now projected, through a second cold start of the api.
    with lambda_environment(run, "api") as api:
        period = today[:7]
        for path, query in (
            (f"/v1/accounts/manufacturer:{m}:payable/balance", {"currency": "USD"}),
            (
                f"/v1/accounts/manufacturer:{m}:payable/balance",
                # In "Z" form, as docs/api.md asks: "+00:00" adds four digits that can make a
                # time read as a card number (the guard's documented false positive).
                {"currency": "USD", "as_of": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"},
            ),
            ("/v1/ledger/trial-balance", {}),
            ("/v1/payments", {}),
            ("/v1/refunds", {}),
            (f"/v1/reports/manufacturers/{m}", {"period": period}),
        ):
            call(api, "GET", path, query=query)

    # The workers: what EventBridge routed and what the schedules send, each batch with a
    # message its handler cannot read, which the worker delays for a retry.
    def work(queue: str, messages: list[Any]) -> None:
        sqs = stack.client("sqs")
        marker = unique("poison")
        sqs.send_message(
            QueueUrl=stack.queue_url(queue),
            # Unreadable to every handler (no refund id, no payout id, no usable time).
            MessageBody=json.dumps(
                {
                    "detail": {
                        "data": 0,
                        "aggregate_id": "not-a-uuid",
                        "as_of": "never",
                        "scheduled_time": "never",
                    },
                    "poison": marker,
                }
            ),
        )
        poison = receive_for(stack, queue, lambda b: b.get("poison") == marker)
        assert poison, queue
        batch = messages + poison
        with lambda_environment(run, f"worker-{queue}") as worker:
            answer = worker(sqs_batch(batch, queue_arn(stack, queue)))
        failed = [item["itemIdentifier"] for item in answer["batchItemFailures"]]
        assert failed == [m["MessageId"] for m in poison], queue
        settle(stack, queue, batch, [])  # the poison is not this run's to redeliver

    refund_queue = "refund-execution"
    refunds = receive_for(
        stack,
        refund_queue,
        lambda b: b.get("detail", {}).get("data", {}).get("refund_id") == made["refund"],
    )
    assert refunds, "the refund request was routed to its queue"
    work(refund_queue, refunds)

    payout_aggregate = str(ledger_ids.decode("payout", made["payout"]))
    payouts = receive_for(
        stack,
        "payout-execution",
        lambda b: (
            b.get("detail-type") == "Payout.Requested"
            and b.get("detail", {}).get("aggregate_id") == payout_aggregate
        ),
    )
    assert payouts, "the payout request was routed to its queue"
    work("payout-execution", payouts)

    scheduler = stack.client("scheduler")
    group = stack.output("workflow_schedule_group")
    for schedule in RULES.schedules:
        target = scheduler.get_schedule(Name=f"ledger-local-{schedule.name}", GroupName=group)[
            "Target"
        ]
        # The sweep fires two hours on: the waiting payout's approval window has passed.
        fired = datetime.now(UTC) + timedelta(hours=2 if schedule.queue == "payout-schedule" else 0)
        body = json.loads(
            target["Input"].replace(SCHEDULED_TIME, fired.strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
        stack.client("sqs").send_message(
            QueueUrl=stack.queue_url(schedule.queue), MessageBody=json.dumps(body)
        )
        sent = receive_for(stack, schedule.queue, lambda b, body=body: b == body)
        assert sent, schedule.name
        work(schedule.queue, sent)

    # A dead letter on every workflow DLQ, as SQS leaves one after maxReceiveCount deliveries.
    buried = {queue: unique("dead") for queue in RULES.queues}
    for queue, marker in buried.items():
        stack.client("sqs").send_message(
            QueueUrl=stack.dlq_url(queue), MessageBody=json.dumps({"dead": marker})
        )

    # The run did what it says: the refund and payout executed, the subscription billed.
    with lambda_environment(run, "api") as api:
        assert call(api, "GET", f"/v1/refunds/{made['refund']}")["status"] == "succeeded"
        assert call(api, "GET", f"/v1/payouts/{made['payout']}")["status"] == "paid"
        assert call(api, "GET", f"/v1/payouts/{made['waiting_payout']}")["status"] == "rejected"
        invoices = call(api, "GET", f"/v1/subscriptions/{made['subscription']}/invoices")["data"]
        assert [invoice["status"] for invoice in invoices] == ["paid"]
        operate_dead_letters(call, api, buried)

    # What the redrive sent is on each queue (the test takes it off: no worker is to run it).
    for queue, marker in buried.items():
        moved = receive_for(stack, queue, lambda b, marker=marker: b.get("dead") == marker)
        assert len(moved) == 1, queue
        settle(stack, queue, moved, [])
    report(run)


def operate_dead_letters(call: Callable[..., Any], api: Any, buried: dict[str, str]) -> None:
    """The console's Operations page: the queues with their dead-letter counts, each queue's
    dead letters, the Redrive button (all of a queue's dead letters back to it)."""
    states = {s["queue"]: s for s in call(api, "GET", "/v1/operations/queues")["data"]}
    assert sorted(states) == sorted(buried)
    for queue, marker in buried.items():
        assert states[queue]["dead_letters"] >= 1, queue
        path = f"/v1/operations/queues/{queue}"
        assert {"dead": marker} in [
            d["body"] for d in call(api, "GET", f"{path}/dead-letters")["data"]
        ]
        assert call(api, "POST", f"{path}/redrive")["redriven"] >= 1, queue
        left = [d["body"] for d in call(api, "GET", f"{path}/dead-letters")["data"]]
        assert {"dead": marker} not in left, queue


def report(run: Run) -> None:
    """Every authorisation of the run, per function, next to the scratch state (for people)."""
    lines = []
    for key in HANDLERS:
        calls, unmapped = run.calls(key)
        lines.append(f"== {key} ({run.configs[key].name}, role {run.configs[key].role_arn})")
        for call in sorted({(c.action, c.resource, c.origin) for c in calls}):
            lines.append("  " + "  ".join(call))
        lines += [f"  UNMAPPED {u}" for u in unmapped]
    path = Path(os.environ.get("LEDGER_IAM_REPORT", "build/iam-calls.txt"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("key", list(HANDLERS))
def test_the_function_ran_cold_with_its_own_environment_and_did_work(audit: Run, key: str) -> None:
    config = audit.configs[key]
    recorded = [c for c in audit.recorder.calls if c.function == key]
    assert recorded, f"{key} made no AWS call"
    assert audit.answers[key], f"{key} was never invoked"
    reads_secret = any(c.operation == "GetSecretValue" for c in recorded)
    assert reads_secret == ("LEDGER_PROVIDER_SECRET_ARN" in config.environment)
    assert reads_secret == (key == "api" or key.startswith("worker-"))


@pytest.mark.parametrize("key", list(HANDLERS))
def test_every_call_maps_to_actions_and_resources(audit: Run, key: str) -> None:
    _, unmapped = audit.calls(key)
    assert unmapped == []


@pytest.mark.parametrize("key", list(HANDLERS))
def test_every_call_is_granted_and_every_grant_is_needed(audit: Run, key: str) -> None:
    calls, _ = audit.calls(key)
    statements = role_statements(audit.stack.client("iam"), audit.configs[key].role_arn)
    problems = evaluate(calls, statements)
    assert problems == [], "\n".join(problems)


def test_the_api_may_do_to_the_queues_exactly_what_the_operations_routes_did(audit: Run) -> None:
    """Listing and redriving dead letters, as recorded, is every SQS pair the api's role grants
    (each action on each ARN, no wildcard): look up the queues and DLQs, look over and delete
    dead letters on the DLQs only, send to the workflow queues only."""
    stack = audit.stack
    calls, _ = audit.calls("api")
    queues = {queue: queue_arn(stack, queue) for queue in RULES.queues}
    dlqs = {queue: f"{arn}-dlq" for queue, arn in queues.items()}
    expected = set()
    for queue in RULES.queues:
        expected |= {("sqs:GetQueueUrl", queues[queue]), ("sqs:SendMessage", queues[queue])}
        expected |= {
            (f"sqs:{action}", dlqs[queue])
            for action in ("GetQueueUrl", "ReceiveMessage", "ChangeMessageVisibility")
        }
        expected.add(("sqs:DeleteMessage", dlqs[queue]))
    needed = {(c.action, c.resource) for c in calls if c.action.startswith("sqs:")}
    assert needed == expected
    granted = {
        (action, resource)
        for statement in role_statements(stack.client("iam"), audit.configs["api"].role_arn)
        if statement.document.get("Effect") == "Allow"
        for action in statement.values("Action")
        if action.startswith("sqs:")
        for resource in statement.values("Resource")
    }
    assert granted == expected
    # Sending to the encrypted queues encrypts with the ledger key: granted, and needed.
    kms = {(c.action, c.origin.split(" (")[0]) for c in calls if c.action.startswith("kms:")}
    assert ("kms:GenerateDataKey", "SQS encrypts") in kms

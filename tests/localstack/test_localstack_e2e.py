"""The AWS path, for real, on the project's LocalStack (no Docker): the Terraform root applied
with envs/localstack.tfvars, every function running the built package's handlers as local
Python 3.12 processes, triggered the way AWS triggers them.

- The api Lambda is reached through the HTTP API's own URL (the stage's invoke URL, sent to
  LocalStack's port with that host name), API Gateway v2 payload 2.0 through the plugin.
- The projections and publisher Lambdas are triggered by LocalStack's own DynamoDB Streams
  event source mappings, never invoked here; read models are read back through the API.
- The publisher's events go through the bus's EventBridge rules to the workflow queues, whose
  SQS event source mappings run the worker Lambdas: a payment is authorized, captured, refunded
  (the refund executed by the refund-execution worker) and a payout paid (payout-execution).
- A refund at a provider that keeps failing (Stripe, localstripe answering 500) is retried with
  backoff by the worker until the queue's redrive policy moves it to the DLQ; with the provider
  back it is redriven (`ledger dlq redrive`'s SqsQueue.redrive) and succeeds.
- The balances the API serves equal a rebuild of the read models from the events table.

The provider secret starts as Terraform's `{}`; the operator puts Stripe's credentials in it
before the first invocation, as on a first deploy. AWS clients of the test come from
localstack-client. Then `terraform destroy`.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlparse

import pytest

from ledger.adapters.sqs_queue import SqsQueue
from ledger.bootstrap import Container, build
from ledger.settings import Settings
from projections.stores.dynamodb import DynamoDBReadModels
from projections.stores.dynamodb_rebuild import rebuild
from tests.support.dynamodb_tables import (
    READ_MODELS_ATTRIBUTES,
    READ_MODELS_GSI,
    READ_MODELS_KEY_SCHEMA,
)
from tests.support.idempotency import fresh_key
from tests.support.localstack import HOST_PACKAGE, clients, host_architecture, localstack
from tests.support.localstripe_server import fail_next_requests, localstripe_server
from tests.support.terraform import Stack, applied

pytestmark = pytest.mark.integration

REGION = "us-east-1"  # envs/localstack.tfvars
PREFIX = "ledger-ls"
STRIPE_API_KEY = "sk_test_localstack"
STRIPE_WEBHOOK_SECRET = "whsec_localstack"
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, what: str, every: float = 1) -> T:
    """The first truthy answer of `check`, polling up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


class HttpApi:
    """The HTTP API through its own URL (https://<api-id>.execute-api.<region>.amazonaws.com/):
    the request goes to LocalStack's loopback port with that URL's host name, which is how
    LocalStack tells execute-api requests apart. Nothing leaves the machine."""

    def __init__(self, url: str, endpoint: str, auth: dict[str, str] | None = None) -> None:
        parsed = urlparse(url)
        self.host = parsed.netloc
        self.stage_path = parsed.path.rstrip("/")
        self.endpoint = endpoint
        self.auth = auth or {}
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Host": self.host, **self.auth}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method == "POST" and body is not None:
            headers["Idempotency-Key"] = idempotency_key or fresh_key()
        url = f"{self.endpoint}{self.stage_path}{path}"
        if query:
            url += "?" + urlencode(query)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
        return status, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, answer = self.request(method, path, body, **kw)
        assert status < 300, (method, path, status, answer)
        return answer


@dataclass
class Ledger:
    stack: Stack
    endpoint: str
    aws: Any  # localstack_client Session
    api: HttpApi
    stripe: str
    operator: Container
    made: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.aws.client(service)


def wait_for_mappings(aws: Any) -> None:
    lambda_ = aws.client("lambda")

    def enabled() -> bool:
        mappings = lambda_.list_event_source_mappings()["EventSourceMappings"]
        return len(mappings) >= 2 and all(m["State"] == "Enabled" for m in mappings)

    eventually(enabled, 120, "every event source mapping enabled")


@pytest.fixture(scope="module")
def ledger(
    localstack_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    scratch = tmp_path_factory.mktemp("localstack")
    with (
        localstripe_server() as stripe,
        localstack(scratch / "localstack") as endpoint,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name in list(os.environ):
            if name.startswith(("AWS_", "LEDGER_")):
                patch.delenv(name)
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }.items():
            patch.setenv(name, value)
        variables = {
            "lambda_architecture": host_architecture(),
            # Stripe is localstripe on loopback (a non-secret provider setting).
            "provider_environment": f'{{LEDGER_STRIPE_API_BASE="{stripe}"}}',
        }
        with applied(
            endpoint,
            scratch,
            HOST_PACKAGE,
            var_file="envs/localstack.tfvars",
            variables=variables,
        ) as stack:
            aws = clients(endpoint, REGION)
            # A first deploy: the secret holds Terraform's {}; the operator puts the
            # credentials before the functions' first cold start.
            secrets = aws.client("secretsmanager")
            secret_arn = stack.output("provider_secret_arn")
            assert json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"]) == {}
            secrets.put_secret_value(
                SecretId=secret_arn,
                SecretString=json.dumps(
                    {
                        "stripe_api_key": STRIPE_API_KEY,
                        "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET,
                    }
                ),
            )
            wait_for_mappings(aws)
            # The operator's key (`ledger keys create` against the deployed tables).
            operator = build(
                Settings(
                    persistence="dynamodb",
                    events_table=stack.output("events_table_name"),
                    snapshots_table=stack.output("snapshots_table_name"),
                    read_models_table=stack.output("read_models_table_name"),
                )
            )
            secret, _ = operator.keys.create(["admin"])
            api = HttpApi(stack.output("api_url"), endpoint, {"Authorization": f"Bearer {secret}"})
            try:
                yield Ledger(stack, endpoint, aws, api, stripe, operator)
            finally:
                operator.close()
                (scratch / "terraform-outputs.json").write_text(json.dumps(stack.outputs))


def payment_event_types(ledger: Ledger, payment_id: str) -> list[str]:
    return [event["type"] for event in ledger.api.ok("GET", f"/v1/payments/{payment_id}/events")]


def test_every_function_runs_behind_its_alias_and_every_mapping_polls(ledger: Ledger) -> None:
    lambda_ = ledger.client("lambda")
    mappings = lambda_.list_event_source_mappings()["EventSourceMappings"]
    by_source: dict[str, list[str]] = {}
    for mapping in mappings:
        assert mapping["State"] == "Enabled"
        by_source.setdefault(mapping["EventSourceArn"], []).append(mapping["FunctionArn"])
    stream = ledger.stack.output("events_stream_arn")
    assert sorted(arn.split(":")[6] for arn in by_source[stream]) == [
        f"{PREFIX}-projections",
        f"{PREFIX}-publisher",
    ]
    assert len(mappings) == 2 + len(ledger.stack.output("workflow_queue_urls"))
    for arn in (a for arns in by_source.values() for a in arns):
        # Through the live alias (or the version it points to), never the unpublished $LATEST.
        qualifier = arn.split(":")[7:]
        assert qualifier, arn
        assert qualifier != ["$LATEST"], arn
    api_url = urlparse(ledger.stack.output("api_url"))
    assert api_url.netloc.startswith(ledger.stack.output("api_id") + ".execute-api.")
    # The api's first cold start imports (and compiles) the whole package on a shared 2-core
    # machine and may outlast the integration timeout: a 503, as API Gateway answers; the
    # environment is warm for the retry, as after a deploy.
    eventually(
        lambda: ledger.api.request("GET", "/healthz")[0] == 200,
        180,
        "the api answers through the HTTP API",
        every=2,
    )


def test_payment_capture_refund_and_payout_through_the_api_bus_queues_and_workers(
    ledger: Ledger,
) -> None:
    api = ledger.api
    manufacturer = api.ok("POST", "/v1/manufacturers", {"name": "LocalStack Tools", "fee_bps": 250})
    m = ledger.made["manufacturer"] = manufacturer["id"]
    payment = api.ok(
        "POST",
        "/v1/payments",
        {
            "amount": 10_000,
            "currency": "USD",
            "customer_id": "cus_ls",
            "payment_method": "pm_tok_visa",
            "capture_method": "manual",
            "splits": [{"manufacturer_id": m, "amount": 10_000}],
        },
    )
    assert payment["status"] == "authorized"
    p = ledger.made["payment"] = payment["id"]
    captured = api.ok("POST", f"/v1/payments/{p}/capture", {"amount": 10_000})
    assert (captured["status"], captured["amount_captured"]) == ("captured", 10_000)

    # The refund is booked by the api; the publisher (stream) puts Payment.RefundRequested on
    # the bus, its rule on the refund-execution queue, whose worker executes it.
    refund = api.ok("POST", f"/v1/payments/{p}/refunds", {"amount": 1000})
    assert refund["status"] == "pending"
    eventually(
        lambda: api.ok("GET", f"/v1/refunds/{refund['id']}")["status"] == "succeeded",
        180,
        "the refund-execution worker executes the refund",
    )
    assert payment_event_types(ledger, p)[-1] == "RefundSucceeded"

    payout = api.ok(
        "POST", "/v1/payouts", {"manufacturer_id": m, "amount": 2000, "currency": "USD"}
    )
    assert payout["status"] == "approved"
    paid = eventually(
        lambda: (
            (found := api.ok("GET", f"/v1/payouts/{payout['id']}"))["status"] == "paid" and found
        ),
        180,
        "the payout-execution worker pays the payout",
    )
    assert paid["amount"] == 2000

    # The projections Lambda, triggered by the stream mapping, keeps the read models.
    expected = -(9750 - (1000 - 25) - 2000)
    balance = eventually(
        lambda: (
            (
                found := api.ok(
                    "GET",
                    f"/v1/accounts/manufacturer:{m}:payable/balance",
                    query={"currency": "USD"},
                )
            )["balance"]
            == expected
            and found
        ),
        120,
        "the stream-triggered projections reach the payable balance",
    )
    assert balance["freshness"]["source"] == "dynamodb-stream"


def test_a_refund_the_provider_keeps_failing_reaches_the_dlq_and_is_redriven(
    ledger: Ledger,
) -> None:
    api = ledger.api
    m = ledger.made["manufacturer"]
    payment = api.ok(
        "POST",
        "/v1/payments",
        {
            "amount": 5000,
            "currency": "USD",
            "customer_id": "cus_ls",
            "provider": "stripe",
            "payment_method": "pm_card_visa",
            "splits": [{"manufacturer_id": m, "amount": 5000}],
        },
    )
    assert (payment["status"], payment["provider"]) == ("captured", "stripe"), payment
    ledger.made["stripe_payment"] = payment["id"]

    # Stripe is down: every request answers 500 until it is back.
    fail_next_requests(ledger.stripe, 500, count=100_000)
    refund = api.ok("POST", f"/v1/payments/{payment['id']}/refunds", {"amount": 500})
    assert refund["status"] == "pending"
    queues = SqsQueue(ledger.client("sqs"), PREFIX)

    def dead_letter() -> Any:
        for dead in queues.dead_letters("refund-execution"):
            if json.loads(dead.body)["detail"]["data"].get("refund_id") == refund["id"]:
                return dead
        return None

    # max_receive_count deliveries (workflow_rules.json), each failed and delayed by the
    # worker's backoff (2 s doubling), then the redrive policy moves it.
    dead = eventually(dead_letter, 360, "the failing refund lands in the DLQ", every=5)
    assert dead.receive_count >= 6
    assert api.ok("GET", f"/v1/refunds/{refund['id']}")["status"] == "pending"

    fail_next_requests(ledger.stripe, 500, count=0)  # Stripe is back
    assert queues.redrive("refund-execution", [dead.message_id]) == 1
    eventually(
        lambda: api.ok("GET", f"/v1/refunds/{refund['id']}")["status"] == "succeeded",
        180,
        "the redriven refund succeeds",
    )
    assert dead_letter() is None
    assert payment_event_types(ledger, payment["id"]).count("RefundSucceeded") == 1


def rebuilt_read_models(ledger: Ledger) -> DynamoDBReadModels:
    """A fresh read-model table filled by `ledger projections rebuild`'s code from the events
    table itself."""
    dynamodb = ledger.client("dynamodb")
    table = f"{PREFIX}-read-models-rebuild"
    dynamodb.create_table(
        TableName=table,
        KeySchema=READ_MODELS_KEY_SCHEMA,
        AttributeDefinitions=READ_MODELS_ATTRIBUTES,
        GlobalSecondaryIndexes=READ_MODELS_GSI,
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=table)
    store = DynamoDBReadModels(dynamodb, table)
    applied_events = rebuild(
        dynamodb,
        ledger.stack.output("events_table_name"),
        ledger.operator.engine.mapper,
        store,
    )
    assert applied_events > 0
    return store


def test_balances_read_through_the_api_equal_a_rebuild(ledger: Ledger) -> None:
    store = rebuilt_read_models(ledger)
    try:
        rebuilt = {
            (row["currency"], row["account"]): (row["debits"], row["credits"])
            for row in store.trial_balance(None)
        }
        assert rebuilt

        def served() -> dict[tuple[str, str], tuple[int, int]]:
            trial = ledger.api.ok("GET", "/v1/ledger/trial-balance")
            assert all(currency["balanced"] for currency in trial["currencies"])
            return {
                (currency["currency"], line["account"]): (line["debits"], line["credits"])
                for currency in trial["currencies"]
                for line in currency["accounts"]
            }

        # The stream may still be applying the last events: the same, once it has.
        eventually(lambda: served() == rebuilt, 120, "the projected trial balance == rebuild")
        for currency, account in rebuilt:
            answer = ledger.api.ok(
                "GET", f"/v1/accounts/{account}/balance", query={"currency": currency}
            )
            assert (answer["debits"], answer["credits"]) == rebuilt[currency, account], account
    finally:
        ledger.client("dynamodb").delete_table(TableName=store.table)

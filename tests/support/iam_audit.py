"""Least privilege checked by evaluation: every AWS call a Lambda function makes, evaluated
against the policies of that function's role as Terraform applied them.

Three parts:

- `CallRecorder`: a botocore hook (a wrapper of `BaseClient._make_api_call`, the one method
  every client of every session calls, so no client escapes: boto3's default session,
  Powertools' own sessions, clients made before the recorder) that records each call a function
  makes while it runs: service, operation and parameters.
- `resources()`: what IAM authorises for a call: the action(s) and the ARN(s) it touches, per
  operation (a TransactWriteItems is one PutItem/UpdateItem/ConditionCheckItem per item on its
  table, a SendMessageBatch is sqs:SendMessage on the queue, a PutEvents is one call per bus,
  ...). A call with no mapping is reported, never skipped.
- `implied_calls()` and `service_calls()`: what AWS itself does with the function's role:
  KMS for the customer-managed keys of what the call touches (Secrets Manager and SQS call KMS
  with the caller's credentials; DynamoDB decrypts the table key of an encrypted table or
  stream), and what the Lambda service does for the function (CloudWatch Logs, X-Ray with
  active tracing, the environment's KMS key, its event source mappings' reads and on-failure
  destinations), all derived from the applied configuration, not assumed.

`evaluate()` checks each call against the role's inline and attached policies with moto's IAM
policy evaluator (moto.iam.access_control.IAMPolicy, wildcards in actions and resources), and
every statement's actions and resources against the calls: a call not granted, and a grant no
call needed, are both failures.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import botocore.client
from moto.iam.access_control import IAMPolicy, PermissionResult

# ----- recording ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawCall:
    function: str
    service: str  # botocore's service name: dynamodb, dynamodbstreams, sqs, events, ...
    operation: str  # the API operation: TransactWriteItems, SendMessage, ...
    params: dict[str, Any]
    region: str


class CallRecorder:
    """Records the AWS calls made while a function runs (any thread, any client)."""

    def __init__(self) -> None:
        self.calls: list[RawCall] = []
        self.function: str | None = None
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            function = recorder.function
            if function is not None:
                call = RawCall(
                    function=function,
                    service=client.meta.service_model.service_name,
                    operation=operation_name,
                    params=copy.deepcopy(api_params),
                    region=client.meta.region_name,
                )
                with recorder._lock:
                    recorder.calls.append(call)
            return original(client, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = recording  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """Calls made inside are `function`'s (the test's own calls happen outside)."""
        assert self.function is None, f"{self.function} is still running"
        self.function = function
        try:
            yield
        finally:
            self.function = None


# ----- what a call touches ------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Call:
    """One authorisation IAM makes: `action` on `resource`, for `function`, because of
    `origin` (the API call, or what AWS does on the function's behalf)."""

    function: str
    action: str
    resource: str
    origin: str


class Unmapped(Exception):
    """A call this module cannot turn into actions and resources: a failure, not a skip."""


@dataclass
class Account:
    """The stack's account and a way to look resources up (outside any recording)."""

    account_id: str
    partition: str
    client: Callable[[str], Any]  # service name -> boto3 client of the test (not recorded)
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def cached(self, kind: str, key: str, look_up: Callable[[], Any]) -> Any:
        if (kind, key) not in self._cache:
            self._cache[kind, key] = look_up()
        return self._cache[kind, key]

    def table_arn(self, region: str, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return self.arn("dynamodb", region, f"table/{name_or_arn}")

    def queue_arn(self, region: str, url: str) -> str:
        parts = [p for p in urlparse(url).path.split("/") if p]
        if len(parts) < 2:
            raise Unmapped(f"queue URL {url!r}")
        account, name = parts[-2], parts[-1]
        return f"arn:{self.partition}:sqs:{region}:{account}:{unquote(name)}"

    def secret_arn(self, secret_id: str) -> str:
        if secret_id.startswith("arn:"):
            return secret_id
        return str(
            self.cached(
                "secret",
                secret_id,
                lambda: self.client("secretsmanager").describe_secret(SecretId=secret_id)["ARN"],
            )
        )

    def key_arn(self, key_id: str) -> str:
        return str(
            self.cached(
                "key",
                key_id,
                lambda: self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"],
            )
        )

    # The customer-managed key protecting a resource, or None.
    def table_key(self, table_arn: str) -> str | None:
        name = table_arn.split(":table/", 1)[1].split("/", 1)[0]

        def look_up() -> str | None:
            table = self.client("dynamodb").describe_table(TableName=name)["Table"]
            sse = table.get("SSEDescription") or {}
            key = sse.get("KMSMasterKeyArn")
            return self.key_arn(key) if sse.get("SSEType") == "KMS" and key else None

        found: str | None = self.cached("table-key", name, look_up)
        return found

    def queue_key(self, queue_arn: str) -> str | None:
        name = queue_arn.rsplit(":", 1)[1]

        def look_up() -> str | None:
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            key = attributes["Attributes"].get("KmsMasterKeyId")
            return self.key_arn(key) if key else None

        found: str | None = self.cached("queue-key", name, look_up)
        return found

    def secret_key(self, secret_arn: str) -> str | None:
        def look_up() -> str | None:
            key = self.client("secretsmanager").describe_secret(SecretId=secret_arn).get("KmsKeyId")
            return self.key_arn(key) if key else None

        found: str | None = self.cached("secret-key", secret_arn, look_up)
        return found


DYNAMODB_TABLE_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "DescribeTable",
}
TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
SQS_QUEUE_OPERATIONS = {
    # operation -> the IAM action that authorises it (batches are their single action)
    "SendMessage": "SendMessage",
    "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibility": "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "GetQueueAttributes": "GetQueueAttributes",
}
# Calls IAM never authorises (anyone may ask who they are).
NO_PERMISSION = {("sts", "GetCallerIdentity")}


def resources(call: RawCall, account: Account) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) of each authorisation the call needs."""
    service, operation, params, region = call.service, call.operation, call.params, call.region
    if (service, operation) in NO_PERMISSION:
        return []
    if service == "dynamodb":
        if operation in DYNAMODB_TABLE_OPERATIONS:
            table = account.table_arn(region, params["TableName"])
            if operation in ("Query", "Scan") and params.get("IndexName"):
                table = f"{table}/index/{params['IndexName']}"
            return [(f"dynamodb:{operation}", table)]
        if operation == "TransactWriteItems":
            found = []
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                found.append(
                    (
                        f"dynamodb:{TRANSACT_WRITE_ACTIONS[kind]}",
                        account.table_arn(region, body["TableName"]),
                    )
                )
            return sorted(set(found))
        if operation == "TransactGetItems":
            return sorted(
                {
                    ("dynamodb:GetItem", account.table_arn(region, item["Get"]["TableName"]))
                    for item in params["TransactItems"]
                }
            )
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return sorted(
                {
                    (f"dynamodb:{operation}", account.table_arn(region, table))
                    for table in params["RequestItems"]
                }
            )
    if service == "dynamodbstreams" and operation in ("DescribeStream", "GetShardIterator"):
        return [(f"dynamodb:{operation}", params["StreamArn"])]
    if service == "sqs":
        if operation in SQS_QUEUE_OPERATIONS:
            return [
                (
                    f"sqs:{SQS_QUEUE_OPERATIONS[operation]}",
                    account.queue_arn(region, params["QueueUrl"]),
                )
            ]
        if operation == "GetQueueUrl":
            owner = params.get("QueueOwnerAWSAccountId") or account.account_id
            return [
                (
                    "sqs:GetQueueUrl",
                    f"arn:{account.partition}:sqs:{region}:{owner}:{params['QueueName']}",
                )
            ]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in params["Entries"]}
        return sorted(
            (
                "events:PutEvents",
                bus
                if bus.startswith("arn:")
                else account.arn("events", region, f"event-bus/{bus}"),
            )
            for bus in buses
        )
    if service == "secretsmanager" and operation in ("GetSecretValue", "DescribeSecret"):
        return [(f"secretsmanager:{operation}", account.secret_arn(params["SecretId"]))]
    if service == "kms" and "KeyId" in params:
        return [(f"kms:{operation}", account.key_arn(params["KeyId"]))]
    if service in ("cloudwatch", "xray") and operation in (
        "PutMetricData",
        "PutTraceSegments",
        "PutTelemetryRecords",
    ):
        return [(f"{service}:{operation}", "*")]
    raise Unmapped(f"{service}.{operation}")


def implied_calls(function: str, action: str, resource: str, account: Account) -> list[Call]:
    """What AWS does with the caller's credentials to serve (action, resource): the KMS calls
    for the customer-managed key of what the call touches.

    - Secrets Manager: GetSecretValue of a secret under a customer-managed key needs
      kms:Decrypt on that key (Secrets Manager decrypts with the caller's permissions).
    - SQS with SSE-KMS: producers need kms:GenerateDataKey and kms:Decrypt, consumers
      kms:Decrypt (SQS developer guide, "Key management").
    - DynamoDB under a customer-managed key: access to the table, its indexes or its stream
      decrypts the table key: kms:Decrypt on the table's key (DynamoDB developer guide,
      "How DynamoDB uses AWS KMS").
    - EventBridge on a bus under a customer-managed key uses the key policy's grant to the
      events service (kms.tf), nothing of the caller's.
    """

    def kms(actions: tuple[str, ...], key: str | None, why: str) -> list[Call]:
        if key is None:
            return []
        return [Call(function, f"kms:{a}", key, f"{why} (implied by {action})") for a in actions]

    service = action.split(":", 1)[0]
    if action == "secretsmanager:GetSecretValue":
        return kms(("Decrypt",), account.secret_key(resource), "Secrets Manager decrypts")
    if action == "sqs:SendMessage":
        return kms(("GenerateDataKey", "Decrypt"), account.queue_key(resource), "SQS encrypts")
    if action == "sqs:ReceiveMessage":
        return kms(("Decrypt",), account.queue_key(resource), "SQS decrypts")
    if service == "dynamodb" and ":table/" in resource:
        return kms(("Decrypt",), account.table_key(resource), "DynamoDB table key")
    return []


@dataclass(frozen=True)
class FunctionConfig:
    """A function as applied: the configuration of its live alias and its role."""

    key: str  # api, projections, publisher, worker-<queue>
    name: str
    role_arn: str
    environment: dict[str, str]
    kms_key_arn: str | None
    tracing: str
    log_group: str
    mappings: list[dict[str, Any]]


def service_calls(function: FunctionConfig, account: Account, region: str) -> list[Call]:
    """What the Lambda service does with the function's role, from its configuration (Lambda
    developer guide: execution role permissions, event source mappings, destinations)."""
    key = function.key
    group = account.arn("logs", region, f"log-group:{function.log_group}")
    calls = [
        # CloudWatch Logs names a log group's ARN with a trailing ":*" for stream actions.
        Call(key, "logs:CreateLogStream", f"{group}:*", "Lambda: the function's log stream"),
        Call(
            key,
            "logs:PutLogEvents",
            f"{group}:log-stream:2026/01/01/[live]0123456789abcdef",
            "Lambda: the function's log",
        ),
    ]
    if function.tracing == "Active":
        calls += [
            Call(key, "xray:PutTraceSegments", "*", "Lambda: active tracing"),
            Call(key, "xray:PutTelemetryRecords", "*", "Lambda: active tracing"),
        ]
    if function.kms_key_arn:
        calls.append(
            Call(key, "kms:Decrypt", function.kms_key_arn, "Lambda: environment variables")
        )
    for mapping in function.mappings:
        source = mapping["EventSourceArn"]
        origin = f"event source mapping {mapping['UUID']}"
        reads: list[tuple[str, str]]
        if ":dynamodb:" in source:
            reads = [
                (f"dynamodb:{a}", source)
                for a in ("DescribeStream", "GetShardIterator", "GetRecords", "ListStreams")
            ]
        elif ":sqs:" in source:
            reads = [
                (f"sqs:{a}", source)
                for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")
            ]
        else:
            raise Unmapped(f"event source {source}")
        destination = (
            (mapping.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
        )
        if destination:
            if ":sqs:" not in destination:
                raise Unmapped(f"on-failure destination {destination}")
            reads.append(("sqs:SendMessage", destination))
        for action, resource in reads:
            calls.append(Call(key, action, resource, f"Lambda: {origin}"))
            calls += implied_calls(key, action, resource, account)
    return calls


def code_calls(recorded: list[RawCall], account: Account) -> tuple[list[Call], list[str]]:
    """The recorded calls as authorisations (implied KMS calls included), and the unmapped."""
    calls: list[Call] = []
    unmapped: list[str] = []
    for raw in recorded:
        try:
            pairs = resources(raw, account)
        except (Unmapped, KeyError) as error:
            unmapped.append(f"{raw.function}: {raw.service}.{raw.operation} ({error})")
            continue
        for action, resource in pairs:
            origin = f"{raw.service}.{raw.operation}"
            calls.append(Call(raw.function, action, resource, origin))
            calls += implied_calls(raw.function, action, resource, account)
    return calls, unmapped


# ----- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    policy: str
    sid: str
    document: dict[str, Any]

    def values(self, element: str) -> list[str]:
        found = self.document.get(element, [])
        return [found] if isinstance(found, str) else list(found)


def role_statements(iam: Any, role_arn: str) -> list[Statement]:
    """Every statement of the role's inline and attached policies, as applied."""
    role = role_arn.rsplit("/", 1)[1]
    documents: list[tuple[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        documents.append(
            (name, iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        )
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append((attached["PolicyName"], version["PolicyVersion"]["Document"]))
    statements = []
    for name, document in documents:
        if isinstance(document, str):
            document = json.loads(unquote(document))
        listed = document["Statement"]
        for index, statement in enumerate([listed] if isinstance(listed, dict) else listed):
            statements.append(Statement(name, statement.get("Sid") or f"#{index}", statement))
    return statements


def _permits(statement: dict[str, Any], action: str, resource: str) -> PermissionResult:
    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return policy.is_action_permitted(action, resource)


def evaluate(calls: list[Call], statements: list[Statement]) -> list[str]:
    """Failures: calls the role does not grant (or denies), and statements, actions or
    resources of the role that no call needed."""
    problems = []
    documents = [s.document for s in statements]
    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": documents}))
    for call in sorted(set(calls)):
        if policy.is_action_permitted(call.action, call.resource) != PermissionResult.PERMITTED:
            problems.append(
                f"{call.function}: {call.action} on {call.resource} is not granted "
                f"(needed by {call.origin})"
            )
    for statement in statements:
        if statement.document.get("Effect") != "Allow":
            continue
        where = f"{statement.policy} statement {statement.sid}"
        granted = [
            c
            for c in calls
            if _permits(statement.document, c.action, c.resource) == PermissionResult.PERMITTED
        ]
        function = calls[0].function if calls else "?"
        if not granted:
            problems.append(f"{function}: {where} grants nothing the run needed")
            continue
        for action in statement.values("Action"):
            narrowed = {**statement.document, "Action": [action]}
            if not any(
                _permits(narrowed, c.action, c.resource) == PermissionResult.PERMITTED
                for c in granted
            ):
                problems.append(f"{function}: {where}: action {action} is never needed")
        for resource in statement.values("Resource"):
            narrowed = {**statement.document, "Resource": [resource]}
            if not any(
                _permits(narrowed, c.action, c.resource) == PermissionResult.PERMITTED
                for c in granted
            ):
                problems.append(f"{function}: {where}: resource {resource} is never touched")
    return problems

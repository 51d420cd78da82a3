"""The real terraform/ root, applied to moto's server with envs/local.tfvars, read back with boto3.

One apply per session (see tests/support/terraform.py); `terraform destroy` runs at the end.
Emulated Lambdas run no code, so these tests check what Terraform built, not what runs in it.
The workflow resources are checked against workflow_rules.json, the file the embedded runtime
reads too (the workers themselves run in test_workflows_on_aws.py).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.adapters.embedded_workflows import schedule_message
from ledger.workflows import rules as workflow_rules
from tests.support.terraform import Stack

# The session fixtures `terraform_stack` and `terraform_tables` (one apply per test session,
# shared with any other module that requires the same plugin).
pytest_plugins = ["tests.support.terraform"]
pytestmark = pytest.mark.integration

RULES = workflow_rules.load()
CORE_FUNCTIONS = ("api", "projections", "publisher")
WORKERS = tuple(f"worker-{queue}" for queue in RULES.queues)
FUNCTIONS = CORE_FUNCTIONS + WORKERS
STREAM_CONSUMERS = ("projections", "publisher")
REQUIRED_OUTPUTS = (
    "api_url",
    "events_table_name",
    "snapshots_table_name",
    "read_models_table_name",
    "events_stream_arn",
    "event_bus_name",
    "workflow_queue_urls",
    "workflow_dlq_urls",
    "worker_function_names",
    "workflow_event_source_mapping_ids",
    "workflow_schedule_arns",
    "stream_dlq_url",
    "alarm_topic_arn",
    "api_function_name",
    "projections_function_name",
    "publisher_function_name",
)
LAMBDA_ENVIRONMENT = (
    "LEDGER_PERSISTENCE",
    "LEDGER_EVENTS_TABLE",
    "LEDGER_SNAPSHOTS_TABLE",
    "LEDGER_READ_MODELS_TABLE",
    "LEDGER_EVENT_BUS_NAME",
    "LEDGER_PUBLISH_EVERY_EVENT",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
)
# Only the functions that call payment providers read (and may read) the provider secret.
PROVIDER_SECRET_USERS = ("api", *WORKERS)
ALIAS = "live"  # lambda_alias_name
WORKER_ENVIRONMENT = (
    *LAMBDA_ENVIRONMENT,
    "LEDGER_PROVIDER_SECRET_ARN",
    "LEDGER_WORKER_QUEUE",
    "LEDGER_QUEUE_NAME_PREFIX",
)


def function_name(stack: Stack, key: str) -> str:
    if key.startswith("worker-"):
        return str(stack.output("worker_function_names")[key.removeprefix("worker-")])
    return str(stack.output(f"{key}_function_name"))


def mapped_function(stack: Stack, arn: str) -> str:
    """The function an event source mapping invokes, checked to be its live alias: AWS reports
    the alias's ARN, moto the version the alias points to; never the unpublished $LATEST."""
    parts = arn.split(":")
    name = parts[6]
    qualifier = parts[7] if len(parts) > 7 else None
    alias = stack.client("lambda").get_alias(FunctionName=name, Name=ALIAS)
    assert qualifier in (ALIAS, alias["FunctionVersion"]), arn
    assert alias["FunctionVersion"] != "$LATEST"
    return name


def queue_arn(stack: Stack, url: str) -> str:
    sqs = stack.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def drain(stack: Stack, url: str) -> list[dict[str, Any]]:
    """Bodies of every message on the queue now (deleted): moto delivers EventBridge targets
    synchronously, so the first empty long poll means there is no more."""
    sqs = stack.client("sqs")
    bodies: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            bodies.append(json.loads(message["Body"]))


def test_every_output_is_there(terraform_stack: Stack) -> None:
    missing = [name for name in REQUIRED_OUTPUTS if not terraform_stack.outputs.get(name)]
    assert missing == []
    assert all(terraform_stack.outputs[name]["value"] for name in REQUIRED_OUTPUTS)


def test_events_table_has_a_new_image_stream_pitr_and_the_ledger_key(
    terraform_stack: Stack,
) -> None:
    dynamodb = terraform_stack.client("dynamodb")
    table = dynamodb.describe_table(TableName=terraform_stack.output("events_table_name"))["Table"]

    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert table["LatestStreamArn"] == terraform_stack.output("events_stream_arn")
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["DeletionProtectionEnabled"] is False  # envs/local.tfvars
    for output in ("events_table_name", "snapshots_table_name", "read_models_table_name"):
        name = terraform_stack.output(output)
        described = dynamodb.describe_table(TableName=name)["Table"]["SSEDescription"]
        assert described["Status"] == "ENABLED"
        assert described["SSEType"] == "KMS"
        assert described["KMSMasterKeyArn"] == terraform_stack.output("kms_key_arn")
        backups = dynamodb.describe_continuous_backups(TableName=name)
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


def test_the_key_is_customer_managed_and_rotated(terraform_stack: Stack) -> None:
    kms = terraform_stack.client("kms")
    key_id = terraform_stack.output("kms_key_arn")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True


def test_the_events_stream_keeps_its_records_for_readers(terraform_stack: Stack) -> None:
    """The local run reads the stream itself (emulated Lambdas run no code): a write to the
    events table must stay readable from the stream, mapped functions or not."""
    dynamodb = terraform_stack.client("dynamodb")
    streams = terraform_stack.client("dynamodbstreams")
    stream_arn = terraform_stack.output("events_stream_arn")
    item = {"aggregate_id": {"S": f"stream-probe-{time.time_ns()}"}, "version": {"N": "1"}}
    dynamodb.put_item(TableName=terraform_stack.output("events_table_name"), Item=item)

    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    images = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        images += [record["dynamodb"].get("NewImage") for record in records]
    assert item in images


def test_both_stream_consumers_are_mapped_with_partial_failures_and_a_dlq(
    terraform_stack: Stack,
) -> None:
    lambda_ = terraform_stack.client("lambda")
    stream_arn = terraform_stack.output("events_stream_arn")
    dlq_arn = queue_arn(terraform_stack, terraform_stack.output("stream_dlq_url"))
    mappings = lambda_.list_event_source_mappings(EventSourceArn=stream_arn)["EventSourceMappings"]
    by_function = {mapped_function(terraform_stack, m["FunctionArn"]): m for m in mappings}

    expected = {terraform_stack.output(f"{name}_function_name") for name in STREAM_CONSUMERS}
    assert set(by_function) == expected
    for mapping in by_function.values():
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        assert 0 <= mapping["MaximumRetryAttempts"] <= 10  # bounded, never -1 (for ever)
        assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 21600  # bounded, never -1
        assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": dlq_arn}}
        assert mapping["MaximumBatchingWindowInSeconds"] == 1


def test_every_function_from_one_package_with_the_ledger_environment(
    terraform_stack: Stack,
) -> None:
    lambda_ = terraform_stack.client("lambda")
    hashes = set()
    for name in CORE_FUNCTIONS:
        function = lambda_.get_function(FunctionName=function_name(terraform_stack, name))
        config = function["Configuration"]
        environment = config["Environment"]["Variables"]
        hashes.add(config["CodeSha256"])

        assert config["Runtime"] == "python3.12"
        assert config["Architectures"] == ["arm64"]
        assert config["Handler"] == f"ledger.lambdas.{name}.handler"
        assert config["TracingConfig"] == {"Mode": "Active"}
        secret = ("LEDGER_PROVIDER_SECRET_ARN",) if name in PROVIDER_SECRET_USERS else ()
        # The api's operations routes find the workflow DLQs by the queues' prefix.
        queues = ("LEDGER_QUEUE_NAME_PREFIX",) if name == "api" else ()
        assert sorted(environment) == sorted((*LAMBDA_ENVIRONMENT, *secret, *queues))
        if queues:
            assert environment["LEDGER_QUEUE_NAME_PREFIX"] == "ledger-local"
        assert environment["LEDGER_PERSISTENCE"] == "dynamodb"
        assert environment["LEDGER_EVENTS_TABLE"] == terraform_stack.output("events_table_name")
        assert environment["LEDGER_READ_MODELS_TABLE"] == terraform_stack.output(
            "read_models_table_name"
        )
        assert environment["LEDGER_EVENT_BUS_NAME"] == terraform_stack.output("event_bus_name")
        if secret:
            assert environment["LEDGER_PROVIDER_SECRET_ARN"] == terraform_stack.output(
                "provider_secret_arn"
            )
        assert function["Concurrency"]["ReservedConcurrentExecutions"] >= 1
    for queue, spec in RULES.queues.items():
        config = lambda_.get_function(
            FunctionName=function_name(terraform_stack, f"worker-{queue}")
        )["Configuration"]
        environment = config["Environment"]["Variables"]
        hashes.add(config["CodeSha256"])

        assert config["Handler"] == "ledger.lambdas.worker.handler"
        assert config["Runtime"] == "python3.12"
        assert sorted(environment) == sorted(WORKER_ENVIRONMENT)
        assert environment["LEDGER_WORKER_QUEUE"] == queue
        assert environment["LEDGER_QUEUE_NAME_PREFIX"] == "ledger-local"
        assert environment["LEDGER_EVENTS_TABLE"] == terraform_stack.output("events_table_name")
        assert environment["LEDGER_PROVIDER_SECRET_ARN"] == terraform_stack.output(
            "provider_secret_arn"
        )
        # AWS refuses an SQS mapping whose queue hides messages for less than a run may take.
        assert 1 <= config["Timeout"] <= spec.visibility_timeout_seconds
    assert len(hashes) == 1


def test_one_queue_and_dlq_per_workflow_queue_as_the_workflow_map_says(
    terraform_stack: Stack,
) -> None:
    sqs = terraform_stack.client("sqs")
    assert set(terraform_stack.output("workflow_queue_urls")) == set(RULES.queues)
    assert set(terraform_stack.output("workflow_dlq_urls")) == set(RULES.queues)
    for queue, spec in RULES.queues.items():
        url = terraform_stack.queue_url(queue)
        assert url.endswith(f"/ledger-local-{queue}")
        assert terraform_stack.dlq_url(queue).endswith(f"/ledger-local-{queue}-dlq")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == queue_arn(
            terraform_stack, terraform_stack.dlq_url(queue)
        )
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        assert int(attributes["VisibilityTimeout"]) == spec.visibility_timeout_seconds
        assert attributes["KmsMasterKeyId"] == terraform_stack.output("kms_key_arn")
        dlq = sqs.get_queue_attributes(
            QueueUrl=terraform_stack.dlq_url(queue), AttributeNames=["All"]
        )["Attributes"]
        assert dlq["KmsMasterKeyId"] == terraform_stack.output("kms_key_arn")
        assert int(dlq["MessageRetentionPeriod"]) > int(attributes["MessageRetentionPeriod"])


def test_each_worker_drains_its_queue_with_partial_batch_responses(
    terraform_stack: Stack,
) -> None:
    lambda_ = terraform_stack.client("lambda")
    ids = terraform_stack.output("workflow_event_source_mapping_ids")
    assert set(ids) == set(RULES.queues)
    for queue in RULES.queues:
        mapping = lambda_.get_event_source_mapping(UUID=ids[queue])
        assert mapping["EventSourceArn"] == queue_arn(
            terraform_stack, terraform_stack.queue_url(queue)
        )
        assert mapped_function(terraform_stack, mapping["FunctionArn"]) == function_name(
            terraform_stack, f"worker-{queue}"
        )
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 1 <= mapping["BatchSize"] <= 10
        # envs/local.tfvars: the tests run the worker handler on the messages themselves.
        assert mapping["State"] == "Disabled"


def test_each_rule_delivers_to_its_own_queue_and_nowhere_else(terraform_stack: Stack) -> None:
    """Rules from the workflow map: every detail type a rule names reaches that rule's queue
    (and only it); an event no rule matches reaches no queue."""
    events = terraform_stack.client("events")
    bus = terraform_stack.output("event_bus_name")
    sent: dict[str, str] = {}  # detail type -> the queue it must land on
    for rule in RULES.rules:
        for detail_type in rule.event_pattern["detail-type"]:
            sent[detail_type] = rule.queue
        targets = events.list_targets_by_rule(Rule=f"ledger-local-{rule.name}", EventBusName=bus)
        (target,) = targets["Targets"]
        assert target["Arn"] == queue_arn(terraform_stack, terraform_stack.queue_url(rule.queue))
        assert target["DeadLetterConfig"]["Arn"] == queue_arn(
            terraform_stack, terraform_stack.dlq_url(rule.queue)
        )
    unrouted = "Payment.Captured"
    assert unrouted not in sent
    probe = f"probe-{time.time_ns()}"  # other tests' messages may be on the queues too
    entries = [
        {
            "EventBusName": bus,
            "Source": "payments-ledger",
            "DetailType": detail_type,
            "Detail": json.dumps({"probe": probe}),
        }
        for detail_type in [*sent, unrouted]
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

    for queue in RULES.queues:
        arrived = [
            body
            for body in drain(terraform_stack, terraform_stack.queue_url(queue))
            if body["detail"] == {"probe": probe}
        ]
        assert all(body["source"] == "payments-ledger" for body in arrived)
        assert sorted(body["detail-type"] for body in arrived) == sorted(
            detail_type for detail_type, target in sent.items() if target == queue
        ), queue


def test_schedules_put_the_embedded_schedule_message_on_their_queue(
    terraform_stack: Stack,
) -> None:
    scheduler = terraform_stack.client("scheduler")
    arns = terraform_stack.output("workflow_schedule_arns")
    assert set(arns) == {schedule.name for schedule in RULES.schedules}
    for schedule in RULES.schedules:
        found = scheduler.get_schedule(
            Name=f"ledger-local-{schedule.name}", GroupName="ledger-local-workflows"
        )
        assert found["GroupName"] == terraform_stack.output("workflow_schedule_group")
        assert found["Arn"] == arns[schedule.name]
        assert found["ScheduleExpression"] == schedule.expression
        assert found["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert found["KmsKeyArn"] == terraform_stack.output("kms_key_arn")
        target = found["Target"]
        assert target["Arn"] == queue_arn(
            terraform_stack, terraform_stack.queue_url(schedule.queue)
        )
        assert target["DeadLetterConfig"]["Arn"] == queue_arn(
            terraform_stack, terraform_stack.dlq_url(schedule.queue)
        )
        assert target["RoleArn"].endswith(":role/ledger-local-scheduler")
        # Scheduler substitutes the placeholder as text: it must be there unescaped.
        assert '"<aws.scheduler.scheduled-time>"' in target["Input"]
        expected = schedule_message(schedule, datetime(2030, 1, 1, tzinfo=UTC))
        expected["detail"]["scheduled_time"] = "<aws.scheduler.scheduled-time>"
        assert json.loads(target["Input"]) == expected


def test_the_bus_is_archived_and_both_use_the_ledger_key(terraform_stack: Stack) -> None:
    events = terraform_stack.client("events")
    key = terraform_stack.output("kms_key_arn")
    bus = events.describe_event_bus(Name=terraform_stack.output("event_bus_name"))
    assert bus["KmsKeyIdentifier"] == key
    assert bus["DeadLetterConfig"]["Arn"] == queue_arn(
        terraform_stack, terraform_stack.output("bus_dlq_url")
    )
    archives = events.list_archives(EventSourceArn=bus["Arn"])["Archives"]
    assert [a["ArchiveName"] for a in archives] == [terraform_stack.output("event_archive_name")]
    archive = events.describe_archive(ArchiveName=terraform_stack.output("event_archive_name"))
    assert archive.get("KmsKeyIdentifier", key) == key  # moto does not keep an archive's key
    # The archive comes from a CloudFormation stack (the provider cannot set its key): the
    # template Terraform applied names the ledger key.
    template = terraform_stack.client("cloudformation").get_template(
        StackName=terraform_stack.output("event_archive_stack")
    )["TemplateBody"]
    if isinstance(template, str):
        template = json.loads(template)
    properties = template["Resources"]["Archive"]["Properties"]
    assert (properties["KmsKeyIdentifier"], properties["SourceArn"]) == (key, bus["Arn"])
    # EventBridge may use the key for this bus only.
    policy = json.loads(
        terraform_stack.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    )
    (statement,) = [
        s for s in policy["Statement"] if s["Sid"] == "EventBridgeEncryptsTheLedgerBusAndArchive"
    ]
    assert statement["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": bus["Arn"]}
    }


def test_the_provider_secret_starts_as_an_empty_configuration(terraform_stack: Stack) -> None:
    """A first deploy starts: every function that reads the secret finds a value, `{}` (no
    provider configured), never ResourceNotFound."""
    secrets = terraform_stack.client("secretsmanager")
    arn = terraform_stack.output("provider_secret_arn")
    assert json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"]) == {}
    assert secrets.describe_secret(SecretId=arn)["KmsKeyId"] == terraform_stack.output(
        "kms_key_arn"
    )


def test_the_http_api_proxies_everything_to_the_api_function(terraform_stack: Stack) -> None:
    gateway = terraform_stack.client("apigatewayv2")
    lambda_ = terraform_stack.client("lambda")
    api_id = terraform_stack.output("api_id")
    function_arn = lambda_.get_function(FunctionName=terraform_stack.output("api_function_name"))[
        "Configuration"
    ]["FunctionArn"]

    assert gateway.get_api(ApiId=api_id)["ProtocolType"] == "HTTP"
    (integration,) = gateway.get_integrations(ApiId=api_id)["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    # Through the live alias: a deploy moves the API to the new version at once.
    assert f"{function_arn}:{ALIAS}/invocations" in integration["IntegrationUri"]
    routes = gateway.get_routes(ApiId=api_id)["Items"]
    assert [(r["RouteKey"], r["Target"]) for r in routes] == [
        ("$default", f"integrations/{integration['IntegrationId']}")
    ]
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"]


def alarms_of(stack: Stack) -> dict[str, Any]:
    pages = stack.client("cloudwatch").get_paginator("describe_alarms")
    return {
        alarm["AlarmName"]: alarm
        for page in pages.paginate(AlarmNamePrefix="ledger-local")
        for alarm in page["MetricAlarms"]
    }


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric, dimensions) of a plain alarm, or of each metric of a math alarm."""
    if "MetricName" in alarm:
        stats = [{"Namespace": alarm["Namespace"], **alarm}]
    else:
        stats = [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]
    return [
        (
            stat["Namespace"],
            stat["MetricName"],
            {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])},
        )
        for stat in stats
    ]


def test_alarms_notify_the_alarm_topic(terraform_stack: Stack) -> None:
    alarms = alarms_of(terraform_stack)
    watched = [metric for alarm in alarms.values() for metric in alarm_metrics(alarm)]

    def dimension_values(namespace: str, metric: str, dimension: str) -> list[str]:
        return sorted(d[dimension] for n, m, d in watched if (n, m) == (namespace, metric))

    names = sorted(function_name(terraform_stack, key) for key in FUNCTIONS)
    assert dimension_values("AWS/Lambda", "Errors", "FunctionName") == names
    assert dimension_values("AWS/Lambda", "Throttles", "FunctionName") == names
    assert dimension_values("AWS/Lambda", "IteratorAge", "FunctionName") == sorted(
        function_name(terraform_stack, key) for key in STREAM_CONSUMERS
    )
    dead_letter_queues = {f"ledger-local-{queue}-dlq" for queue in RULES.queues} | {
        "ledger-local-stream-dlq",
        "ledger-local-bus-dlq",
    }
    every_queue = dead_letter_queues | {f"ledger-local-{queue}" for queue in RULES.queues}
    assert set(dimension_values("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName")) == (
        dead_letter_queues
    )
    assert dimension_values("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName") == sorted(
        every_queue
    )
    tables = sorted(
        terraform_stack.output(f"{role}_table_name")
        for role in ("events", "snapshots", "read_models")
    )
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert dimension_values("AWS/DynamoDB", metric, "TableName") == tables
    system_errors = [d for n, m, d in watched if m == "SystemErrors"]
    assert {d["TableName"] for d in system_errors} == set(tables)
    assert {d["Operation"] for d in system_errors} >= {"TransactWriteItems", "Query", "GetItem"}
    assert dimension_values("AWS/Events", "FailedInvocations", "RuleName") == sorted(
        f"ledger-local-{rule.name}" for rule in RULES.rules
    )
    assert dimension_values("AWS/Scheduler", "TargetErrorCount", "ScheduleGroup") == [
        terraform_stack.output("workflow_schedule_group")
    ]
    assert ("AWS/ApiGateway", "5xx") in {(n, m) for n, m, _ in watched}
    latency = [a for a in alarms.values() if a.get("MetricName") == "Latency"]
    assert [a["ExtendedStatistic"] for a in latency] == ["p99"]
    topic = terraform_stack.output("alarm_topic_arn")
    assert all(alarm["AlarmActions"] == [topic] for alarm in alarms.values())
    assert all(alarm["OKActions"] == [topic] for alarm in alarms.values())


def test_the_dashboard_shows_every_function_queue_and_table(terraform_stack: Stack) -> None:
    cloudwatch = terraform_stack.client("cloudwatch")
    body = cloudwatch.get_dashboard(DashboardName=terraform_stack.output("dashboard_name"))[
        "DashboardBody"
    ]
    widgets = json.loads(body)["widgets"]
    shown = json.dumps([w["properties"].get("metrics", []) for w in widgets])
    for key in FUNCTIONS:
        assert function_name(terraform_stack, key) in shown
    for queue in RULES.queues:
        assert f'"ledger-local-{queue}"' in shown
        assert f'"ledger-local-{queue}-dlq"' in shown
    for role in ("events", "snapshots", "read_models"):
        assert terraform_stack.output(f"{role}_table_name") in shown
    assert terraform_stack.output("api_id") in shown


def test_function_logs_are_kept_for_a_bounded_time(terraform_stack: Stack) -> None:
    logs = terraform_stack.client("logs")
    for name in FUNCTIONS:
        group = f"/aws/lambda/{function_name(terraform_stack, name)}"
        (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert found["retentionInDays"] == 1  # envs/local.tfvars
        assert found["kmsKeyId"] == terraform_stack.output("kms_key_arn")


def test_backups_are_copied_to_a_vault_in_the_second_region(terraform_stack: Stack) -> None:
    backup = terraform_stack.client("backup")
    plan = backup.get_backup_plan(BackupPlanId=terraform_stack.output("backup_plan_id"))
    (rule,) = plan["BackupPlan"]["Rules"]
    (copy,) = rule["CopyActions"]
    vaults = terraform_stack.output("backup_vault_arns")
    assert copy["DestinationBackupVaultArn"] == vaults["copy"]
    assert vaults["copy"].split(":")[3] == "us-west-2"
    assert vaults["primary"].split(":")[3] == terraform_stack.region


def test_table_definitions_match_the_event_store_and_read_model_layout(
    terraform_tables: dict[str, dict[str, Any]],
) -> None:
    event_keys = [("aggregate_id", "HASH", "S"), ("version", "RANGE", "N")]
    assert terraform_tables["events"]["keys"] == event_keys
    assert terraform_tables["events"]["stream_view_type"] == "NEW_IMAGE"
    assert terraform_tables["snapshots"]["keys"] == event_keys
    assert terraform_tables["snapshots"]["stream_view_type"] is None
    read_models = terraform_tables["read_models"]
    assert read_models["keys"] == [("pk", "HASH", "S"), ("sk", "RANGE", "S")]
    assert read_models["global_secondary_indexes"] == {
        "gsi1": {
            "keys": [("gsi1pk", "HASH", "S"), ("gsi1sk", "RANGE", "S")],
            "projection": "KEYS_ONLY",
        },
        "gsi2": {
            "keys": [("gsi2pk", "HASH", "S"), ("gsi2sk", "RANGE", "S")],
            "projection": "INCLUDE",
        },
    }

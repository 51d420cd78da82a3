"""The production plan: `terraform init` with the production backend file (envs/prod.s3.tfbackend:
S3 state, lock file, the state key) and `terraform plan -var-file=envs/prod.tfvars`, on a fresh
moto server standing in for the account (the state bucket and its key made first, as
terraform/state-bucket/ makes them). What the plan must show: the alarm subscription, the new
alarms, the dashboard, the backup region settings and vault lock, the bus and archive under the
ledger key, SnapStart and the live aliases; and the state and its lock really go to S3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support.moto_server import moto_server
from tests.support.terraform import (
    TERRAFORM_DIR,
    Terraform,
    placeholder_package,
    unavailable_reason,
)

pytestmark = pytest.mark.integration

BACKEND_FILE = TERRAFORM_DIR / "envs" / "prod.s3.tfbackend"


def backend_settings() -> dict[str, str]:
    settings = {}
    for line in BACKEND_FILE.read_text().splitlines():
        found = re.match(r'^\s*(\w+)\s*=\s*"?([^"]*)"?\s*$', line)
        if found:
            settings[found.group(1)] = found.group(2)
    return settings


@pytest.fixture(scope="module")
def production_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    scratch = tmp_path_factory.mktemp("prod-plan")
    backend = backend_settings()
    region = backend["region"]
    with moto_server(scratch / "moto.log") as endpoint:
        aws = {
            "endpoint_url": endpoint,
            "region_name": region,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        s3 = boto3.client("s3", **aws)
        s3.create_bucket(
            Bucket=backend["bucket"], CreateBucketConfiguration={"LocationConstraint": region}
        )
        kms = boto3.client("kms", **aws)
        key = kms.create_key(Description="terraform state")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=backend["kms_key_id"].split(":", 5)[5], TargetKeyId=key)

        tf = Terraform(scratch / "root", endpoint, scratch / "terraform.log")
        tf.copy_root(local_state=False)
        tf.run(
            "init",
            "-input=false",
            "-no-color",
            "-backend-config=envs/prod.s3.tfbackend",
            # The emulator stands in for S3 (path-style, no account lookups).
            f'-backend-config=endpoints={{s3="{endpoint}"}}',
            "-backend-config=use_path_style=true",
            "-backend-config=skip_credentials_validation=true",
            "-backend-config=skip_requesting_account_id=true",
            "-backend-config=skip_metadata_api_check=true",
        )
        package = placeholder_package(scratch / "lambda.zip")
        tf.run(
            "plan",
            "-input=false",
            "-no-color",
            "-lock=true",
            "-var-file=envs/prod.tfvars",
            f"-var=lambda_package_path={package}",
            "-out=prod.tfplan",
        )
        plan = json.loads(tf.run("show", "-json", "prod.tfplan"))
        objects = s3.list_objects_v2(Bucket=backend["bucket"]).get("Contents", [])
        plan["_state_objects"] = [o["Key"] for o in objects]
        plan["_backend"] = json.loads((tf.workdir / ".terraform" / "terraform.tfstate").read_text())
        yield plan


def planned(plan: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        change
        for change in plan["resource_changes"]
        if change["type"] == resource_type and change["change"]["actions"] == ["create"]
    ]


def configured(plan: dict[str, Any], address: str) -> dict[str, Any]:
    (resource,) = [
        r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address
    ]
    return dict(resource["expressions"])


def test_the_state_lives_in_s3_with_a_lock_file(production_plan: dict[str, Any]) -> None:
    backend = production_plan["_backend"]["backend"]
    assert backend["type"] == "s3"
    config = backend["config"]
    settings = backend_settings()
    assert config["bucket"] == settings["bucket"]
    assert config["key"] == "payments-ledger/prod/terraform.tfstate"
    assert config["use_lockfile"] is True
    assert config["encrypt"] is True
    assert config["kms_key_id"] == settings["kms_key_id"]
    # The plan took the lock (a lock file beside the state) and released it.
    assert not [k for k in production_plan["_state_objects"] if k.endswith(".tflock")]


def test_alarms_reach_the_on_call_subscription(production_plan: dict[str, Any]) -> None:
    (subscription,) = planned(production_plan, "aws_sns_topic_subscription")
    assert subscription["change"]["after"]["protocol"] == "email"
    assert "@" in subscription["change"]["after"]["endpoint"]
    alarms = {
        a["change"]["after"]["alarm_name"]
        for a in planned(production_plan, "aws_cloudwatch_metric_alarm")
    }
    for suffix in (
        "-api-throttles",
        "-projections-throttles",
        "-events-throttles",
        "-events-system-errors",
        "-read-models-system-errors",
        "-refund-execution-oldest-message",
        "-refund-execution-dlq-oldest-message",
        "-stream-dlq-oldest-message",
        "-bus-dlq-depth",
        "-refund-requested-failed-invocations",
        "-workflows-target-errors",
        "-projections-iterator-age",
        "-publisher-iterator-age",
        "-provider-events-needing-attention",
    ):
        assert f"ledger-prod{suffix}" in alarms, suffix
    (dashboard,) = planned(production_plan, "aws_cloudwatch_dashboard")
    assert dashboard["change"]["after"]["dashboard_name"] == "ledger-prod-ledger"


def test_backups_copy_across_regions_with_dynamodb_advanced_features_and_a_lock(
    production_plan: dict[str, Any],
) -> None:
    (settings,) = planned(production_plan, "aws_backup_region_settings")
    after = settings["change"]["after"]
    assert after["resource_type_opt_in_preference"]["DynamoDB"] is True
    assert after["resource_type_management_preference"]["DynamoDB"] is True
    locks = planned(production_plan, "aws_backup_vault_lock_configuration")
    assert sorted(lock["address"] for lock in locks) == [
        "aws_backup_vault_lock_configuration.copy[0]",
        "aws_backup_vault_lock_configuration.primary[0]",
    ]
    assert all(lock["change"]["after"]["min_retention_days"] == 7 for lock in locks)
    (selection,) = planned(production_plan, "aws_backup_selection")
    assert selection


def test_the_bus_and_its_archive_are_under_the_ledger_key(production_plan: dict[str, Any]) -> None:
    bus = configured(production_plan, "aws_cloudwatch_event_bus.ledger")
    assert bus["kms_key_identifier"]["references"][0] == "aws_kms_key.ledger.arn"
    assert bus["dead_letter_config"][0]["arn"]["references"][0] == "aws_sqs_queue.bus_dlq.arn"
    (stack,) = planned(production_plan, "aws_cloudformation_stack")
    template_refs = configured(production_plan, "aws_cloudformation_stack.event_archive")
    assert "aws_kms_key.ledger.arn" in template_refs["template_body"]["references"]
    assert stack["change"]["after"]["name"] == "ledger-prod-event-archive"
    assert not planned(production_plan, "aws_cloudwatch_event_archive")


def test_functions_publish_versions_with_snapstart_behind_live_aliases(
    production_plan: dict[str, Any],
) -> None:
    functions = planned(production_plan, "aws_lambda_function")
    assert functions
    for function in functions:
        after = function["change"]["after"]
        assert after["publish"] is True
        assert after["snap_start"] == [{"apply_on": "PublishedVersions"}]
    aliases = planned(production_plan, "aws_lambda_alias")
    assert len(aliases) == len(functions)
    assert all(alias["change"]["after"]["name"] == "live" for alias in aliases)
    mappings = configured(production_plan, "aws_lambda_event_source_mapping.stream")
    assert mappings["function_name"]["references"][0].startswith("aws_lambda_alias.live")


def test_the_stream_mappings_batch_and_the_projections_are_filtered_and_windowed(
    production_plan: dict[str, Any],
) -> None:
    mappings = {
        change["index"]: change["change"]["after"]
        for change in planned(production_plan, "aws_lambda_event_source_mapping")
        if change["address"].startswith("aws_lambda_event_source_mapping.stream[")
    }
    assert set(mappings) == {"projections", "publisher"}
    for mapping in mappings.values():
        assert mapping["maximum_batching_window_in_seconds"] == 1
        assert mapping["batch_size"] == 100
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    projections, publisher = mappings["projections"], mappings["publisher"]
    assert projections["parallelization_factor"] == 1  # one writer a shard's counters
    assert projections["tumbling_window_in_seconds"] == 60  # so each batch names its shard
    (criteria,) = projections["filter_criteria"]
    (pattern,) = [json.loads(f["pattern"]) for f in criteria["filter"]]
    assert pattern["eventName"] == ["INSERT"]
    prefixes = {p["prefix"] for p in pattern["dynamodb"]["NewImage"]["topic"]["S"]}
    assert "ledger.domain.payment:Payment." in prefixes
    assert not any("idempotency" in prefix or "payable" in prefix for prefix in prefixes)
    # Only the events a workflow rule matches invoke the publisher (no captured payment).
    (criteria,) = publisher["filter_criteria"]
    (pattern,) = [json.loads(f["pattern"]) for f in criteria["filter"]]
    assert pattern["eventName"] == ["INSERT"]
    topics = set(pattern["dynamodb"]["NewImage"]["topic"]["S"])
    assert "ledger.domain.payment:Payment.RefundRequested" in topics
    assert "ledger.domain.payout:Payout.Approved" in topics
    assert "ledger.domain.payment:Payment.Captured" not in topics


def test_only_provider_callers_get_the_secret(production_plan: dict[str, Any]) -> None:
    for function in planned(production_plan, "aws_lambda_function"):
        key = function["index"]
        variables = function["change"]["after"]["environment"][0].get("variables", {})
        # The secret's ARN is unknown until it exists, and makes the whole map unknown.
        unknown = function["change"]["after_unknown"]["environment"][0].get("variables", {})
        if key == "api" or key.startswith("worker-"):
            assert unknown is True or "LEDGER_PROVIDER_SECRET_ARN" in unknown, key
        else:
            assert unknown == {}, key
            assert "LEDGER_PROVIDER_SECRET_ARN" not in variables, key
    # The first deploy starts: the secret's first value is an empty configuration.
    (version,) = planned(production_plan, "aws_secretsmanager_secret_version")
    assert json.loads(version["change"]["after"]["secret_string"]) == {}

"""`terraform apply` of the real terraform/ root against a local AWS (moto's server).

The stack is applied in a temporary copy of terraform/ with its own state, so nothing is ever
left in the repository, and destroyed afterwards. Use it through the session fixtures at the end
of this module, in any test module (or the top conftest) that requires this plugin:

    pytest_plugins = ["tests.support.terraform"]

Modules may also import its helpers directly, before or after that: PYTEST_DONT_REWRITE (pytest
skips assertion rewriting here, which this module does not need, so a plugin that was already
imported raises no PytestAssertRewriteWarning).

`terraform_tables` gives the key schema, attribute types and indexes of the tables Terraform
created, in the same normal form `table_definition()` gives for any DescribeTable answer: compare
it with the tables a test creates in DynamoDB Local.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.moto_server import moto_available, moto_server

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
TERRAFORM_SH = ROOT / "scripts" / "terraform.sh"
BUILT_PACKAGE = ROOT / "build" / "lambda.zip"
REGION = "us-east-1"  # envs/local.tfvars
VAR_FILE = "envs/local.tfvars"
TIMEOUT = 600

# Table output name -> the name tests use for it.
TABLE_OUTPUTS = {
    "events": "events_table_name",
    "snapshots": "snapshots_table_name",
    "read_models": "read_models_table_name",
}

HANDLER_MODULES = ("api", "projections", "publisher", "worker")
LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'


def provider_mirror() -> Path:
    return Path(os.environ.get("TF_PROVIDER_MIRROR", "/opt/tf-plugins"))


def unavailable_reason() -> str | None:
    """Why the terraform apply run cannot happen on this machine, or None if it can."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH: the terraform apply + AWS integration run did NOT run"
    if not provider_mirror().is_dir():
        return (
            f"no Terraform provider mirror at {provider_mirror()} (set TF_PROVIDER_MIRROR): "
            "the terraform apply + AWS integration run did NOT run"
        )
    if not moto_available():
        return "moto[server] is not installed: the terraform apply + AWS run did NOT run"
    return None


def placeholder_package(path: Path) -> Path:
    """A tiny deployment zip with stub handler modules: moto stores Lambda code, never runs it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in ("ledger/__init__.py", "ledger/lambdas/__init__.py"):
            archive.writestr(zipfile.ZipInfo(module, (2020, 1, 1, 0, 0, 0)), "")
        for name in HANDLER_MODULES:
            archive.writestr(
                zipfile.ZipInfo(f"ledger/lambdas/{name}.py", (2020, 1, 1, 0, 0, 0)),
                "def handler(event, context):\n    raise NotImplementedError('placeholder')\n",
            )
    return path


def lambda_package(scratch: Path) -> Path:
    """build/lambda.zip when `make package` has run, else a placeholder (tests never need it)."""
    if BUILT_PACKAGE.is_file():
        return BUILT_PACKAGE
    return placeholder_package(scratch / "lambda-placeholder.zip")


def aws_env(endpoint: str) -> dict[str, str]:
    """Environment for terraform and boto3 against the emulator: dummy credentials only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # moto accepts any credentials
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
    )
    return env


@dataclass(frozen=True)
class Stack:
    """An applied terraform/ root: where it runs and what `terraform output -json` said."""

    endpoint: str
    region: str
    outputs: Mapping[str, Any]

    def output(self, name: str) -> Any:
        return self.outputs[name]["value"]

    def queue_url(self, queue: str) -> str:
        """URL of a workflow queue, by its name in workflow_rules.json."""
        return str(self.output("workflow_queue_urls")[queue])

    def dlq_url(self, queue: str) -> str:
        """URL of a workflow queue's dead-letter queue."""
        return str(self.output("workflow_dlq_urls")[queue])

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto accepts any credentials
        )


class Terraform:
    """Runs scripts/terraform.sh (offline provider mirror) in a working copy of terraform/."""

    def __init__(self, workdir: Path, endpoint: str, log: Path) -> None:
        self.workdir = workdir
        self.env = aws_env(endpoint)
        self.log = log

    def copy_root(self, *, local_state: bool = True) -> None:
        shutil.copytree(
            TERRAFORM_DIR,
            self.workdir,
            ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"),
        )
        if local_state:
            # The root keeps its state in S3 (backend.tf); the emulator run keeps it here, in
            # the scratch folder, through an override file (Terraform merges *_override.tf
            # last).
            (self.workdir / "backend_override.tf").write_text(LOCAL_BACKEND)

    def run(self, *args: str) -> str:
        started = time.monotonic()
        process = subprocess.Popen(
            [str(TERRAFORM_SH), *args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGINT: terraform stops its providers and releases the state lock itself.
            process.send_signal(signal.SIGINT)
            try:
                stdout, stderr = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
            stderr += f"\n(stopped after {TIMEOUT} s)"
        with self.log.open("a") as log:
            log.write(f"$ terraform {' '.join(args)}  ({time.monotonic() - started:.1f} s)\n")
            log.write(stdout + stderr + "\n")
        if process.returncode != 0:
            raise RuntimeError(
                f"terraform {args[0]} failed ({process.returncode}), log in {self.log}:\n"
                f"{stderr[-4000:]}"
            )
        return stdout

    def apply_args(
        self,
        package: Path,
        var_file: str = VAR_FILE,
        variables: Mapping[str, str] | None = None,
    ) -> list[str]:
        return [
            "-input=false",
            "-no-color",
            f"-var-file={var_file}",
            f"-var=lambda_package_path={package}",
            *(f"-var={name}={value}" for name, value in (variables or {}).items()),
        ]


@contextmanager
def _emulator(scratch: Path) -> Iterator[str]:
    """LEDGER_TEST_AWS_ENDPOINT (LocalStack, `make localstack-test`) when set, else a fresh
    moto server started here."""
    external = os.environ.get("LEDGER_TEST_AWS_ENDPOINT")
    if external:
        yield external
        return
    with moto_server(scratch / "moto.log") as endpoint:
        yield endpoint


@contextmanager
def applied(
    endpoint: str,
    scratch: Path,
    package: Path,
    *,
    var_file: str = VAR_FILE,
    variables: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """The real terraform/ root applied to the emulator at `endpoint` (state in `scratch`),
    then destroyed, also after a failed apply."""
    tf = Terraform(scratch / "root", endpoint, scratch / "terraform.log")
    tf.copy_root()
    tf.run("init", "-input=false", "-no-color")
    arguments = tf.apply_args(package, var_file, variables)
    try:
        tf.run("apply", "-auto-approve", *arguments)
        outputs = json.loads(tf.run("output", "-json"))
        yield Stack(endpoint=endpoint, region=REGION, outputs=outputs)
    finally:
        # Also after a failed apply: whatever it created goes (matters on LocalStack).
        tf.run("destroy", "-auto-approve", *arguments)


@contextmanager
def applied_stack(scratch: Path) -> Iterator[Stack]:
    """moto's server with the real terraform/ root applied to it (state in `scratch`), then
    `terraform destroy` and the server stopped. Raises if terraform cannot run here: callers
    check `unavailable_reason()` first."""
    with (
        _emulator(scratch) as endpoint,
        applied(endpoint, scratch, lambda_package(scratch)) as stack,
    ):
        yield stack


@pytest.fixture(scope="session")
def terraform_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's applied stack; skips loudly where terraform or its mirror is missing."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    with applied_stack(tmp_path_factory.mktemp("terraform")) as stack:
        yield stack


def table_definition(description: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a DescribeTable answer that code and Terraform must agree on, in a normal form:
    key schema, attribute types, global secondary indexes (keys and projection), stream view."""
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        order = {"HASH": 0, "RANGE": 1}
        ordered = sorted(schema, key=lambda k: order[k["KeyType"]])
        return [(k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in ordered]

    indexes = {
        index["IndexName"]: {
            "keys": keys(index["KeySchema"]),
            "projection": index["Projection"]["ProjectionType"],
        }
        for index in description.get("GlobalSecondaryIndexes", [])
    }
    stream = description.get("StreamSpecification") or {}
    return {
        "keys": keys(description["KeySchema"]),
        "attributes": dict(sorted(types.items())),
        "global_secondary_indexes": indexes,
        "stream_view_type": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
    }


def terraform_table_definitions(stack: Stack) -> dict[str, dict[str, Any]]:
    """Definitions of the tables Terraform created, read back from DynamoDB, by role
    ("events", "snapshots", "read_models")."""
    dynamodb = stack.client("dynamodb")
    return {
        role: table_definition(dynamodb.describe_table(TableName=stack.output(output))["Table"])
        for role, output in TABLE_OUTPUTS.items()
    }


@pytest.fixture(scope="session")
def terraform_tables(terraform_stack: Stack) -> dict[str, dict[str, Any]]:
    """`terraform_table_definitions()` of the session's applied stack."""
    return terraform_table_definitions(terraform_stack)

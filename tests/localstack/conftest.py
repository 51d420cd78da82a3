"""The LocalStack run (`make localstack-test`): LocalStack started here, the Terraform root
applied to it with envs/localstack.tfvars, destroyed at the end (tests/support/localstack.py)."""

from __future__ import annotations

import os

import pytest

from tests.support import localstack, terraform


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.localstack)


def skip_or_fail(reason: str) -> None:
    """`make localstack-test` requires the run (LEDGER_LOCALSTACK_REQUIRED=1); elsewhere it is
    skipped, loudly."""
    if os.environ.get("LEDGER_LOCALSTACK_REQUIRED") == "1":
        pytest.fail(f"the LocalStack run cannot happen: {reason}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {reason}: the LocalStack run did NOT run")


@pytest.fixture(scope="session")
def localstack_available() -> None:
    reason = localstack.unavailable_reason() or terraform.unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)

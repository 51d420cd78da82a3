from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.servers import dynamodb_local


@pytest.fixture(scope="session")
def aws_credentials() -> None:
    # Emulators accept any credentials; never let tests reach a real account.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def dynamodb_endpoint(aws_credentials: None) -> Iterator[str]:
    with dynamodb_local() as endpoint:
        yield endpoint

"""Schema-driven fuzzing: whatever a client sends, the API never answers with a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.app import create_app
from ledger.bootstrap import build
from ledger.settings import Settings

pytestmark = pytest.mark.integration

_container = build(Settings(persistence="popo"))
_secret, _ = _container.keys.create(["admin"])
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_container, follow=False))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_fail(case: Any) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {_secret}"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400:
        content_type = response.headers.get("content-type")
        if isinstance(content_type, list):
            content_type = content_type[0]
        assert str(content_type).startswith("application/problem+json")

"""Unknown query parameters and unknown enum values are refused with 422, never ignored
(issue 12, item 7): every GET route of the OpenAPI document is walked, so a route added later is
covered without being named here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Api

ENUM_FILTERS = {
    "/v1/payments": "status",
    "/v1/refunds": "status",
    "/v1/payouts": "status",
    "/v1/disputes": "status",
    "/v1/subscriptions": "status",
}


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "pay_" + "0" * 32, path)
        for method, operation in item.items():
            found.append((method.upper(), concrete, operation))
    return found


def test_every_get_route_refuses_an_unknown_query_parameter(
    api: Api, admin: dict[str, str]
) -> None:
    gets = [(path, op) for method, path, op in _operations(api) if method == "GET"]
    assert len(gets) >= 19
    for path, _ in gets:
        answer = api.client.get(path, params={"customer_idx": "cus_1"}, headers=admin)
        assert answer.status_code == 422, (path, answer.status_code, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["type"] == "urn:ledger:problem:unknown-query-parameter", path
        assert "'customer_idx'" in problem["detail"]


def test_routes_that_take_no_query_refuse_one_too(api: Api, admin: dict[str, str]) -> None:
    for method, path, _ in _operations(api):
        if method == "GET":
            continue
        answer = api.client.request(method, path, params={"dry_run": "1"}, headers=admin)
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["type"] == "urn:ledger:problem:unknown-query-parameter"


def test_a_declared_parameter_is_still_accepted(api: Api, admin: dict[str, str]) -> None:
    for path in ENUM_FILTERS:
        assert api.get(path, admin, limit=5).status_code == 200, path
    assert api.client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", sorted(ENUM_FILTERS))
def test_an_unknown_enum_value_is_refused(api: Api, admin: dict[str, str], path: str) -> None:
    answer = api.get(path, admin, **{ENUM_FILTERS[path]: "bogus"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:ledger:problem:validation-failed"
    assert "bogus" not in answer.text  # input is never echoed back


def test_a_single_valued_parameter_given_twice_is_refused(api: Api, admin: dict[str, str]) -> None:
    answer = api.client.get(
        "/v1/payments", params=[("status", "captured"), ("status", "voided")], headers=admin
    )
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:ledger:problem:repeated-query-parameter"


def test_the_old_silently_ignored_filter_is_refused(api: Api, admin: dict[str, str]) -> None:
    """`?customer_id=` used to return every payment (issue 12)."""
    answer = api.get("/v1/payments", admin, customer_id="cus_1")
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:ledger:problem:unknown-query-parameter"

"""Unknown query parameters and unknown enum values are refused with 422, never ignored
(issue 12, item 7): every GET route of the OpenAPI document is walked, so a route added later is
covered without being named here."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Api

ENUM_FILTERS = {  # the lists' status filters, each also accepted with a valid value below
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


def _allowed_values(document: dict[str, Any], schema: dict[str, Any]) -> list[Any] | None:
    """The values an enum-valued (or const) parameter schema allows; None if it is not one."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _allowed_values(document, document["components"]["schemas"][name])
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    for option in schema.get("anyOf", []):
        found = _allowed_values(document, option)
        if found is not None:
            return found
    return None


def _typed_query_parameters(api: Api) -> list[tuple[str, str, str, list[Any] | None]]:
    """(concrete path, parameter, schema type, allowed values) of every GET route's query
    parameters that take an enum or a boolean, from the OpenAPI document."""
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        concrete = re.sub(r"\{[^}]+\}", "x_abc", path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            schema = parameter["schema"]
            allowed = _allowed_values(document, schema)
            kind = "boolean" if schema.get("type") == "boolean" else "enum"
            if allowed is not None or kind == "boolean":
                found.append((concrete, parameter["name"], kind, allowed))
    return found


def test_every_enum_query_parameter_of_every_get_route_refuses_an_unknown_value(
    api: Api, admin: dict[str, str]
) -> None:
    """Walked from the OpenAPI document: a value outside the enum (or a boolean that is not
    one) is a 422 naming that parameter, whatever else the route needs."""
    typed = _typed_query_parameters(api)
    enums = {(path, name) for path, name, kind, _ in typed if kind == "enum"}
    assert {
        ("/v1/payments", "status"),
        ("/v1/payouts", "awaiting_approval_by"),
        ("/v1/statements/manufacturers/x_abc", "as"),
        ("/v1/reports/platform/pnl", "as"),
    } <= enums
    assert len(enums) >= 8
    for path, name, kind, allowed in typed:
        bogus = "maybe" if kind == "boolean" else "bogus_value"
        assert allowed is None or bogus not in allowed
        answer = api.client.get(path, params={name: bogus}, headers=admin)
        assert answer.status_code == 422, (path, name, answer.text)
        problem = answer.json()
        assert problem["type"] == "urn:ledger:problem:validation-failed", (path, name)
        assert ["query", name] in [error["location"] for error in problem["errors"]], (path, name)
        assert bogus not in answer.text

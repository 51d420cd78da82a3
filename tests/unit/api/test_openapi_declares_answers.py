"""The OpenAPI document declares the answers the API gives (issue 11, item 12), so generated
clients (and schemathesis, tests/integration/test_api_fuzz.py) know every one of them."""

from __future__ import annotations

from typing import Any

from api.currencies import CODES
from tests.conftest import Api

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _document(api: Api) -> dict[str, Any]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_openapi_declares_problems_as_problem_json(api: Api) -> None:
    document = _document(api)
    assert "Problem" in document["components"]["schemas"]
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        assert {"413", "422"} <= set(responses), (method, path)
        for status, response in responses.items():
            if status.startswith("4"):
                content = response.get("content")
                assert content == {"application/problem+json": {"schema": PROBLEM}}, (
                    method,
                    path,
                    status,
                )


def test_authenticated_operations_declare_bearer_security_and_401(api: Api) -> None:
    document = _document(api)
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["apiKey"]["description"],
        }
    }
    public = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/v1/webhooks/{provider}")}
    for method, path, operation in _operations(document):
        if (method, path) in public:
            assert "security" not in operation, path
            assert "401" not in operation["responses"], path
        else:
            assert operation["security"] == [{"apiKey": []}], (method, path)
            assert {"401", "403", "404"} <= set(operation["responses"]), (method, path)


def test_the_idempotency_key_is_required_where_money_moves(api: Api) -> None:
    document = _document(api)
    required = {}
    for method, path, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "Idempotency-Key":
                assert parameter["schema"] == {"type": "string", "pattern": "^[!-~]{1,255}$"}
                required[f"{method} {path}"] = parameter["required"]
    assert required["POST /v1/payments"] is True
    assert required["POST /v1/payments/{payment_id}/refunds"] is True
    assert required["POST /v1/payouts"] is True
    assert required["POST /v1/manufacturers"] is False  # moves no money: a key is optional
    assert required["POST /v1/periods/{period}/close"] is False


def test_currencies_are_iso_codes_in_fields_and_per_currency_maps(api: Api) -> None:
    schemas = _document(api)["components"]["schemas"]
    assert {"USD", "JPY", "BHD"} <= set(CODES)
    assert "XXX" not in CODES
    assert schemas["PaymentIn"]["properties"]["currency"]["enum"] == list(CODES)
    threshold = schemas["ManufacturerIn"]["properties"]["payout_approval_threshold"]
    assert threshold["propertyNames"] == {"enum": list(CODES)}


def test_csv_alternatives_are_declared_where_routes_negotiate(api: Api) -> None:
    paths = _document(api)["paths"]
    for path in (
        "/v1/payments",
        "/v1/ledger/trial-balance",
        "/v1/reports/manufacturers/{manufacturer_id}",
        "/v1/statements/manufacturers/{manufacturer_id}",
        "/v1/reports/platform/pnl",
    ):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert content["text/csv"] == {"schema": {"type": "string"}}, path
        assert "application/json" in content, path


def test_an_issued_statement_of_an_open_month_is_a_declared_409(
    api: Api, admin: dict[str, str]
) -> None:
    answer = api.get("/v1/reports/platform/pnl", admin, period="2026-01", **{"as": "issued"})
    assert answer.status_code == 409, answer.text
    responses = _document(api)["paths"]["/v1/reports/platform/pnl"]["get"]["responses"]
    assert "409" in responses


def test_a_report_refused_as_csv_is_json(api: Api, admin: dict[str, str]) -> None:
    """`Accept: text/csv;q=0` means anything but CSV (the report read 'text/csv' anywhere)."""
    manufacturer = api.manufacturer(admin)
    answer = api.client.get(
        f"/v1/reports/manufacturers/{manufacturer}",
        params={"period": "2026-01"},
        headers={**admin, "Accept": "text/csv;q=0, application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")

"""Every route of the OpenAPI document, walked with what used to answer 500 (issue 11, items
11-12): a body nested 400 levels deep, a cursor that decodes to deep nesting, an oversized
cursor, and a method the route does not take (405 with its Allow header)."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.conftest import Api

DEEP = "[" * 400 + "]" * 400
DEEP_CURSOR = base64.urlsafe_b64encode(DEEP.encode()).decode()
LONG_CURSOR = "A" * 60_000  # under the client's URL limit, far over any cursor


def _operations(api: Api) -> list[tuple[str, str]]:
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "pay_" + "0" * 32, path)
        found += [(method.upper(), concrete) for method in item if method != "parameters"]
    return found


def test_a_deeply_nested_body_is_refused_on_every_route(api: Api, admin: dict[str, str]) -> None:
    operations = _operations(api)
    assert len(operations) > 30
    for method, path in operations:
        answer = api.client.request(
            method,
            path,
            content=DEEP,
            headers={**admin, "Content-Type": "application/json", "Idempotency-Key": "deep"},
        )
        assert answer.status_code < 500, (method, path, answer.text)
        if method in ("POST", "PUT", "PATCH") and not path.startswith("/v1/webhooks"):
            assert answer.status_code == 422, (method, path, answer.text)
            assert answer.json()["type"] == "urn:ledger:problem:body-too-deep"


def test_deep_and_oversized_cursors_are_refused_on_every_route(
    api: Api, admin: dict[str, str]
) -> None:
    for method, path in _operations(api):
        if method != "GET":
            continue
        for cursor in (DEEP_CURSOR, LONG_CURSOR):
            answer = api.client.get(path, params={"cursor": cursor}, headers=admin)
            assert answer.status_code < 500, (path, answer.text)
    for listing in ("/v1/payments", "/v1/refunds"):
        for cursor in (DEEP_CURSOR, LONG_CURSOR):
            answer = api.get(listing, admin, cursor=cursor)
            assert answer.status_code == 422, answer.text
            assert answer.json()["type"] == "urn:ledger:problem:invalid-cursor"


def test_a_method_a_route_does_not_take_is_405_with_allow(api: Api) -> None:
    answer = api.client.request("TRACE", "/healthz")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert answer.json()["type"] == "urn:ledger:problem:method-not-allowed"


def test_allow_lists_every_method_of_the_path_and_only_those(api: Api) -> None:
    """Not only the first route that matched (`/v1/payments` was said to allow POST only)."""
    document: dict[str, Any] = api.client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        answer = api.client.request("TRACE", concrete)
        assert answer.status_code == 405, (path, answer.text)
        declared = sorted(method.upper() for method in item if method != "parameters")
        assert answer.headers["allow"] == ", ".join(declared), path


def test_a_literal_path_does_not_take_the_methods_of_a_template(
    api: Api, admin: dict[str, str]
) -> None:
    """/v1/keys/me is not a key id: PATCH is not routed to /v1/keys/{key_id}."""
    answer = api.client.patch("/v1/keys/me", json={"label": "x"}, headers=admin)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == "GET"
    assert api.client.get("/v1/keys/me", headers=admin).status_code == 200
    templated = api.client.delete("/v1/keys/key_x", headers=admin)
    assert templated.status_code == 405
    assert templated.headers["allow"] == "GET, PATCH"

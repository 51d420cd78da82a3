"""The routes every payment takes answer without FastAPI's dependency solving for requests the
full route would accept, and every other request gets exactly the full route's answer: the
same requests sent to an app with the short way and to one without answer byte for byte the
same, and the short way was the one taken exactly where it should be."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.hot_routes import HotPath
from ledger.bootstrap import Container, build
from ledger.settings import Settings
from tests.conftest import ManualClock

SPLIT_AMOUNT = 12_500
GENERATED_ID = re.compile(rb"\b([a-z]+)_[0-9a-f]{32}\b")


def _hot_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    return {
        (method, route.path): route
        for route in app.router.routes
        if isinstance(route, APIRoute) and isinstance(route.app, HotPath)
        for method in route.methods
    }


class Ways:
    """The hot routes' two ways in, counted. Route objects belong to the routers' modules, so
    every app shares them: each request of a test picks its way just before it is sent."""

    def __init__(self, routes: list[APIRoute]) -> None:
        self.full_calls = 0
        self._paths: list[tuple[APIRoute, HotPath, Any]] = []
        for route in routes:
            path = route.app
            assert isinstance(path, HotPath)
            self._paths.append((route, path, path.full))

            async def counted(
                scope: Scope, receive: Receive, send: Send, full: Any = path.full
            ) -> None:
                self.full_calls += 1
                await full(scope, receive, send)

            path.full = counted

    def take(self, *, hot: bool) -> None:
        for route, path, _ in self._paths:
            route.app = path if hot else path.full

    def restore(self) -> None:
        for route, path, full in self._paths:
            path.full = full
            route.app = path


@dataclass
class Side:
    """One app, its keys by name, and which way its hot routes take."""

    client: TestClient
    keys: dict[str, dict[str, str]]
    ways: Ways
    hot: bool
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def full_calls(self) -> int:
        return self.ways.full_calls

    def spelled(self, content: bytes) -> bytes:
        """The answer with each generated id named by the order it first appeared in (the two
        apps make their ids at random)."""

        def named(match: re.Match[bytes]) -> bytes:
            found = match.group(0).decode()
            name = self.ids.setdefault(found, f"{match.group(1).decode()}#{len(self.ids)}")
            return name.encode()

        return GENERATED_ID.sub(named, content)

    def send(self, method: str, path: str, key: str | None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers.update(self.keys[key])
        self.ways.take(hot=self.hot)
        return self.client.request(method, path, headers=headers, **kwargs)


def _app() -> tuple[FastAPI, Container, dict[str, dict[str, str]]]:
    container = build(Settings(persistence="popo"), clock=ManualClock())
    app = create_app(container, follow=False)
    named = {"admin": ["admin"], "writer": ["payments:write"], "reader": ["payments:read"]}
    secrets = {
        name: {"Authorization": f"Bearer {container.keys.create(scopes, None)[0]}"}
        for name, scopes in named.items()
    }
    return app, container, secrets


@pytest.fixture
def sides() -> Iterator[tuple[Side, Side]]:
    hot_app, hot_container, hot_keys = _app()
    full_app, full_container, full_keys = _app()
    ways = Ways(list(_hot_routes(hot_app).values()))
    try:
        with TestClient(hot_app) as hot, TestClient(full_app) as full:
            yield Side(hot, hot_keys, ways, True), Side(full, full_keys, ways, False)
    finally:
        ways.restore()
        hot_container.close()
        full_container.close()


def _manufacturer(side: Side) -> str:
    answer = side.send(
        "POST",
        "/v1/manufacturers",
        "admin",
        json={"name": "Acme", "fee_bps": 250, "refund_fee_policy": "refund_fee"},
        headers={"Idempotency-Key": "maker-one"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _payment(manufacturer: str, **fields: Any) -> dict[str, Any]:
    return {
        "amount": SPLIT_AMOUNT,
        "currency": "USD",
        "customer_id": "cus_1",
        "payment_method": "pm_tok_visa",
        "splits": [{"manufacturer_id": manufacturer, "amount": SPLIT_AMOUNT}],
        **fields,
    }


JSON = {"Content-Type": "application/json"}


def _cases(manufacturer: str) -> list[tuple[str, bool, str, str, str | None, dict[str, Any]]]:
    """(name, short way expected, method, path, key name, request kwargs)."""
    body = _payment(manufacturer)
    manual = _payment(manufacturer, capture_method="manual")
    raw = json.dumps
    pay = "/v1/payments"
    idem = "Idempotency-Key"
    return [
        ("created", True, "POST", pay, "writer", {"json": body, "headers": {idem: "p-one"}}),
        ("replayed", True, "POST", pay, "writer", {"json": body, "headers": {idem: "p-one"}}),
        (
            "key reused, other body",
            True,
            "POST",
            pay,
            "writer",
            {"json": _payment(manufacturer, customer_id="cus_2"), "headers": {idem: "p-one"}},
        ),
        ("no idempotency key", True, "POST", pay, "writer", {"json": body}),
        (
            "blank idempotency key",
            True,
            "POST",
            pay,
            "writer",
            {"json": body, "headers": {idem: ""}},
        ),
        (
            "charset parameter",
            True,
            "POST",
            pay,
            "writer",
            {
                "content": raw(body),
                "headers": {idem: "p-two", "Content-Type": "application/json; charset=utf-8"},
            },
        ),
        (
            "splits do not add up",
            True,
            "POST",
            pay,
            "writer",
            {"json": {**body, "amount": SPLIT_AMOUNT + 1}, "headers": {idem: "p-three"}},
        ),
        (
            "unknown manufacturer",
            True,
            "POST",
            pay,
            "writer",
            {"json": _payment("m_nobody"), "headers": {idem: "p-four"}},
        ),
        ("manual capture", True, "POST", pay, "writer", {"json": manual, "headers": {idem: "p-5"}}),
        ("no key", False, "POST", pay, None, {"json": body, "headers": {idem: "p-six"}}),
        (
            "bad key",
            False,
            "POST",
            pay,
            None,
            {"json": body, "headers": {idem: "p-six", "Authorization": "Bearer nope"}},
        ),
        (
            "other scheme",
            False,
            "POST",
            pay,
            None,
            {"json": body, "headers": {idem: "p-six", "Authorization": "Basic abc"}},
        ),
        ("scope missing", False, "POST", pay, "reader", {"json": body, "headers": {idem: "p-6"}}),
        (
            "query string",
            False,
            "POST",
            pay + "?expand=splits",
            "writer",
            {"json": body, "headers": {idem: "p-seven"}},
        ),
        (
            "text body",
            False,
            "POST",
            pay,
            "writer",
            {"content": raw(body), "headers": {idem: "p-eight", "Content-Type": "text/plain"}},
        ),
        (
            "no content type",
            False,
            "POST",
            pay,
            "writer",
            {"content": raw(body), "headers": {idem: "p-nine"}},
        ),
        (
            "malformed json",
            False,
            "POST",
            pay,
            "writer",
            {"content": b'{"amount": ', "headers": {idem: "p-ten", **JSON}},
        ),
        (
            "invalid field",
            False,
            "POST",
            pay,
            "writer",
            {"json": {**body, "amount": "12500"}, "headers": {idem: "p-eleven"}},
        ),
        (
            "unknown field",
            False,
            "POST",
            pay,
            "writer",
            {"json": {**body, "card": "x"}, "headers": {idem: "p-twelve"}},
        ),
        (
            "null body",
            False,
            "POST",
            pay,
            "writer",
            {"content": b"null", "headers": {idem: "p-thirteen", **JSON}},
        ),
        ("empty body", False, "POST", pay, "writer", {"headers": {idem: "p-fourteen", **JSON}}),
    ]


def _on(kwargs: dict[str, Any], manufacturer: str, other: str) -> dict[str, Any]:
    """The same request for the other app's manufacturer."""
    if "json" in kwargs:
        return {
            **kwargs,
            "json": json.loads(json.dumps(kwargs["json"]).replace(manufacturer, other)),
        }
    if isinstance(kwargs.get("content"), str):
        return {**kwargs, "content": kwargs["content"].replace(manufacturer, other)}
    return kwargs


def _same(sides: tuple[Side, Side], hot: Any, full: Any, name: str) -> None:
    assert hot.status_code == full.status_code, (name, hot.text, full.text)
    assert sides[0].spelled(hot.content) == sides[1].spelled(full.content), name
    for header in ("content-type", "idempotent-replayed", "retry-after", "allow"):
        assert hot.headers.get(header) == full.headers.get(header), (name, header)


def test_every_answer_is_the_full_routes_and_the_short_way_takes_only_what_it_should(
    sides: tuple[Side, Side],
) -> None:
    hot, full = sides
    manufacturer = _manufacturer(hot)
    other = _manufacturer(full)
    statuses = set()
    for name, short, method, path, key, kwargs in _cases(manufacturer):
        before = hot.full_calls
        answer_hot = hot.send(method, path, key, **kwargs)
        assert (hot.full_calls == before) is short, name
        answer_full = full.send(method, path, key, **_on(kwargs, manufacturer, other))
        _same(sides, answer_hot, answer_full, name)
        statuses.add(answer_hot.status_code)
    assert statuses == {201, 400, 401, 403, 415, 422}


def test_capture_refund_and_dispute_answer_the_same_either_way(sides: tuple[Side, Side]) -> None:
    hot, full = sides
    payments = []
    for side in (hot, full):
        manual = _payment(_manufacturer(side), capture_method="manual")
        created = side.send(
            "POST", "/v1/payments", "writer", json=manual, headers={"Idempotency-Key": "m-one"}
        )
        assert created.status_code == 201, created.text
        side.spelled(created.content)
        payments.append(created.json()["id"])
    steps: list[tuple[bool, str, dict[str, Any]]] = [
        (False, "capture", {"headers": {"Idempotency-Key": "c-0", **JSON}}),  # no body
        (True, "capture", {"json": {"amount": 999_999}, "headers": {"Idempotency-Key": "c-1"}}),
        (True, "capture", {"json": {"amount": 5_000}, "headers": {"Idempotency-Key": "c-2"}}),
        (True, "capture", {"json": {"amount": 5_000}, "headers": {"Idempotency-Key": "c-2"}}),
        (True, "refunds", {"json": {"amount": 1_000}, "headers": {"Idempotency-Key": "r-1"}}),
        (False, "refunds", {"json": {"amount": -1}, "headers": {"Idempotency-Key": "r-2"}}),
        (True, "disputes", {"json": {"amount": 1_000}, "headers": {"Idempotency-Key": "d-1"}}),
    ]
    for short, action, kwargs in steps:
        before = hot.full_calls
        answer_hot = hot.send("POST", f"/v1/payments/{payments[0]}/{action}", "admin", **kwargs)
        assert (hot.full_calls == before) is short, (action, kwargs)
        answer_full = full.send("POST", f"/v1/payments/{payments[1]}/{action}", "admin", **kwargs)
        _same(sides, answer_hot, answer_full, f"{action} {kwargs}")


def test_the_hot_routes_are_the_ones_of_the_body_and_send_shape() -> None:
    container = build(Settings(persistence="popo"), clock=ManualClock())
    try:
        hot = set(_hot_routes(create_app(container, follow=False)))
    finally:
        container.close()
    assert hot == {
        ("POST", "/v1/payments"),
        ("POST", "/v1/payments/{payment_id}/capture"),
        ("POST", "/v1/payments/{payment_id}/refunds"),
        ("POST", "/v1/payments/{payment_id}/disputes"),
    }


def test_the_short_way_steps_aside_while_dependencies_are_overridden(
    sides: tuple[Side, Side],
) -> None:
    hot, _ = sides
    manufacturer = _manufacturer(hot)
    app = hot.client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[object] = lambda: None
    try:
        before = hot.full_calls
        answer = hot.send(
            "POST",
            "/v1/payments",
            "writer",
            json=_payment(manufacturer),
            headers={"Idempotency-Key": "o-1"},
        )
        assert answer.status_code == 201, answer.text
        assert hot.full_calls == before + 1
    finally:
        app.dependency_overrides.clear()


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**16), 10**16) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELD_VALUES = {
    "amount": st.sampled_from([SPLIT_AMOUNT, 0, -1, 1, "12500", 12_500.0, None, True]),
    "currency": st.sampled_from(["USD", "usd", "EUR", "XXX", "", 840]),
    "customer_id": st.sampled_from(["cus_1", "", " ", "x" * 300]),
    "payment_method": st.sampled_from(["pm_tok_visa", "", None]),
    "capture_method": st.sampled_from(["automatic", "manual", "later"]),
    "provider": st.sampled_from(["sandbox", "Sandbox", "stripe", None]),
    "metadata": st.sampled_from([{}, {"order": "o-1"}, {"k" * 41: "v"}, []]),
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_payment_body_is_answered_the_same_either_way(
    sides: tuple[Side, Side], data: st.DataObject
) -> None:
    hot, full = sides
    if not hot.ids:
        hot.spelled(_manufacturer(hot).encode())
        full.spelled(_manufacturer(full).encode())
    manufacturers = [next(k for k in side.ids if k.startswith("mfr_")) for side in sides]
    body: dict[str, Any] = _payment("MANUFACTURER")
    for name in data.draw(st.sets(st.sampled_from(sorted(FIELD_VALUES))), "changed"):
        body[name] = data.draw(FIELD_VALUES[name], name)
    for name in data.draw(st.sets(st.sampled_from(sorted(body))), "dropped"):
        del body[name]
    if data.draw(st.booleans(), "extra field"):
        body[data.draw(st.text(min_size=1, max_size=6), "extra")] = data.draw(ANY_JSON, "value")
    key = data.draw(st.sampled_from(["h-1", "h-2", "h-3"]), "key")
    answers = []
    for side, manufacturer in zip(sides, manufacturers, strict=True):
        sent = json.loads(json.dumps(body).replace("MANUFACTURER", manufacturer))
        answers.append(
            side.send("POST", "/v1/payments", "writer", json=sent, headers={"Idempotency-Key": key})
        )
    _same(sides, answers[0], answers[1], json.dumps(body))

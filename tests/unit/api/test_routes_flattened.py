"""The app's routes sit on its own router (no included-router nodes to walk on each request),
every one of them applies the request rules, and the 405 gate's indexed table answers exactly
what a walk over every route answers."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.allowed_methods import MethodTable, allowed_methods, targets
from api.request_rules import request_rules
from tests.conftest import Api


def _calls(dependant: Dependant) -> set[object]:
    found: set[object] = set()
    pending = list(dependant.dependencies)
    while pending:
        current = pending.pop()
        found.add(current.call)
        pending.extend(current.dependencies)
    return found


def _app(api: Api) -> FastAPI:
    app = api.client.app
    assert isinstance(app, FastAPI)
    return app


def test_every_route_is_on_the_apps_router_and_applies_the_request_rules(api: Api) -> None:
    app = _app(api)
    routes = [route for route in app.router.routes if isinstance(route, APIRoute)]
    assert len(routes) >= 60  # every router's routes, not one node per router
    assert all(type(route).__name__ != "_IncludedRouter" for route in app.router.routes)
    missing = [route.path for route in routes if request_rules not in _calls(route.dependant)]
    assert missing == []


def test_a_route_of_a_router_refuses_an_unknown_query_parameter(
    api: Api, admin: dict[str, str]
) -> None:
    answer = api.client.get("/v1/payments", params={"customer_idx": "c"}, headers=admin)
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("unknown-query-parameter")


SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=0, max_size=12)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_indexed_table_answers_as_the_walk_over_every_route(
    api: Api, data: st.DataObject
) -> None:
    table = targets(_app(api).router.routes)
    formats = sorted({t.path_format for t in table if t.path_format})
    template = data.draw(st.sampled_from([*formats, "/", "/v1", "/nowhere/{x}"]))
    path = re.sub(r"\{[^}]+\}", lambda _: data.draw(SEGMENT), template)
    path += data.draw(st.sampled_from(["", "/", "/extra", "/{", "//"]))
    assert MethodTable(table).allowed(path) == allowed_methods(table, path)

"""The routes every payment takes, answered without FastAPI's per-request dependency solving.

FastAPI solves a route's dependencies afresh on every request (signature walks, cache keys,
a task per async dependency): for POST /v1/payments that was a sixth of the event loop's time a
payment. A route whose shape is exactly `(body, send)` (a JSON body model, one `sending(...)`
dependency, the request rules, and optionally `str` path parameters) gets a short way in front
of its FastAPI handler, taken only by a request the full way would accept: no query string, a
JSON media type, a key that authenticates and holds the route's scope, and a body the route's
own body field validates. It calls the same dependency function and the same endpoint with the
same values, so it answers the same. Any other request (and every request while dependency
overrides are set) goes to the route's FastAPI handler unchanged, with the body it sent: what
that answers (401, 403, 415, 422, ...) is what it always answered.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import HOT_SENDERS, ApiError, Sender, bearer
from api.request_rules import request_rules
from ledger.domain.errors import DomainError

SenderCall = Callable[[Request, Any, str | None], Awaitable[Sender]]


class HotPath:
    """A route's ASGI app: the short way for requests it takes, the route's own otherwise."""

    def __init__(
        self,
        route: APIRoute,
        full: ASGIApp,
        sender: SenderCall,
        body_name: str,
        send_name: str,
        path_names: tuple[str, ...],
    ) -> None:
        self.route = route
        self.full = full
        self.sender = sender
        self.body_name = body_name
        self.send_name = send_name
        self.path_names = path_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app: FastAPI | None = scope.get("app")
        if (
            scope.get("query_string")
            or app is None
            or app.dependency_overrides
            or not _json_content_type(scope)
        ):
            await self.full(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        replay = _replaying(body, receive)
        if disconnected or not body:
            await self.full(scope, replay, send)
            return
        response = await self._answer(scope, replay, body)
        if response is None:
            await self.full(scope, replay, send)
            return
        await response(scope, replay, send)

    async def _answer(self, scope: Scope, receive: Receive, body: bytes) -> Response | None:
        """The endpoint's response, or None when the full route must answer."""
        request = Request(scope, receive)
        try:
            credentials = await bearer(request)
            sender = await self.sender(request, credentials, request.headers.get("idempotency-key"))
        except (ApiError, DomainError):
            return None
        try:
            document = json.loads(body)
        except ValueError:
            return None
        field = self.route.body_field
        assert field is not None
        value, errors = field.validate(document, {}, loc=("body",))
        if errors:
            return None
        path_params: dict[str, Any] = scope.get("path_params") or {}
        arguments: dict[str, Any] = {name: path_params[name] for name in self.path_names}
        arguments[self.body_name] = value
        arguments[self.send_name] = sender
        response: Response = await self.route.endpoint(**arguments)
        return response


def _json_content_type(scope: Scope) -> bool:
    name: bytes
    value: bytes
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            # application/json only (any parameters): the media type FastAPI reads as JSON.
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replaying(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def hot_path_of(route: APIRoute) -> HotPath | None:
    """A HotPath for a route of the `(body, send)` shape, None for any other route."""
    dependant = route.dependant
    if (
        route.body_field is None
        or getattr(route, "_embed_body_fields", True)
        or getattr(route, "max_body_size", None) is not None
        or not inspect.iscoroutinefunction(route.endpoint)
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or len(dependant.body_params) != 1
        or any(field.field_info.annotation is not str for field in dependant.path_params)
    ):
        return None
    rules = [d for d in dependant.dependencies if d.call is request_rules]
    senders = [d for d in dependant.dependencies if d.call in HOT_SENDERS]
    if len(rules) != 1 or len(senders) != 1 or len(dependant.dependencies) != 2:
        return None
    send_name = senders[0].name
    if send_name is None or dependant.request_param_name or dependant.response_param_name:
        return None
    sender: SenderCall = senders[0].call  # type: ignore[assignment]
    return HotPath(
        route,
        route.app,
        sender,
        dependant.body_params[0].name,
        send_name,
        tuple(field.name for field in dependant.path_params),
    )


def install(routes: Sequence[BaseRoute]) -> list[APIRoute]:
    """Give every route of the `(body, send)` shape its short way; returns those routes. Route
    objects belong to the routers' modules, so every app built from them shares the short way:
    it keeps nothing of an app's (the app, its container and its overrides come from the
    request's scope)."""
    hot: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute) and not isinstance(route.app, HotPath):
            path = hot_path_of(route)
            if path is not None:
                route.app = path
                hot.append(route)
    return hot

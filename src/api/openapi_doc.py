"""The OpenAPI document declares every answer the API gives (issue 11, item 12): each operation
lists the 4xx (and 503) codes it can return as `application/problem+json` with one `Problem`
schema, and each code's description names the problem types (`urn:ledger:problem:<code>`)
behind it, so a generated client knows every answer.

What an operation can return is read from the route itself, so routes added later are declared
without being named here: every route may be refused by the request guard (413, 422) or the
query rule (422); an authenticated route adds 401, 403 and 404 (a bound key gets 404 for what is
not its own); a route reading a JSON body adds 400 (malformed JSON) and 415; a route that runs a
command adds 400 (Idempotency-Key), 409 and 503 (a provider unavailable)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import (
    IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_PATTERN,
    KEY_REQUIRED,
    SENDERS,
    bearer,
)
from api.media_type import reads_json_body
from api.problems import PROBLEM_JSON, status_for
from ledger.domain.errors import DomainError

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "`urn:ledger:problem:<code>`, stable."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation failures: where, and what (never the value sent).",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "array", "items": {}},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

# Problem types raised outside the domain, by status.
_HTTP_TYPES: dict[int, list[str]] = {
    400: [
        "malformed-json",
        "idempotency-key-missing",
        "idempotency-key-invalid",
        "webhook-rejected",
    ],
    401: ["unauthenticated"],
    403: [],
    404: ["not-found"],
    409: [],
    413: ["body-too-large"],
    415: ["unsupported-media-type"],
    422: [
        "validation-failed",
        "unknown-query-parameter",
        "repeated-query-parameter",
        "card-number-rejected",
        "body-too-deep",
    ],
    503: ["provider-unavailable"],
}
_MEANING = {
    400: "The request cannot be read (malformed JSON, a missing or invalid Idempotency-Key).",
    401: "No API key, or not a valid one.",
    403: "The API key lacks a scope this needs.",
    404: "No such resource, or not one this key may see.",
    409: "Refused: an illegal transition, or a request with this Idempotency-Key in flight.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "Invalid input; nothing was stored.",
    503: "A payment provider is unavailable; nothing was recorded: retry with the same key.",
}


def _domain_types() -> dict[int, list[str]]:
    found: dict[int, set[str]] = {}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        code = getattr(cls, "code", None)
        if isinstance(code, str):
            found.setdefault(status_for(cls.__new__(cls)), set()).add(code)
    return {status: sorted(codes) for status, codes in found.items()}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    pending = [dependant]
    while pending:
        current = pending.pop()
        if current.call is not None:
            yield current.call
        pending.extend(current.dependencies)


def statuses(route: APIRoute, method: str) -> set[int]:
    codes = {413, 422} | {int(code) for code in route.responses if 400 <= int(code) < 500}
    calls = set(_calls(route.dependant))
    if bearer in calls:
        codes |= {401, 403, 404}
    if reads_json_body(route.dependant):
        codes |= {400, 415}
    if calls & SENDERS or method in ("POST", "PUT", "PATCH", "DELETE"):
        codes |= {400, 404, 409, 503}
    return codes


def _declare_idempotency_key(operation: dict[str, Any], route: APIRoute) -> None:
    """Required where the route moves money (400 without one); its shape as `Sender` checks it."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == IDEMPOTENCY_KEY:
            parameter["required"] = bool(KEY_REQUIRED & set(_calls(route.dependant)))
            parameter["schema"] = {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}


def _response(status: int, types: list[str]) -> dict[str, Any]:
    listed = ", ".join(f"`{t}`" for t in types)
    description = _MEANING[status] + (f" Problem types: {listed}." if listed else "")
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every problem answer declared (cached on the app)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    domain = _domain_types()
    types = {
        status: sorted({*_HTTP_TYPES.get(status, []), *domain.get(status, [])})
        for status in _MEANING
    }
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = context.path_format or route.path_format
        for method in context.methods or route.methods or ():
            operation = doc["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            _declare_idempotency_key(operation, route)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses(route, method)):
                responses[str(status)] = _response(status, types[status])
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    app.openapi_schema = doc
    return doc

"""RFC 9457 problem details with a stable `type` per error."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from ledger.application.errors import (
    ConcurrencyExhausted,
    Forbidden,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    NotFound,
)
from ledger.domain.errors import DomainError, IllegalTransition, InvalidInput

PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_type(code: str) -> str:
    return f"urn:ledger:problem:{code}"


def problem_body(status: int, code: str, detail: str, **extra: Any) -> str:
    body = {
        "type": problem_type(code),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return json.dumps(body, separators=(",", ":"))


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        problem_body(status, code, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def status_for(error: DomainError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, IdempotencyKeyReused | InvalidInput):
        return 422
    if isinstance(error, IdempotencyKeyInFlight | IllegalTransition | ConcurrencyExhausted):
        return 409
    return 409


def render_error(error: DomainError) -> tuple[int, str]:
    status = status_for(error)
    return status, problem_body(status, error.code, error.message)

"""Bodies are JSON: a route that reads a JSON body answers 415 to a body of another media type
(issue 11, item 12), instead of a 422 that blames the body's fields. An app-wide dependency, so
routes added later get it too; routes that read raw bodies (webhooks) declare no body field and
are left alone."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.deps import ApiError

_READS_JSON: dict[int, bool] = {}


def reads_json_body(dependant: Dependant) -> bool:
    pending = [dependant]
    while pending:
        current = pending.pop()
        if current.body_params:
            return True
        pending.extend(current.dependencies)
    return False


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


async def refuse_other_media_types(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _has_body(request):
        return
    reads = _READS_JSON.get(id(route))
    if reads is None:
        reads = _READS_JSON[id(route)] = reads_json_body(route.dependant)
    if reads and not is_json(request.headers.get("content-type", "")):
        raise ApiError(
            415,
            "unsupported-media-type",
            "Send the body as JSON with 'Content-Type: application/json'.",
        )

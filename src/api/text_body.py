"""Provider files sent as a request's body (a PayPal settlement report, a NACHA file): text, as
`text/csv` or `text/plain`, declared so in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.deps import ApiError

TEXT_TYPES = ("text/csv", "text/plain")


def text_body(description: str, *, required: bool = True) -> dict[str, Any]:
    """The openapi_extra of a route that reads a file as its body."""
    schema = {"type": "string", "description": description}
    return {
        "requestBody": {
            "required": required,
            "content": {media: {"schema": schema} for media in TEXT_TYPES},
        }
    }


TEXT_415: dict[int | str, dict[str, Any]] = {
    415: {"description": "The body is not text/csv or text/plain."},
}


async def read_text(request: Request) -> str:
    """The body as text (415 for another media type, 422 if it is not UTF-8)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in TEXT_TYPES:
        raise ApiError(
            415,
            "unsupported-media-type",
            "Send the file as the body with 'Content-Type: text/csv' or 'text/plain'.",
        )
    body = await request.body()
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        detail = "The file is not UTF-8 text (nothing changed)."
        raise ApiError(422, "invalid-input", detail) from None

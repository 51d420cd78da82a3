"""Opaque pagination cursors: (sort value, id) of the last row returned."""

from __future__ import annotations

import base64
import json


class BadCursor(ValueError):
    pass


def encode_cursor(sort_value: str, row_id: str) -> str:
    raw = json.dumps([sort_value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR = 512  # ours are under 200 characters; nothing longer is decoded


def decode_cursor(cursor: str) -> tuple[str, str]:
    if len(cursor) > MAX_CURSOR:
        raise BadCursor("malformed cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, RecursionError):
        raise BadCursor("malformed cursor") from None
    if not isinstance(sort_value, str) or not isinstance(row_id, str):
        raise BadCursor("malformed cursor")
    return sort_value, row_id

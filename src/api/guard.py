"""Request guard (pure ASGI): caps body size and refuses anything that looks like a card number
before the app, a log line or the event store can see it."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

# Digit runs not glued to letters or digits (so hex ids and UUIDs do not match): either 13-19
# digits in a row, or groups of 3-6 digits split by single spaces or dashes (4-4-4-4, 4-6-5).
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# Inside decoded JSON values, digits glued to letters count too ("card4111..."), except in the
# ledger's own ids, whose hex may hold long digit runs.
_GLUED_CANDIDATE = re.compile(r"(?<!\d)(?:\d{13,19}|\d{3,6}(?:[ -]\d{3,6}){2,5})(?!\d)")
_OUR_ID = re.compile(r"^(mfr|pay|po|key|sub)_[0-9a-f]{32}$|^(re|dp)_[0-9a-f]{32}_\d{1,6}$")


def contains_card_number(text: str, *, glued: bool = False) -> bool:
    pattern = _GLUED_CANDIDATE if glued else _CANDIDATE
    for match in pattern.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def json_contains_card_number(value: Any, exempt: frozenset[str] = frozenset()) -> bool:
    """Every key and value of a decoded JSON document (escapes like \\u0034 are decoded),
    except the values of exempt keys."""
    if isinstance(value, str):
        return not _OUR_ID.match(value) and contains_card_number(value, glued=True)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return contains_card_number(str(value))
    if isinstance(value, list):
        return any(json_contains_card_number(item, exempt) for item in value)
    if isinstance(value, dict):
        return any(
            json_contains_card_number(key)
            or (key not in exempt and json_contains_card_number(item, exempt))
            for key, item in value.items()
        )
    return False


def body_contains_card_number(body: bytes, exempt: frozenset[str] = frozenset()) -> bool:
    if not exempt:
        text = body.decode("utf-8", errors="replace")
        if contains_card_number(text):
            return True
    try:
        document = json.loads(body)
    except ValueError:
        return bool(exempt)  # an exempting route takes JSON only
    return json_contains_card_number(document, exempt)


# Bank account numbers may look like card numbers (any 13-17 digits pass Luhn one time in ten):
# the one route that takes them reads them from these keys only, and seals them at once.
BANK_ACCOUNT_KEYS = frozenset({"account_number", "routing_number"})


def exempt_keys(path: str) -> frozenset[str] | None:
    """None: the body is not scanned (provider webhooks: signed by the provider, never stored,
    and PCI-scoped providers send no card numbers)."""
    if path.startswith("/v1/webhooks/"):
        return None
    if path == "/v1/bank-accounts" or (
        path.startswith("/v1/manufacturers/") and path.endswith("/bank-account")
    ):
        return BANK_ACCOUNT_KEYS
    return frozenset()


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = " ".join(
            [
                unquote(scope.get("path", "")),
                unquote(scope.get("query_string", b"").decode("latin-1")),
                *(value.decode("latin-1") for _, value in scope.get("headers", [])),
            ]
        )
        if contains_card_number(target):
            await self._card_rejected(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        exempt = exempt_keys(unquote(scope.get("path", "")))
        if body and exempt is not None and body_contains_card_number(body, exempt):
            await self._card_rejected(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _card_rejected(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            422,
            "card-number-rejected",
            "The request contains what looks like a card number. Card numbers must never be "
            "sent to this API: tokenize the card with your payment provider and send the token.",
        )
        await response(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, "body-too-large", f"Request bodies are limited to {self.max_body_bytes} bytes."
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

"""Request guard (pure ASGI): caps body size and refuses anything that looks like a card number
before the app, a log line or the event store can see it."""

from __future__ import annotations

import re
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


def contains_card_number(text: str) -> bool:
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


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
        if body and contains_card_number(body.decode("utf-8", errors="replace")):
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

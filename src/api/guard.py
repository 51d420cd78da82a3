"""Request guard (pure ASGI): caps body size and nesting depth, and refuses anything that looks
like a card number (api.card_numbers) before the app, a log line or the event store can see it.

What is read: every path segment (the ledger's ids exempt in their exact shape), every query
key and value, every header but the transport's own (which carry addresses and lengths, and
which the ledger neither stores nor logs), and the body: decoded JSON with its escapes, or the
raw text when it is not JSON. Set aside: bank account fields on the routes that seal them, and
the queue ids a redrive names (compared, never stored or logged)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.card_numbers import Path, contains_card_number, is_our_id, json_contains_card_number
from api.problems import problem

# Bank account numbers may look like card numbers (any 13-17 digits pass Luhn one time in ten):
# the routes that take them read them from these keys only, and seal them at once.
BANK_ACCOUNT_FIELDS: frozenset[Path] = frozenset({("account_number",), ("routing_number",)})
# Headers the transport sets, full of digits by design (addresses, ports, lengths, trace ids),
# never stored or logged by the ledger: a chain of proxy addresses would read as a card number.
TRANSPORT_HEADERS = frozenset(
    {
        b"host",
        b"content-length",
        b"x-forwarded-for",
        b"x-forwarded-port",
        b"x-forwarded-proto",
        b"x-real-ip",
        b"forwarded",
        b"x-amzn-trace-id",
        b"traceparent",
        b"tracestate",
    }
)
ID_PARAMETERS = frozenset({"manufacturer_id", "payment_id"})
# Dead letters named for redrive: their ids are the queue's own (SQS's UUIDs, the embedded
# queue's hex, "rule:event id" or "schedule:name:<13-digit ms>"), so digits by design; they are
# only compared with the queue's ids, never stored or logged (the answer is a count).
_REDRIVE = re.compile(r"^/v1/operations/queues/[^/]+/redrive$")
REDRIVE_FIELDS: frozenset[Path] = frozenset({("message_ids", "*")})
MAX_DEPTH = 32  # the deepest body the API takes is 3 levels
_IDS_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:mfr|pay|po|key|sub)_[0-9a-f]{32}|(?:re|dp)_[0-9a-f]{32}_[1-9][0-9]{0,5})"
    r"(?![0-9A-Za-z])"
)


# Routes that take a provider's file as text: read whole, but for its timestamps (a PayPal
# report's "2026/03/10 08:00:00 +0000" is 18 digits apart from punctuation). Only a real moment
# in that exact shape is set aside (month, day, hour, minute, second and offset in range), so a
# card number spelled like one must also be a valid date and time.
PROVIDER_FILE_PATHS = frozenset({"/v1/settlements/paypal", "/v1/reconciliation/runs"})
_FILE_TIMESTAMP = re.compile(
    r"(?<![0-9])(?:19|20)[0-9]{2}/(?:0[1-9]|1[0-2])/(?:0[1-9]|[12][0-9]|3[01]) "
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] [+-](?:0[0-9]|1[0-4])[0-5][0-9](?![0-9])"
)


def file_has_card_number(text: str) -> bool:
    """The whole file as any text is read (a number split across lines is still found), but for
    timestamps in the provider's exact shape."""
    return contains_card_number(_FILE_TIMESTAMP.sub(" ", text))


def exempt_fields(path: str) -> frozenset[Path] | None:
    """None: the body is not read (provider webhooks: signed by the provider, never stored, and
    PCI-scoped providers send no card numbers)."""
    if path.startswith("/v1/webhooks/"):
        return None
    if path == "/v1/bank-accounts" or (
        path.startswith("/v1/manufacturers/") and path.endswith("/bank-account")
    ):
        return BANK_ACCOUNT_FIELDS
    if _REDRIVE.match(path):
        return REDRIVE_FIELDS
    return frozenset()


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of [ and { outside strings, without parsing (so without recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def target_has_card_number(scope: Scope) -> bool:
    """Path segments (the ledger's ids in them, as in account names, set aside: a path is never
    stored or logged), query keys and values, and the headers (but the transport's)."""
    for segment in unquote(scope.get("path", "")).split("/"):
        if contains_card_number(_IDS_IN_TEXT.sub("/", segment)):
            return True
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        exempt = key in ID_PARAMETERS and is_our_id(value)
        if contains_card_number(key) or (not exempt and contains_card_number(value)):
            return True
    if scope.get("path", "").startswith("/v1/webhooks/"):
        return False  # signed by the provider (its signatures are random hex), never stored
    return any(
        name not in TRANSPORT_HEADERS
        and (
            contains_card_number(value.decode("latin-1"))
            or (not value.isascii() and contains_card_number(value.decode("utf-8", "replace")))
        )
        for name, value in scope.get("headers", [])
    )


def body_has_card_number(body: bytes, exempt: frozenset[Path], path: str = "") -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        # Not JSON (refused later as malformed); an exempting route takes JSON only.
        text = body.decode("utf-8", errors="replace")
        if path in PROVIDER_FILE_PATHS:
            return file_has_card_number(text)
        return bool(exempt) or contains_card_number(text)
    return json_contains_card_number(document, exempt)


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if target_has_card_number(scope):
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
        path = unquote(scope.get("path", ""))
        exempt = exempt_fields(path)
        if body and exempt is not None:
            if nesting_depth(body) > MAX_DEPTH:
                await self._too_deep(scope, receive, send)
                return
            if body_has_card_number(body, exempt, path):
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

    async def _too_deep(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            422, "body-too-deep", f"Request bodies may nest at most {MAX_DEPTH} levels."
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

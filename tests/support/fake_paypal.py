"""A fake PayPal REST API for the PayPal adapter's tests: run as
`python -m tests.support.fake_paypal --port N`, on loopback only, and stopped by pid (see
`fake_paypal()`).

It speaks only the endpoints the adapter uses, with PayPal-shaped JSON:

    POST /v1/oauth2/token                              (client credentials, HTTP Basic)
    POST /v2/checkout/orders                           (tests create orders with it)
    GET  /v2/checkout/orders/{id}
    POST /v2/checkout/orders/{id}/authorize | capture
    POST /v2/payments/authorizations/{id}/capture | void
    POST /v2/payments/captures/{id}/refund
    POST /v1/notifications/verify-webhook-signature
    GET  /__fake/requests                              (what it received, for assertions)

Every /v1 and /v2 call but the token needs `Authorization: Bearer <a token it issued>`. A repeated
PayPal-Request-Id on the same path answers the first answer again with no second effect. Amount
values must carry exactly the currency's ISO 4217 decimals ("10.50" USD, "500" JPY, "1.500"
KWD), else 422 DECIMAL_PRECISION. `Prefer: return=representation` gives full bodies; otherwise
the minimal ones (a void answers 204). Orders are approved as soon as they are created (real
PayPal waits for the buyer). The fee on a capture is 3.49% (half up) plus a fixed fee.

Magic payer e-mails (payer.email_address when the order is created) choose what authorizing or
capturing the order does:

| payer | order authorize / capture |
|---|---|
| DECLINED_PAYER | 422 UNPROCESSABLE_ENTITY, issue INSTRUMENT_DECLINED |
| UNAVAILABLE_PAYER | 503 SERVICE_UNAVAILABLE, every time |
| FLAKY_PAYER | 503 the first time, then as normal |
| DENIED_PAYER | 201, authorization DENIED / capture DECLINED (status_details.reason) |
| PENDING_PAYER | 201, PENDING with status_details.reason PENDING_REVIEW |
| SLOW_PAYER | answers after SLOW_SECONDS |

Webhook signatures: real PayPal signs `transmission_id|transmission_time|webhook_id|crc32(body)`
with a certificate (SHA256withRSA, cert_url) and its verify API checks that. This fake emulates
only the API contract: it expects transmission_sig = base64(HMAC-SHA256(WEBHOOK_SECRET, that same
string)), where body is the webhook_event exactly as it appears in the verify request (so an
adapter that re-serializes the event fails on a pretty-printed payload), webhook_id must be
WEBHOOK_ID and auth_algo SHA256withRSA. `sign_webhook` computes those headers for tests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import iso4217

from tests.support.servers import _stop, _wait_for_port, free_port

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
WEBHOOK_ID = "WH-FAKE-0001"
WEBHOOK_SECRET = b"fake-webhook-secret"
AUTH_ALGO = "SHA256withRSA"
CERT_URL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-fake"

DECLINED_PAYER = "declined@buyer.example"
UNAVAILABLE_PAYER = "unavailable@buyer.example"
FLAKY_PAYER = "flaky@buyer.example"
DENIED_PAYER = "denied@buyer.example"
PENDING_PAYER = "pending@buyer.example"
SLOW_PAYER = "slow@buyer.example"
SLOW_SECONDS = 3.0

FEE_BPS = 349
FIXED_FEE = {"JPY": 40}  # minor units; other currencies: 0.49 of the major unit

REPO = Path(__file__).resolve().parents[2]


# --- helpers for tests ---------------------------------------------------------------------


@contextmanager
def fake_paypal() -> Iterator[str]:
    """Starts the fake on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_paypal", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, "fake PayPal")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def sign_webhook(
    payload: bytes,
    *,
    transmission_time: datetime,
    transmission_id: str | None = None,
    webhook_id: str = WEBHOOK_ID,
    secret: bytes = WEBHOOK_SECRET,
) -> dict[str, str]:
    """The PAYPAL-* headers the fake's verify API accepts for this exact payload."""
    transmission_id = transmission_id or secrets.token_hex(16)
    sent = transmission_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        "PAYPAL-CERT-URL": CERT_URL,
        "PAYPAL-TRANSMISSION-ID": transmission_id,
        "PAYPAL-TRANSMISSION-SIG": _signature(secret, transmission_id, sent, webhook_id, payload),
        "PAYPAL-TRANSMISSION-TIME": sent,
    }


class FakeClient:
    """What tests do directly against the fake (as the merchant's checkout would)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _call(self, method: str, path: str, body: Any = None, token: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self._token()}"
        request = urllib.request.Request(  # loopback only: base_url is the fake's
            self.base_url + path,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def _token(self) -> str:
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        request = urllib.request.Request(
            self.base_url + "/v1/oauth2/token",
            data=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["access_token"])

    def create_order(
        self,
        value: str,
        currency: str,
        *,
        intent: str = "AUTHORIZE",
        payer: str = "buyer@buyer.example",
        custom_id: str | None = None,
    ) -> str:
        unit: dict[str, Any] = {"amount": {"currency_code": currency, "value": value}}
        if custom_id is not None:
            unit["custom_id"] = custom_id
        order = self._call(
            "POST",
            "/v2/checkout/orders",
            {"intent": intent, "purchase_units": [unit], "payer": {"email_address": payer}},
        )
        return str(order["id"])

    def requests(self, path_suffix: str = "") -> list[dict[str, Any]]:
        """Requests the fake received (method, path, request_id, body, status), oldest first."""
        log = self._call("GET", "/__fake/requests", token=False)
        return [entry for entry in log if entry["path"].endswith(path_suffix)]


# --- the server ----------------------------------------------------------------------------


def _signature(secret: bytes, transmission_id: str, sent: str, webhook_id: str, body: bytes) -> str:
    signed = f"{transmission_id}|{sent}|{webhook_id}|{zlib.crc32(body)}".encode()
    return base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()


def _exponent(code: str) -> int:
    return int(iso4217.Currency(code).exponent or 0)


def _parse_value(money: Any) -> tuple[int, str]:
    """PayPal money -> (minor units, currency); raises _Fail(422) unless exactly formatted."""
    if not isinstance(money, dict):
        raise _Fail(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
    code, value = money.get("currency_code"), money.get("value")
    try:
        exponent = _exponent(str(code))
    except ValueError:
        raise _Fail(422, "UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED") from None
    pattern = r"\d+" if exponent == 0 else rf"\d+\.\d{{{exponent}}}"
    if not isinstance(value, str) or re.fullmatch(pattern, value) is None:
        raise _Fail(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")
    return int(value.replace(".", "")), str(code)


def _money(amount: int, code: str) -> dict[str, str]:
    exponent = _exponent(code)
    digits = str(amount).rjust(exponent + 1, "0")
    value = digits if exponent == 0 else f"{digits[:-exponent]}.{digits[-exponent:]}"
    return {"currency_code": code, "value": value}


def _fee(amount: int, code: str) -> int:
    scale: int = 10 ** _exponent(code)
    fixed = FIXED_FEE.get(code, scale * 49 // 100)
    return (amount * FEE_BPS + 5_000) // 10_000 + fixed


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(17))


class _Fail(Exception):
    def __init__(self, status: int, name: str, issue: str | None = None) -> None:
        super().__init__(name)
        self.status, self.name, self.issue = status, name, issue

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "message": self.name.replace("_", " ")}
        body["debug_id"] = secrets.token_hex(6)
        if self.issue:
            body["details"] = [{"issue": self.issue, "description": self.issue}]
        return body


class State:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.authorizations: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.replies: dict[tuple[str, str], tuple[int, Any]] = {}
        self.flaky_seen: set[str] = set()
        self.log: list[dict[str, Any]] = []

    def link(self, path: str, rel: str, method: str = "GET") -> dict[str, str]:
        return {"href": f"{self.base_url}{path}", "rel": rel, "method": method}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        request_id = self.headers.get("PayPal-Request-Id")
        path = self.path.split("?", 1)[0]
        entry: dict[str, Any] = {"method": method, "path": path, "request_id": request_id}
        try:
            entry["body"] = json.loads(raw) if raw and path != "/v1/oauth2/token" else None
        except ValueError:
            entry["body"] = raw.decode(errors="replace")
        if path == "/__fake/requests":
            with state.lock:
                self._reply(200, list(state.log))
            return
        try:
            status, body = self._route(method, path, raw, request_id)
        except _Fail as fail:
            status, body = fail.status, fail.body()
        entry["status"] = status
        with state.lock:
            state.log.append(entry)
        self._reply(status, body)

    def _reply(self, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def _route(self, method: str, path: str, raw: bytes, request_id: str | None) -> tuple[int, Any]:
        state = self.server.state
        if method == "POST" and path == "/v1/oauth2/token":
            return self._token(raw)
        self._require_bearer()
        if method == "GET":
            match = re.fullmatch(r"/v2/checkout/orders/([A-Z0-9]+)", path)
            if match is None:
                raise _Fail(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
            with state.lock:
                return 200, self._order_view(self._find(state.orders, match.group(1)))
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _Fail(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON") from None
        if path == "/v1/notifications/verify-webhook-signature":
            return self._verify(raw, body)
        if path == "/v2/checkout/orders":
            return self._create_order(body)
        routes = {
            r"/v2/checkout/orders/([A-Z0-9]+)/authorize": self._order_authorize,
            r"/v2/checkout/orders/([A-Z0-9]+)/capture": self._order_capture,
            r"/v2/payments/authorizations/([A-Z0-9]+)/capture": self._auth_capture,
            r"/v2/payments/authorizations/([A-Z0-9]+)/void": self._auth_void,
            r"/v2/payments/captures/([A-Z0-9]+)/refund": self._refund,
        }
        for pattern, action in routes.items():
            match = re.fullmatch(pattern, path)
            if match is None:
                continue
            if request_id:
                with state.lock:
                    if (path, request_id) in state.replies:
                        return state.replies[(path, request_id)]
            self._magic(path, match.group(1))
            representation = "return=representation" in (self.headers.get("Prefer") or "")
            with state.lock:
                if request_id and (path, request_id) in state.replies:
                    return state.replies[(path, request_id)]
                reply = action(match.group(1), body, representation)
                if request_id:
                    state.replies[(path, request_id)] = reply
                return reply
        raise _Fail(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    # auth

    def _token(self, raw: bytes) -> tuple[int, Any]:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client", "error_description": "Client Authentication"}
        if b"grant_type=client_credentials" not in raw:
            return 400, {"error": "unsupported_grant_type", "error_description": "grant_type"}
        token = "A21AA" + secrets.token_urlsafe(24)
        with self.server.state.lock:
            self.server.state.tokens.add(token)
        return 200, {
            "scope": "https://uri.paypal.com/services/payments/payment",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-FAKE",
            "expires_in": 32400,
            "nonce": f"{_now()}{secrets.token_hex(8)}",
        }

    def _require_bearer(self) -> None:
        header = self.headers.get("Authorization") or ""
        token = header.removeprefix("Bearer ")
        with self.server.state.lock:
            known = header.startswith("Bearer ") and token in self.server.state.tokens
        if not known:
            raise _Fail(401, "AUTHENTICATION_FAILURE")

    # orders

    @staticmethod
    def _find(table: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
        if key not in table:
            raise _Fail(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return table[key]

    def _create_order(self, body: dict[str, Any]) -> tuple[int, Any]:
        intent = body.get("intent")
        units = body.get("purchase_units")
        if intent not in ("AUTHORIZE", "CAPTURE") or not isinstance(units, list) or not units:
            raise _Fail(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
        amount, code = _parse_value(units[0].get("amount"))
        payer = (body.get("payer") or {}).get("email_address", "buyer@buyer.example")
        order = {
            "id": _new_id(),
            "intent": intent,
            "status": "APPROVED",
            "amount": amount,
            "currency": code,
            "custom_id": units[0].get("custom_id"),
            "payer": payer,
            "payments": [],
            "create_time": _now(),
        }
        with self.server.state.lock:
            self.server.state.orders[order["id"]] = order
            return 201, self._order_view(order)

    def _order_view(self, order: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
        unit: dict[str, Any] = {
            "reference_id": "default",
            "amount": _money(order["amount"], order["currency"]),
            "payee": {"email_address": "merchant@seller.example", "merchant_id": "FAKEMERCHANT"},
        }
        if order["custom_id"]:
            unit["custom_id"] = order["custom_id"]
        if kind:
            unit["payments"] = {kind: list(order["payments"])}
        return {
            "id": order["id"],
            "intent": order["intent"],
            "status": order["status"],
            "payment_source": {
                "paypal": {"email_address": order["payer"], "account_id": "FAKEPAYER"}
            },
            "purchase_units": [unit],
            "payer": {"email_address": order["payer"], "payer_id": "FAKEPAYER"},
            "create_time": order["create_time"],
            "links": [self.server.state.link(f"/v2/checkout/orders/{order['id']}", "self")],
        }

    def _magic(self, path: str, key: str) -> None:
        """Payer magic for order authorize / capture, before any effect."""
        state = self.server.state
        with state.lock:
            order = state.orders.get(key) if path.startswith("/v2/checkout/orders/") else None
            payer = order["payer"] if order else None
            first_flaky = payer == FLAKY_PAYER and key not in state.flaky_seen
            if first_flaky:
                state.flaky_seen.add(key)
        if payer == SLOW_PAYER:
            time.sleep(SLOW_SECONDS)
        if payer == UNAVAILABLE_PAYER or first_flaky:
            raise _Fail(503, "SERVICE_UNAVAILABLE")
        if payer == DECLINED_PAYER:
            raise _Fail(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")

    def _start_order_payment(self, key: str, intent: str) -> dict[str, Any]:
        order = self._find(self.server.state.orders, key)
        if order["intent"] != intent:
            raise _Fail(422, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
        if order["status"] == "COMPLETED":
            issue = (
                "ORDER_ALREADY_AUTHORIZED" if intent == "AUTHORIZE" else "ORDER_ALREADY_CAPTURED"
            )
            raise _Fail(422, "UNPROCESSABLE_ENTITY", issue)
        order["status"] = "COMPLETED"
        return order

    def _order_authorize(self, key: str, body: Any, full: bool) -> tuple[int, Any]:
        order = self._start_order_payment(key, "AUTHORIZE")
        status, reason = {
            DENIED_PAYER: ("DENIED", "DECLINED_BY_RISK_FRAUD_FILTERS"),
            PENDING_PAYER: ("PENDING", "PENDING_REVIEW"),
        }.get(order["payer"], ("CREATED", None))
        authorization_id = _new_id()
        now = datetime.now(UTC)
        authorization: dict[str, Any] = {
            "id": authorization_id,
            "status": status,
            "amount": _money(order["amount"], order["currency"]),
            "expiration_time": (now + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seller_protection": {"status": "ELIGIBLE"},
            "create_time": _now(),
            "update_time": _now(),
            "links": [
                self.server.state.link(f"/v2/payments/authorizations/{authorization_id}", "self")
            ],
        }
        if reason:
            authorization["status_details"] = {"reason": reason}
        if order["custom_id"]:
            authorization["custom_id"] = order["custom_id"]
        self.server.state.authorizations[authorization_id] = {
            **authorization,
            "order_id": order["id"],
            "remaining": order["amount"],
            "currency": order["currency"],
        }
        order["payments"].append(authorization)
        return 201, self._order_reply(order, "authorizations", full)

    def _order_capture(self, key: str, body: Any, full: bool) -> tuple[int, Any]:
        order = self._start_order_payment(key, "CAPTURE")
        capture = self._new_capture(order, order["amount"], None, order["payer"])
        order["payments"].append(capture)
        return 201, self._order_reply(order, "captures", full)

    def _order_reply(self, order: dict[str, Any], kind: str, full: bool) -> dict[str, Any]:
        if full:
            return self._order_view(order, kind)
        return {"id": order["id"], "status": order["status"], "links": []}

    def _new_capture(
        self, order: dict[str, Any], amount: int, authorization_id: str | None, payer: str
    ) -> dict[str, Any]:
        code = order["currency"]
        status, reason = {
            DENIED_PAYER: ("DECLINED", "DECLINED_BY_RISK_FRAUD_FILTERS"),
            PENDING_PAYER: ("PENDING", "PENDING_REVIEW"),
        }.get(payer, ("COMPLETED", None))
        capture_id = _new_id()
        fee = _fee(amount, code)
        related = {"order_id": order["id"]}
        if authorization_id:
            related["authorization_id"] = authorization_id
        capture: dict[str, Any] = {
            "id": capture_id,
            "status": status,
            "amount": _money(amount, code),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "seller_receivable_breakdown": {
                "gross_amount": _money(amount, code),
                "paypal_fee": _money(fee, code),
                "net_amount": _money(amount - fee, code),
            },
            "supplementary_data": {"related_ids": related},
            "create_time": _now(),
            "update_time": _now(),
            "links": [self.server.state.link(f"/v2/payments/captures/{capture_id}", "self")],
        }
        if reason:
            capture["status_details"] = {"reason": reason}
        if order["custom_id"]:
            capture["custom_id"] = order["custom_id"]
        self.server.state.captures[capture_id] = {
            **capture,
            "remaining": amount if status == "COMPLETED" else 0,
            "currency": code,
        }
        return capture

    # payments

    def _auth_capture(self, key: str, body: dict[str, Any], full: bool) -> tuple[int, Any]:
        state = self.server.state
        authorization = self._find(state.authorizations, key)
        if authorization["status"] not in ("CREATED", "PARTIALLY_CAPTURED"):
            issue = {"VOIDED": "AUTHORIZATION_VOIDED", "CAPTURED": "AUTHORIZATION_ALREADY_CAPTURED"}
            raise _Fail(422, "UNPROCESSABLE_ENTITY", issue.get(authorization["status"], "DENIED"))
        if "amount" in body:
            amount, code = _parse_value(body["amount"])
            if code != authorization["currency"]:
                raise _Fail(422, "UNPROCESSABLE_ENTITY", "CURRENCY_MISMATCH")
        else:
            amount = authorization["remaining"]
        if amount > authorization["remaining"]:
            raise _Fail(422, "UNPROCESSABLE_ENTITY", "MAX_CAPTURE_AMOUNT_EXCEEDED")
        order = state.orders[authorization["order_id"]]
        capture = self._new_capture(order, amount, key, "")
        capture["final_capture"] = bool(body.get("final_capture"))
        authorization["remaining"] -= amount
        done = capture["final_capture"] or authorization["remaining"] == 0
        authorization["status"] = "CAPTURED" if done else "PARTIALLY_CAPTURED"
        if full:
            return 201, capture
        return 201, {"id": capture["id"], "status": capture["status"], "links": []}

    def _auth_void(self, key: str, body: Any, full: bool) -> tuple[int, Any]:
        authorization = self._find(self.server.state.authorizations, key)
        if authorization["status"] not in ("CREATED", "PARTIALLY_CAPTURED"):
            issue = {"VOIDED": "AUTHORIZATION_VOIDED", "CAPTURED": "AUTHORIZATION_ALREADY_CAPTURED"}
            raise _Fail(422, "UNPROCESSABLE_ENTITY", issue.get(authorization["status"], "DENIED"))
        authorization["status"] = "VOIDED"
        view = {k: v for k, v in authorization.items() if k not in ("order_id", "remaining")}
        view.pop("currency", None)
        return (200, view) if full else (204, None)

    def _refund(self, key: str, body: dict[str, Any], full: bool) -> tuple[int, Any]:
        state = self.server.state
        capture = self._find(state.captures, key)
        if capture["remaining"] == 0:
            raise _Fail(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        code = capture["currency"]
        if "amount" in body:
            amount, asked = _parse_value(body["amount"])
            if asked != code:
                raise _Fail(422, "UNPROCESSABLE_ENTITY", "CURRENCY_MISMATCH")
        else:
            amount = capture["remaining"]
        if amount > capture["remaining"]:
            raise _Fail(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        capture["remaining"] -= amount
        capture["status"] = "REFUNDED" if capture["remaining"] == 0 else "PARTIALLY_REFUNDED"
        gross = int(_parse_value(capture["amount"])[0])
        refund_id = _new_id()
        refund: dict[str, Any] = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": _money(amount, code),
            "seller_payable_breakdown": {
                "gross_amount": _money(amount, code),
                "paypal_fee": _money(0, code),
                "net_amount": _money(amount, code),
                "total_refunded_amount": _money(gross - capture["remaining"], code),
            },
            "create_time": _now(),
            "update_time": _now(),
            "links": [
                state.link(f"/v2/payments/refunds/{refund_id}", "self"),
                state.link(f"/v2/payments/captures/{key}", "up"),
            ],
        }
        for field in ("custom_id", "invoice_id", "note_to_payer"):
            if field in body:
                refund[field] = body[field]
        state.refunds[refund_id] = refund
        if full:
            return 201, refund
        return 201, {"id": refund_id, "status": "COMPLETED", "links": refund["links"]}

    # webhooks

    def _verify(self, raw: bytes, body: dict[str, Any]) -> tuple[int, Any]:
        fields = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        )
        for field in fields:
            if not body.get(field):
                raise _Fail(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER")
        event = _raw_member(raw.decode(), "webhook_event").encode()
        expected = _signature(
            WEBHOOK_SECRET,
            body["transmission_id"],
            body["transmission_time"],
            body["webhook_id"],
            event,
        )
        good = (
            body["auth_algo"] == AUTH_ALGO
            and body["webhook_id"] == WEBHOOK_ID
            and hmac.compare_digest(expected, str(body["transmission_sig"]))
        )
        return 200, {"verification_status": "SUCCESS" if good else "FAILURE"}


def _raw_member(text: str, name: str) -> str:
    """The source text of a top-level member's value of a JSON object, exactly as sent."""
    decoder = json.JSONDecoder()
    index = text.index("{") + 1
    while True:
        while text[index] in " \t\r\n,":
            index += 1
        key, index = decoder.raw_decode(text, index)
        while text[index] in " \t\r\n:":
            index += 1
        _, end = decoder.raw_decode(text, index)
        if key == name:
            return text[index:end]
        index = end


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.state = State(f"http://127.0.0.1:{port}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    FakeServer(args.port).serve_forever()


if __name__ == "__main__":
    main()

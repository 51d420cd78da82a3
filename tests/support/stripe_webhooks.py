"""Stripe webhook deliveries for tests through the ASGI app: events signed as Stripe signs
them (verified by the real Stripe adapter, offline), and the objects they carry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from itertools import count
from typing import Any

from tests.conftest import Api

SECRET = "whsec_test"
_events = count(1)


def sign(payload: bytes, timestamp: int | None = None, secret: str = SECRET) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def stripe_event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_test_{next(_events)}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def deliver(api: Api, payload: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "Stripe-Signature": signature or sign(payload)}
    return api.client.post("/v1/webhooks/stripe", content=payload, headers=headers)


def intent(reference: str, amount: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": reference,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "usd",
        "metadata": {},
        "status": "succeeded",
        **fields,
    }

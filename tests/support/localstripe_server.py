"""localstripe (a fake Stripe API) on a free loopback port, started as a process, stopped by pid.

localstripe's own `start()` listens on every interface (`::`) and pickles its whole store to the
fixed path /tmp/localstripe.pickle after every write (loading it back at start-up), so parallel
runs would share, and could corrupt, each other's state. The launcher below runs the same aiohttp
application with three changes and two test-only additions:

- it listens on 127.0.0.1 only;
- the store stays in memory (no pickle file is read or written);
- PaymentIntent creation accepts `automatic_payment_methods`, which localstripe does not model
  (it only knows cards) and would otherwise reject with a 400; the parameter is dropped;
- every /v1/ request is recorded (method, path, Idempotency-Key header), readable at
  GET /_config/requests, because localstripe does not honour Idempotency-Key and the tests can
  then at least check that the adapter sends it;
- POST /_config/fail_next {"status": 500, "count": 1, "headers": {...}} makes the next `count`
  /v1/ requests answer `status` with a Stripe-shaped error body, to exercise the SDK's retries and
  the adapter's error mapping over real HTTP;
- POST /_config/payouts/{id}/balance_transactions [...] sets what a payout settled (localstripe
  has no payouts): GET /v1/balance_transactions?payout={id} then lists them as Stripe does
  (a list object, pages of `limit` after `starting_after`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.servers import _stop, _wait_for_port, free_port

_LAUNCHER = """
import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.try_load_from_disk = lambda self: None
resources.Store.dump_to_disk = lambda self: None

_create_intent = resources.PaymentIntent._api_create.__func__


def _create_intent_ignoring_apm(cls, automatic_payment_methods=None, **data):
    return _create_intent(cls, **data)


resources.PaymentIntent._api_create = classmethod(_create_intent_ignoring_apm)

recorded = []
failures = {"status": 0, "count": 0, "headers": {}}
payouts = {}


def balance_transactions(request):
    listed = payouts.get(request.query.get("payout"), [])
    after = request.query.get("starting_after")
    if after:
        listed = listed[[t["id"] for t in listed].index(after) + 1 :]
    limit = int(request.query.get("limit", 10))
    return web.json_response(
        {
            "object": "list",
            "url": "/v1/balance_transactions",
            "has_more": len(listed) > limit,
            "data": listed[:limit],
        }
    )


async def set_payout(request):
    payouts[request.match_info["id"]] = await request.json()
    return web.Response()


@web.middleware
async def record_and_inject(request, handler):
    if request.path.startswith("/v1/"):
        recorded.append(
            {
                "method": request.method,
                "path": request.path,
                "idempotency_key": request.headers.get("Idempotency-Key"),
            }
        )
        if failures["count"] > 0:
            failures["count"] -= 1
            body = {"error": {"type": "api_error", "message": "injected failure"}}
            return web.json_response(
                body, status=failures["status"], headers=failures["headers"]
            )
        if request.path == "/v1/balance_transactions" and "payout" in request.query:
            return balance_transactions(request)
    return await handler(request)


async def list_requests(request):
    return web.json_response(recorded)


async def fail_next(request):
    data = await request.json()
    failures.update(
        status=int(data["status"]),
        count=int(data.get("count", 1)),
        headers=dict(data.get("headers", {})),
    )
    return web.Response()


server.app.middlewares.insert(0, record_and_inject)
server.app.router.add_get("/_config/requests", list_requests)
server.app.router.add_post("/_config/fail_next", fail_next)
server.app.router.add_post("/_config/payouts/{id}/balance_transactions", set_payout)
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@contextmanager
def localstripe_server() -> Iterator[str]:
    """Yields the base URL (http://127.0.0.1:<port>) of a fresh, in-memory localstripe."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"  # the server's own deprecation noise is not the tests' concern
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_for_port(port, process, "localstripe")
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)


def _open(request: urllib.request.Request | str) -> bytes:
    # Loopback only: never through a proxy configured in the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return bytes(response.read())


def recorded_requests(base_url: str) -> list[dict[str, Any]]:
    """Every /v1/ request localstripe received so far: method, path, idempotency_key."""
    requests: list[dict[str, Any]] = json.loads(_open(f"{base_url}/_config/requests"))
    return requests


def fail_next_requests(
    base_url: str, status: int, count: int = 1, headers: dict[str, str] | None = None
) -> None:
    """Make the next `count` /v1/ requests answer `status` (with `headers`)."""
    body = json.dumps({"status": status, "count": count, "headers": headers or {}}).encode()
    _open(
        urllib.request.Request(
            f"{base_url}/_config/fail_next",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    )


def register_webhook(base_url: str, url: str, secret: str, events: list[str]) -> None:
    """Ask localstripe to deliver (signed) events of these types to `url`."""
    body = json.dumps({"url": url, "secret": secret, "events": events}).encode()
    _open(
        urllib.request.Request(
            f"{base_url}/_config/webhooks/ledger",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    )


def set_payout_transactions(
    base_url: str, payout_id: str, transactions: list[dict[str, Any]]
) -> None:
    """What GET /v1/balance_transactions?payout=payout_id lists (Stripe's objects)."""
    _open(
        urllib.request.Request(
            f"{base_url}/_config/payouts/{payout_id}/balance_transactions",
            data=json.dumps(transactions).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    )

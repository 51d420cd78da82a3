"""Access log as pure ASGI middleware: route templates only, never raw paths or query values
(they could carry ids or data that must not be logged)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ledger.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            state = scope.get("state") or {}
            log.info(
                "%s %s %s %.1fms key=%s",
                scope.get("method", "-"),
                getattr(route, "path", "-"),
                status,
                (time.perf_counter() - started) * 1000,
                state.get("key_id", "-"),
            )

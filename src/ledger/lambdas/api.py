"""The REST API on Lambda: the same FastAPI app as `ledger serve`, behind API Gateway (HTTP API,
payload v2) through Mangum."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from api.app import create_app
from ledger.bootstrap import Container, build
from ledger.settings import Settings

_handler: Mangum | None = None


def make_handler(container: Container) -> Mangum:
    return Mangum(create_app(container, follow=False), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler
    if _handler is None:
        _handler = make_handler(build(Settings()))
    return _handler(event, context)

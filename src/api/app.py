"""The FastAPI application: routers, error handlers and the request guard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api import console, hot_routes
from api.access_log import AccessLog
from api.allowed_methods import MethodGate
from api.deps import ApiError
from api.guard import RequestGuard
from api.openapi_doc import document
from api.problems import problem, render_error
from api.request_rules import REQUEST_RULES
from api.routers import (
    attention,
    bank_accounts,
    disputes,
    health,
    keys,
    ledger,
    manufacturers,
    operations,
    payments,
    payouts,
    periods,
    reconciliation,
    refunds,
    reports,
    settlements,
    statements,
    subscriptions,
    webhooks,
)
from ledger.application.ports import ProviderUnavailable
from ledger.bootstrap import Container
from ledger.domain.errors import DomainError

access_log = logging.getLogger("ledger.access")


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes straight onto the app's (each already carries the router's prefix,
    tags and dependencies). Since FastAPI 0.137, `include_router` keeps an included router as
    one node and, on every request, walks each included router's routes to check that they did
    not change before matching inside it: with 18 routers that was a sixth of the event loop's
    time per payment. The app's own dependencies do not reach routes added this way, so every
    router declares REQUEST_RULES itself (tests/architecture checks every route has them)."""
    app.router.routes.extend(router.routes)


def create_app(container: Container, *, follow: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Commands take turns on one lock; a few threads keep it busy without many threads
        # fighting over the GIL.
        to_thread.current_default_thread_limiter().total_tokens = container.settings.worker_threads
        follower = container.follower
        if follower is not None:
            follower.catch_up()
            if follow:
                follower.start(container.settings.projection_poll_seconds)
        if follow and container.workflows is not None:
            container.workflows.start()
        yield
        if container.workflows is not None:
            container.workflows.stop()
        if follower is not None:
            follower.stop()

    app = FastAPI(
        title="Payments Ledger",
        version="1.0.0",
        description="Event-sourced payments ledger: payments, captures, refunds, disputes and "
        "payouts as immutable events, with double-entry balances and manufacturer reports.",
        lifespan=lifespan,
        dependencies=REQUEST_RULES,  # for routes added to the app itself (the console's)
        docs_url=None,  # served offline by api.console
        redoc_url=None,
    )
    app.state.container = container
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    for router in (
        health.router,
        manufacturers.router,
        payments.router,
        refunds.router,
        disputes.router,
        payouts.router,
        subscriptions.router,
        bank_accounts.router,
        webhooks.router,
        ledger.router,
        reports.router,
        attention.router,
        operations.router,  # before keys: /v1/keys/me is not a key id
        keys.router,
        statements.router,
        periods.router,
        reconciliation.router,
        settlements.router,
    ):
        _add_routes(app, router)
    console.install(app)
    hot_routes.install(app.router.routes)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        status, body = render_error(error)
        return Response(body, status_code=status, media_type="application/problem+json")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return problem(error.status, error.code, error.detail)

    @app.exception_handler(ProviderUnavailable)
    async def provider_unavailable(request: Request, error: ProviderUnavailable) -> Response:
        response = problem(
            503,
            "provider-unavailable",
            f"{error}. Nothing was recorded; retry with the same Idempotency-Key.",
        )
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        # Never echo input values back: they could hold data that must not be repeated.
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in error.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return problem(400, "malformed-json", "The body is not valid JSON.", errors=errors)
        return problem(422, "validation-failed", "The request is not valid.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        response = problem(error.status_code, code, str(error.detail))
        response.headers.update(error.headers or {})  # 405 names the methods it allows (Allow)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        access_log.exception("unhandled error")
        return problem(500, "internal-error", "An unexpected error occurred; it has been logged.")

    app.add_middleware(RequestGuard, max_body_bytes=container.settings.max_body_bytes)
    # Outside the guard: a method the path does not take is 405 whatever the request holds (the
    # answer reads nothing of it, and the access log records route templates only).
    app.add_middleware(MethodGate, routes=app.router.routes)
    app.add_middleware(AccessLog)
    app.add_middleware(console.SecurityHeaders)  # outermost: every answer carries it
    return app

"""The REST API on Lambda: the same FastAPI app as `ledger serve`, behind API Gateway (HTTP API,
payload v2) through Mangum."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from mangum import Mangum

from api.app import create_app
from ledger.bootstrap import Container, build
from ledger.lambdas.cold_start import EntryPoint, Handler
from ledger.lambdas.observability import logger, metrics, traced
from ledger.settings import Settings


def make_handler(container: Container) -> Handler:
    app = Mangum(create_app(container, follow=False), lifespan="off")

    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
    )
    @traced
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = app(event, context)
        status = int(response.get("statusCode", 500))
        metrics.add_metric(
            name="ServerErrors" if status >= 500 else "Requests", unit=MetricUnit.Count, value=1
        )
        return response

    handler_: Handler = handle
    return handler_


handler = EntryPoint(lambda: make_handler(build(Settings())))

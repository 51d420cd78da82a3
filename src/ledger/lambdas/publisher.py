"""Stream-triggered publisher: every ledger event from the events table onto EventBridge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.bootstrap import build
from ledger.lambdas.observability import logger, metrics, tracer
from ledger.settings import Settings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_handler: Handler | None = None


def make_handler(publisher: EventBridgePublisher) -> Handler:
    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        failed = publisher.publish(records)
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=publisher.published)
        if failed:
            logger.warning("events not published; the stream will retry", extra={"failed": failed})
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    handler_: Handler = handle
    return handler_


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler
    if _handler is None:
        settings = Settings()
        if not settings.event_bus_name:
            raise RuntimeError("LEDGER_EVENT_BUS_NAME must name the EventBridge bus")
        container = build(settings)
        _handler = make_handler(
            EventBridgePublisher(
                boto3.client("events"), settings.event_bus_name, container.service.mapper
            )
        )
    return _handler(event, context)

"""Stream-triggered publisher: the ledger events a workflow rule matches, onto EventBridge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ledger.bootstrap import publisher as build_publisher
from ledger.lambdas.cold_start import EntryPoint, Handler
from ledger.lambdas.observability import logger, metrics, traced
from ledger.settings import Settings


class Publisher(Protocol):
    """What the handler asks of the EventBridge publisher."""

    published: int

    def publish(self, records: Sequence[dict[str, Any]]) -> list[str]: ...


def make_handler(publisher: Publisher) -> Handler:
    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        failed = publisher.publish(records)
        metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=publisher.published)
        if failed:
            logger.warning("events not published; the stream will retry", extra={"failed": failed})
        return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}

    handler_: Handler = handle
    return handler_


handler = EntryPoint(lambda: make_handler(build_publisher(Settings())))

"""Stream-triggered projections: DynamoDB Stream batches of the events table into the read
models, reporting partial batch failures (ReportBatchItemFailures)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from ledger.bootstrap import stream_projector
from ledger.lambdas.cold_start import EntryPoint, Handler
from ledger.lambdas.observability import logger, metrics, traced
from ledger.settings import Settings

# Report every failed record even when all fail: the stream retries from the first one either
# way, and the response keeps one shape.
processor = BatchProcessor(
    event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
)
BUSINESS_METRICS = {
    "Payment.Captured": "PaymentsCaptured",
    "Payment.RefundRequested": "RefundsRequested",
    "Payment.RefundFailed": "RefundsFailed",
    "Payment.DisputeOpened": "DisputesOpened",
    "Payout.Paid": "PayoutsPaid",
}


class Projector(Protocol):
    """What the handler asks of the stream projector."""

    def apply(self, record: dict[str, Any]) -> str | None: ...

    def finish_batch(self) -> None: ...


def record_age_seconds(record: dict[str, Any], now: datetime | None = None) -> float:
    """How long ago the stream captured the record: the projection lag for this record."""
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if created is None:
        return 0.0
    current = (now or datetime.now(UTC)).timestamp()
    return max(current - float(created), 0.0)


def make_handler(projector: Projector) -> Handler:
    def record_handler(record: DynamoDBRecord) -> None:
        raw = record.raw_event
        logger.append_keys(aggregate_id=raw["dynamodb"].get("Keys", {}).get("aggregate_id"))
        applied = projector.apply(raw)
        if applied is not None:
            metrics.add_metric(name="EventsProjected", unit=MetricUnit.Count, value=1)
            business = BUSINESS_METRICS.get(applied)
            if business is not None:
                metrics.add_metric(name=business, unit=MetricUnit.Count, value=1)
        metrics.add_metric(
            name="ProjectionLag", unit=MetricUnit.Seconds, value=record_age_seconds(raw)
        )

    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(
            name="StreamRecords", unit=MetricUnit.Count, value=len(event.get("Records", []))
        )
        try:
            response = process_partial_response(
                event=event,
                record_handler=record_handler,
                processor=processor,
                context=context,
            )
        finally:
            projector.finish_batch()
        return dict(response)

    handler_: Handler = handle
    return handler_


handler = EntryPoint(lambda: make_handler(stream_projector(Settings())))

"""Stream-triggered projections: DynamoDB Stream batches of the events table into the read
models, reporting partial batch failures (ReportBatchItemFailures). The mapping has a tumbling
window, so each batch says its shard (`shardId`); the window's state is not used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from ledger.bootstrap import stream_projector
from ledger.lambdas.cold_start import EntryPoint, Handler
from ledger.lambdas.observability import logger, metrics, traced
from ledger.settings import Settings

BUSINESS_METRICS = {
    "Payment.Captured": "PaymentsCaptured",
    "Payment.RefundRequested": "RefundsRequested",
    "Payment.RefundFailed": "RefundsFailed",
    "Payment.DisputeOpened": "DisputesOpened",
    "Payout.Paid": "PayoutsPaid",
}


class BatchResult(Protocol):
    failed: list[str]
    applied: list[str]


class Projector(Protocol):
    """What the handler asks of the stream projector."""

    def apply_batch(self, event: dict[str, Any]) -> BatchResult: ...

    def finish_batch(self) -> None: ...


def record_age_seconds(record: dict[str, Any], now: datetime | None = None) -> float:
    """How long ago the stream captured the record: the projection lag for this record."""
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    if created is None:
        return 0.0
    current = (now or datetime.now(UTC)).timestamp()
    return max(current - float(created), 0.0)


def make_handler(projector: Projector) -> Handler:
    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        metrics.add_metric(name="StreamRecords", unit=MetricUnit.Count, value=len(records))
        logger.append_keys(shard_id=event.get("shardId"))
        try:
            result = projector.apply_batch(event)
        finally:
            projector.finish_batch()
        if result.applied:
            metrics.add_metric(
                name="EventsProjected", unit=MetricUnit.Count, value=len(result.applied)
            )
        for name in sorted(set(result.applied)):
            business = BUSINESS_METRICS.get(name)
            if business is not None:
                count = result.applied.count(name)
                metrics.add_metric(name=business, unit=MetricUnit.Count, value=count)
        if records:
            lag = max(record_age_seconds(record) for record in records)
            metrics.add_metric(name="ProjectionLag", unit=MetricUnit.Seconds, value=lag)
        response: dict[str, Any] = {
            "batchItemFailures": [{"itemIdentifier": sequence} for sequence in result.failed]
        }
        if "window" in event:  # a tumbling window's invocation answers with its state
            response["state"] = {}
        return response

    handler_: Handler = handle
    return handler_


handler = EntryPoint(lambda: make_handler(stream_projector(Settings())))

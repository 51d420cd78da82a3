"""The workflow workers: one handler for every worker Lambda, each draining the SQS queue named by
LEDGER_WORKER_QUEUE (a queue of workflow_rules.json) with that queue's handler module.

Per record, ledger.workflows.runtime.process decides, exactly as in the embedded runtime:
- delete: the record succeeds and the Lambda service deletes the message;
- retry: the message is hidden for the backoff delay (ChangeMessageVisibility, growing with its
  receive count, with jitter) and the record is reported failed, so it comes back after that;
- dead: reported failed too; the queue's redrive policy (maxReceiveCount, from the same file)
  moves it to the queue's DLQ. A message that has used all its deliveries is made visible at
  once so that move happens now; an unreadable one earlier on waits out the visibility timeout.
Partial batch responses (ReportBatchItemFailures): only failed records come back.
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ledger.bootstrap import worker
from ledger.lambdas.cold_start import EntryPoint, Handler
from ledger.lambdas.observability import logger, metrics, traced
from ledger.settings import Settings
from ledger.workflows.queue import Message
from ledger.workflows.rules import QueueSpec
from ledger.workflows.runtime import Handler as WorkflowHandler
from ledger.workflows.runtime import WorkerContext, process

# A batch whose every record failed is answered like any other (every record listed): each
# failed message already carries its own retry delay, and a raised error would add nothing but
# a Lambda error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class Visibility(Protocol):
    """What a worker asks of its queue (SQS): hide a received message for a while."""

    def retry_later(self, receipt_handle: str, queue: str, delay: int) -> None: ...


class RetryLater(Exception):
    """The handler failed; the message comes back after its backoff delay."""


class BoundForDeadLetters(Exception):
    """The message cannot succeed (unreadable, or out of deliveries): the DLQ takes it."""


def make_handler(
    spec: QueueSpec, context: WorkerContext, queue: Visibility, handle: WorkflowHandler
) -> Handler:
    def record_handler(record: SQSRecord) -> None:
        message = Message(
            message_id=record.message_id,
            body=record.body,
            receive_count=int(record.attributes.approximate_receive_count),
            receipt=record.receipt_handle,
        )
        logger.append_keys(message_id=message.message_id, receive_count=message.receive_count)
        metrics.add_metric(name="WorkflowMessages", unit=MetricUnit.Count, value=1)
        outcome = process(spec, handle, context, message)
        if outcome.action == "delete":
            return
        if outcome.action == "retry":
            metrics.add_metric(name="WorkflowRetries", unit=MetricUnit.Count, value=1)
            queue.retry_later(message.receipt, spec.name, outcome.delay_seconds)
            raise RetryLater(outcome.error)
        metrics.add_metric(name="WorkflowFailures", unit=MetricUnit.Count, value=1)
        if message.receive_count >= spec.max_receive_count:
            queue.retry_later(message.receipt, spec.name, 0)  # straight on to the DLQ
        raise BoundForDeadLetters(outcome.error)

    @metrics.log_metrics(raise_on_empty_metrics=False)
    @logger.inject_lambda_context(clear_state=True)
    @traced
    def handler_(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        metrics.add_dimension(name="Queue", value=spec.name)
        logger.append_keys(queue=spec.name)
        response = process_partial_response(
            event=event,
            record_handler=record_handler,
            processor=processor,
            context=lambda_context,
        )
        return dict(response)

    made: Handler = handler_
    return made


def from_settings(settings: Settings) -> Handler:
    return make_handler(*worker(settings))


handler = EntryPoint(lambda: from_settings(Settings()))

"""The work queue contract on SQS (ledger.adapters.sqs_queue.SqsQueue) on moto, with each queue
and its DLQ made as Terraform makes them (tests/support/sqs_queues.py), and what only SQS does:
the redrive policy moves a message after maxReceiveCount deliveries, a dedupe id only travels
along, and dead letters carry no error. Time is real here (moto's visibility timeouts)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ledger.adapters.sqs_queue import DEDUPE_ATTRIBUTE, SqsQueue
from ledger.workflows.queue import Message
from tests.contracts.work_queue import OTHER, QUEUE, VISIBILITY_SECONDS, WorkQueueContract
from tests.support.sqs_queues import create_workflow_queue

pytestmark = pytest.mark.integration

PREFIX = "contract"
MAX_RECEIVES = 3


class TestSqsQueue(WorkQueueContract):
    @pytest.fixture
    def queue(self) -> Iterator[SqsQueue]:
        with mock_aws():
            sqs = boto3.client("sqs")
            for name in (QUEUE, OTHER):
                create_workflow_queue(sqs, f"{PREFIX}-{name}", max_receive_count=MAX_RECEIVES)
            # moto answers short polls with every message: no long polls of the DLQ needed.
            yield SqsQueue(sqs, PREFIX, wait_seconds=0)

    def receive(self, queue: SqsQueue, name: str) -> list[Message]:
        """What the Lambda service receives for the worker."""
        answer = queue.client.receive_message(
            QueueUrl=queue.url(name),
            MaxNumberOfMessages=10,
            VisibilityTimeout=VISIBILITY_SECONDS,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Message(
                message_id=m["MessageId"],
                body=m["Body"],
                receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                receipt=m["ReceiptHandle"],
            )
            for m in answer.get("Messages", [])
        ]

    def finish(self, queue: SqsQueue, name: str, message: Message) -> None:
        """The event source mapping deletes what the worker did not report failed."""
        queue.client.delete_message(QueueUrl=queue.url(name), ReceiptHandle=message.receipt)

    def retry_later(self, queue: SqsQueue, name: str, message: Message, seconds: int) -> None:
        queue.retry_later(message.receipt, name, seconds)

    def give_up(self, queue: SqsQueue, name: str, message: Message) -> None:
        """Released at once after each failed delivery until the redrive policy moves it."""
        while True:
            queue.retry_later(message.receipt, name, 0)
            delivered = self.receive(queue, name)
            if not delivered:
                return
            (message,) = delivered
            assert message.receive_count <= MAX_RECEIVES

    def let_time_pass(self, seconds: float) -> None:
        time.sleep(seconds)

    # ----- only SQS ---------------------------------------------------------------------------
    def test_the_redrive_policy_moves_a_message_after_max_receive_count_deliveries(
        self, queue: SqsQueue
    ) -> None:
        queue.send(QUEUE, "doomed")
        counts = []
        while delivered := self.receive(queue, QUEUE):
            (message,) = delivered
            counts.append(message.receive_count)
            queue.retry_later(message.receipt, QUEUE, 0)
        assert counts == list(range(1, MAX_RECEIVES + 1))
        (letter,) = queue.dead_letters(QUEUE)
        assert letter.body == "doomed"
        assert letter.receive_count >= MAX_RECEIVES
        assert letter.error is None  # SQS keeps no error with a message it moved

    def test_a_dedupe_id_travels_along_and_deduplicates_nothing(self, queue: SqsQueue) -> None:
        queue.send(QUEUE, "{}", dedupe_id="m1")
        queue.send(QUEUE, "{}", dedupe_id="m1")  # standard queues have no deduplication
        answer = queue.client.receive_message(
            QueueUrl=queue.url(QUEUE), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages = answer["Messages"]
        assert len(messages) == 2
        assert {m["MessageAttributes"][DEDUPE_ATTRIBUTE]["StringValue"] for m in messages} == {"m1"}

    def test_listing_leaves_the_dead_letters_visible_in_the_dlq(self, queue: SqsQueue) -> None:
        self.dead_letter(queue, "dead")
        assert len(queue.dead_letters(QUEUE)) == 1
        attributes = queue.client.get_queue_attributes(
            QueueUrl=queue.dlq_url(QUEUE), AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "1"

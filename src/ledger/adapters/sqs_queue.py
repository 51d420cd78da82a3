"""The workflow queues on AWS: SQS standard queues `<prefix>-<queue>`, each with its dead-letter
queue `<prefix>-<queue>-dlq` (Terraform makes both from workflow_rules.json).

What the embedded SqliteQueue does itself, SQS does here: receive counts, visibility, and the
move to the DLQ after the queue's maxReceiveCount deliveries (its redrive policy). This adapter
sends, delays a retry (ChangeMessageVisibility), lists dead letters without consuming them and
redrives them by hand (receive, send to the queue, delete), which works the same on AWS, moto
and LocalStack (StartMessageMoveTask does not, and cannot pick single messages).

Standard queues have no deduplication: a dedupe id travels as the `dedupe_id` message attribute
for the logs, and the handlers are idempotent anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.workflows.queue import DeadLetter

DEDUPE_ATTRIBUTE = "dedupe_id"
BATCH = 10  # SQS receives, sends and deletes at most 10 messages per call
# Dead letters listed or looked over stay hidden this long while the listing pages on; they
# are released at once afterwards.
PEEK_SECONDS = 30


class SqsQueue:
    def __init__(self, client: Any, name_prefix: str, *, wait_seconds: int = 1) -> None:
        """wait_seconds: long polling of the DLQ reads (short polls may miss messages on a
        nearly empty queue)."""
        self.client = client
        self.name_prefix = name_prefix
        self.wait_seconds = wait_seconds
        self._urls: dict[str, str] = {}

    # ----- names -----------------------------------------------------------------------------
    def url(self, queue: str) -> str:
        """The URL of `<prefix>-<queue>`, looked up once."""
        url = self._urls.get(queue)
        if url is None:
            answer = self.client.get_queue_url(QueueName=f"{self.name_prefix}-{queue}")
            url = self._urls[queue] = str(answer["QueueUrl"])
        return url

    def dlq_url(self, queue: str) -> str:
        return self.url(f"{queue}-dlq")

    # ----- WorkQueue -------------------------------------------------------------------------
    def send(self, queue: str, body: str, *, dedupe_id: str | None = None) -> None:
        request: dict[str, Any] = {"QueueUrl": self.url(queue), "MessageBody": body}
        if dedupe_id is not None:
            request["MessageAttributes"] = {
                DEDUPE_ATTRIBUTE: {"DataType": "String", "StringValue": dedupe_id}
            }
        self.client.send_message(**request)

    # ----- the worker's side -----------------------------------------------------------------
    def retry_later(self, receipt_handle: str, queue: str, delay: int) -> None:
        """Hide a received message for `delay` seconds: its next delivery comes no sooner."""
        self.client.change_message_visibility(
            QueueUrl=self.url(queue), ReceiptHandle=receipt_handle, VisibilityTimeout=delay
        )

    # ----- DeadLetters -----------------------------------------------------------------------
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        """Up to `limit` messages of the queue's DLQ, left in it (and visible again)."""
        url = self.dlq_url(queue)
        seen = self._peek(url, limit)
        self._release(url, [message["ReceiptHandle"] for message in seen])
        return [
            DeadLetter(
                message_id=message["MessageId"],
                body=message["Body"],
                # Deliveries before this look, which is one receive too.
                receive_count=max(int(message["Attributes"]["ApproximateReceiveCount"]) - 1, 0),
                error=None,  # SQS keeps no error with a message it moved
            )
            for message in seen
        ]

    def redrive(self, queue: str, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or those listed) back to the queue; returns how many.
        Each is sent anew (a new message id, receive count 0) and only then deleted from the
        DLQ, so a failure between the two leaves a duplicate, never a loss."""
        if message_ids is not None and not message_ids:
            return 0
        wanted = None if message_ids is None else set(message_ids)
        dlq, target = self.dlq_url(queue), self.url(queue)
        moved: set[str] = set()
        passed_over: list[str] = []
        while wanted is None or not wanted <= moved:
            batch = self._receive(dlq, BATCH)
            if not batch:
                break
            chosen = [m for m in batch if wanted is None or m["MessageId"] in wanted]
            passed_over += [m["ReceiptHandle"] for m in batch if m not in chosen]
            done = self._move(chosen, target, dlq) if chosen else []
            moved.update(m["MessageId"] for m in done)
            passed_over += [m["ReceiptHandle"] for m in chosen if m not in done]
        self._release(dlq, passed_over)
        return len(moved)

    # ----- helpers ---------------------------------------------------------------------------
    def _receive(self, url: str, count: int) -> list[dict[str, Any]]:
        answer = self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(count, BATCH),
            VisibilityTimeout=PEEK_SECONDS,
            WaitTimeSeconds=self.wait_seconds,
            # The older name of MessageSystemAttributeNames: accepted by every boto3 >= 1.34.
            AttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def _peek(self, url: str, limit: int) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < limit:
            batch = self._receive(url, limit - len(seen))
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen[message["MessageId"]] = message
        return list(seen.values())[:limit]

    def _move(self, messages: list[dict[str, Any]], target: str, dlq: str) -> list[dict[str, Any]]:
        """Send the messages to target, then delete those sent from the DLQ; returns those."""
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        sent = self.client.send_message_batch(QueueUrl=target, Entries=entries)
        ok = {int(entry["Id"]) for entry in sent.get("Successful", [])}
        done = [message for index, message in enumerate(messages) if index in ok]
        if done:
            self.client.delete_message_batch(
                QueueUrl=dlq,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )
        return done

    def _release(self, url: str, receipts: list[str]) -> None:
        """Make received messages visible again at once."""
        for start in range(0, len(receipts), BATCH):
            self.client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                    for index, receipt in enumerate(receipts[start : start + BATCH])
                ],
            )

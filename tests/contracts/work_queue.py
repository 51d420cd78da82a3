"""The work queue port (ledger.workflows.queue: WorkQueue.send, DeadLetters.dead_letters and
redrive), written once and run against both queues: each test_work_queue_<backend>.py
subclasses WorkQueueContract.

Receiving, finishing, retrying later and giving up on a message are the worker's side, which
the two backends split differently by design: the embedded workers call SqliteQueue for all of
it, while on AWS the Lambda service receives and deletes, the worker only delays a retry, and
SQS's redrive policy moves a message to the DLQ after maxReceiveCount deliveries. So each
subclass says how its backend does those four things, and this class checks that what follows
from them is the same: deliveries and their counts, hidden while handled, back after a retry's
delay, dead letters listed without being consumed, redriven all or by id, a fresh start after.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.workflows.queue import DeadLetter, Message

QUEUE = "work"
OTHER = "other"
VISIBILITY_SECONDS = 1  # how long a received message stays hidden while it is handled


class WorkQueueContract:
    """What both queues do. A backend's subclass provides the `queue` fixture (the adapter,
    with the queues QUEUE and OTHER) and the worker's side below."""

    @pytest.fixture
    def queue(self) -> Any:
        raise NotImplementedError("each backend's subclass makes its queue")

    # ----- the worker's side, per backend ---------------------------------------------------
    def receive(self, queue: Any, name: str) -> list[Message]:
        """One receive of what is visible now, hiding it for VISIBILITY_SECONDS."""
        raise NotImplementedError

    def finish(self, queue: Any, name: str, message: Message) -> None:
        """The message was handled: it is deleted."""
        raise NotImplementedError

    def retry_later(self, queue: Any, name: str, message: Message, seconds: int) -> None:
        """The handling failed for now: deliver the message again in `seconds`."""
        raise NotImplementedError

    def give_up(self, queue: Any, name: str, message: Message) -> None:
        """The message failed for the last time the queue allows: it becomes a dead letter."""
        raise NotImplementedError

    def let_time_pass(self, seconds: float) -> None:
        raise NotImplementedError

    # ----- helpers --------------------------------------------------------------------------
    def only(self, queue: Any, name: str) -> Message:
        (message,) = self.receive(queue, name)
        return message

    def dead_letter(self, queue: Any, body: str) -> None:
        """A message sent to QUEUE, received once and given up on."""
        queue.send(QUEUE, body)
        message = self.only(queue, QUEUE)
        assert message.body == body
        self.give_up(queue, QUEUE, message)

    @staticmethod
    def bodies(letters: list[DeadLetter]) -> list[str]:
        return sorted(letter.body for letter in letters)

    # ----- deliveries -----------------------------------------------------------------------
    def test_a_sent_message_is_delivered_to_its_queue_with_its_body(self, queue: Any) -> None:
        queue.send(QUEUE, '{"n": 1}', dedupe_id="m1")
        assert self.receive(queue, OTHER) == []
        message = self.only(queue, QUEUE)
        assert (message.body, message.receive_count) == ('{"n": 1}', 1)
        assert message.message_id
        assert message.receipt

    def test_a_message_being_handled_is_hidden_and_a_finished_one_is_gone(self, queue: Any) -> None:
        queue.send(QUEUE, "a")
        message = self.only(queue, QUEUE)
        assert self.receive(queue, QUEUE) == []  # hidden while a worker holds it
        self.finish(queue, QUEUE, message)
        self.let_time_pass(VISIBILITY_SECONDS + 1)
        assert self.receive(queue, QUEUE) == []
        assert queue.dead_letters(QUEUE) == []

    def test_an_unfinished_message_is_delivered_again_after_its_visibility(
        self, queue: Any
    ) -> None:
        queue.send(QUEUE, "a")
        first = self.only(queue, QUEUE)
        self.let_time_pass(VISIBILITY_SECONDS + 1)  # the worker died holding it
        again = self.only(queue, QUEUE)
        assert (again.message_id, again.body, again.receive_count) == (first.message_id, "a", 2)

    def test_a_retried_message_comes_back_after_its_delay(self, queue: Any) -> None:
        queue.send(QUEUE, "a")
        first = self.only(queue, QUEUE)
        self.retry_later(queue, QUEUE, first, 3)
        self.let_time_pass(VISIBILITY_SECONDS + 0.5)  # longer than it would have stayed hidden
        assert self.receive(queue, QUEUE) == []
        self.let_time_pass(2)
        again = self.only(queue, QUEUE)
        assert (again.message_id, again.body, again.receive_count) == (first.message_id, "a", 2)

    # ----- dead letters ---------------------------------------------------------------------
    def test_dead_letters_are_listed_without_being_consumed(self, queue: Any) -> None:
        self.dead_letter(queue, "dead")
        queue.send(QUEUE, "alive")
        (letter,) = queue.dead_letters(QUEUE)
        assert letter.body == "dead"
        assert letter.receive_count >= 1
        again = queue.dead_letters(QUEUE)  # listing again finds the same
        assert [(d.message_id, d.body) for d in again] == [(letter.message_id, "dead")]
        assert queue.dead_letters(OTHER) == []
        assert [m.body for m in self.receive(queue, QUEUE)] == ["alive"]  # never delivered

    def test_a_listing_is_limited(self, queue: Any) -> None:
        for body in ("a", "b", "c"):
            self.dead_letter(queue, body)
        assert len(queue.dead_letters(QUEUE, limit=2)) == 2
        assert self.bodies(queue.dead_letters(QUEUE)) == ["a", "b", "c"]

    def test_redrive_moves_only_the_dead_letters_listed(self, queue: Any) -> None:
        self.dead_letter(queue, "first")
        self.dead_letter(queue, "second")
        assert queue.redrive(QUEUE, []) == 0
        assert queue.redrive(QUEUE, ["not-a-dead-letter"]) == 0
        assert queue.redrive(OTHER) == 0
        letters = {letter.body: letter for letter in queue.dead_letters(QUEUE)}
        assert sorted(letters) == ["first", "second"]
        assert queue.redrive(QUEUE, [letters["first"].message_id]) == 1
        assert [letter.body for letter in queue.dead_letters(QUEUE)] == ["second"]
        again = self.only(queue, QUEUE)
        assert (again.body, again.receive_count) == ("first", 1)  # a fresh start

    def test_redrive_of_every_dead_letter(self, queue: Any) -> None:
        self.dead_letter(queue, "first")
        self.dead_letter(queue, "second")
        assert queue.redrive(QUEUE) == 2
        assert queue.dead_letters(QUEUE) == []
        received = self.receive(queue, QUEUE)
        assert sorted((m.body, m.receive_count) for m in received) == [
            ("first", 1),
            ("second", 1),
        ]
        assert queue.redrive(QUEUE) == 0

"""The work queue contract on the embedded queue (ledger.adapters.sqlite_queue.SqliteQueue),
on the clock the tests control, and what only it does: receipts per receive, a dedupe id
remembered after handling, and the error a dead letter died of."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.adapters.sqlite_queue import SqliteQueue
from ledger.workflows.queue import Message
from tests.conftest import ManualClock
from tests.contracts.work_queue import VISIBILITY_SECONDS, WorkQueueContract


class TestSqliteQueue(WorkQueueContract):
    @pytest.fixture
    def queue(self, clock: ManualClock) -> Iterator[SqliteQueue]:
        self.clock = clock
        queue = SqliteQueue(":memory:", clock)
        yield queue
        queue.close()

    def receive(self, queue: SqliteQueue, name: str) -> list[Message]:
        return queue.receive(name, visibility_seconds=VISIBILITY_SECONDS)

    def finish(self, queue: SqliteQueue, name: str, message: Message) -> None:
        queue.delete(message.receipt)

    def retry_later(self, queue: SqliteQueue, name: str, message: Message, seconds: int) -> None:
        queue.retry_later(message.receipt, seconds, "ProviderUnavailable: try later")

    def give_up(self, queue: SqliteQueue, name: str, message: Message) -> None:
        queue.dead_letter(message.receipt, "ValueError: boom")  # the embedded workers do this

    def let_time_pass(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)

    # ----- only the embedded queue ----------------------------------------------------------
    def test_only_the_latest_receipt_settles_a_message(
        self, queue: SqliteQueue, clock: ManualClock
    ) -> None:
        queue.send("q", "{}", dedupe_id="m1")
        (first,) = queue.receive("q", visibility_seconds=1)
        assert queue.receive("q", visibility_seconds=1) == []  # invisible while held
        clock.advance(seconds=2)  # the first worker's visibility ran out
        (second,) = queue.receive("q", visibility_seconds=30)
        assert (second.message_id, second.receive_count) == ("m1", 2)
        queue.delete(first.receipt)  # stale: must not settle the copy the second worker holds
        queue.dead_letter(first.receipt, "late")
        assert queue.depth("q") == 1
        assert queue.dead_letters("q") == []
        queue.delete(second.receipt)
        assert queue.depth("q") == 0

    def test_a_handled_message_is_not_accepted_again_under_its_dedupe_id(
        self, queue: SqliteQueue, clock: ManualClock
    ) -> None:
        queue.send("q", '{"n": 1}', dedupe_id="m1")
        (message,) = queue.receive("q", visibility_seconds=30)
        queue.delete(message.receipt)
        queue.send("q", '{"n": 1}', dedupe_id="m1")  # the bus routing the same event again
        assert queue.receive("q", visibility_seconds=30) == []
        clock.advance(days=15)
        assert queue.prune() == 1  # forgotten after DONE_KEPT_DAYS

    def test_dead_letters_are_listed_and_redriven(self, queue: SqliteQueue) -> None:
        queue.send("q", "{}", dedupe_id="m1")
        (message,) = queue.receive("q", visibility_seconds=30)
        queue.dead_letter(message.receipt, "ValueError: boom")
        (letter,) = queue.dead_letters("q")
        assert (letter.message_id, letter.error, letter.receive_count) == (
            "m1",
            "ValueError: boom",
            1,
        )
        assert queue.redrive("q", ["other"]) == 0
        assert queue.redrive("q") == 1
        (again,) = queue.receive("q", visibility_seconds=30)
        assert again.receive_count == 1

"""The embedded queue's SQS semantics: receipts, visibility, dedupe after handling, positions."""

from __future__ import annotations

import pathlib
import sqlite3

from ledger.adapters.sqlite_queue import SqliteQueue
from tests.conftest import ManualClock


def test_only_the_latest_receipt_settles_a_message(clock: ManualClock) -> None:
    queue = SqliteQueue(":memory:", clock)
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


def test_a_handled_message_is_not_accepted_again_under_its_dedupe_id(clock: ManualClock) -> None:
    queue = SqliteQueue(":memory:", clock)
    queue.send("q", '{"n": 1}', dedupe_id="m1")
    (message,) = queue.receive("q", visibility_seconds=30)
    queue.delete(message.receipt)
    queue.send("q", '{"n": 1}', dedupe_id="m1")  # the bus routing the same event again
    assert queue.receive("q", visibility_seconds=30) == []
    clock.advance(days=15)
    assert queue.prune() == 1  # forgotten after DONE_KEPT_DAYS


def test_positions_only_move_forward(clock: ManualClock) -> None:
    queue = SqliteQueue(":memory:", clock)
    queue.send_batch([], position=("bus", 10))
    queue.send_batch([], position=("bus", 7))  # a slower reader finishing late
    assert queue.position("bus") == 10


def test_dead_letters_are_listed_and_redriven(clock: ManualClock) -> None:
    queue = SqliteQueue(":memory:", clock)
    queue.send("q", "{}", dedupe_id="m1")
    (message,) = queue.receive("q", visibility_seconds=30)
    queue.dead_letter(message.receipt, "ValueError: boom")
    (letter,) = queue.dead_letters("q")
    assert (letter.message_id, letter.error, letter.receive_count) == ("m1", "ValueError: boom", 1)
    assert queue.redrive("q", ["other"]) == 0
    assert queue.redrive("q") == 1
    (again,) = queue.receive("q", visibility_seconds=30)
    assert again.receive_count == 1


def test_a_queue_file_from_before_receipts_is_migrated(
    clock: ManualClock, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "old.queues.sqlite3"
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE queue_messages (
                message_id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL,
                receive_count INTEGER NOT NULL DEFAULT 0, visible_at_ms INTEGER NOT NULL,
                dead INTEGER NOT NULL DEFAULT 0, error TEXT, sent_at_ms INTEGER NOT NULL
            );
            CREATE INDEX queue_ready ON queue_messages (queue, dead, visible_at_ms);
            CREATE TABLE queue_positions (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
            INSERT INTO queue_messages (message_id, queue, body, visible_at_ms, sent_at_ms)
            VALUES ('m1', 'q', '{}', 0, 0);
            """
        )
    old.close()
    queue = SqliteQueue(str(path), clock)
    (message,) = queue.receive("q", visibility_seconds=30)
    assert message.message_id == "m1"
    queue.delete(message.receipt)
    assert queue.depth("q") == 0
    queue.close()

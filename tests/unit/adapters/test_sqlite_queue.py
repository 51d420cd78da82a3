"""The embedded queue's own parts: the bus position kept with the messages, and queue files
from older releases. Its queue semantics are the work queue contract, in
tests/contracts/test_work_queue_sqlite.py."""

from __future__ import annotations

import pathlib
import sqlite3

from ledger.adapters.sqlite_queue import SqliteQueue
from tests.conftest import ManualClock


def test_positions_only_move_forward(clock: ManualClock) -> None:
    queue = SqliteQueue(":memory:", clock)
    queue.send_batch([], position=("bus", 10))
    queue.send_batch([], position=("bus", 7))  # a slower reader finishing late
    assert queue.position("bus") == 10


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

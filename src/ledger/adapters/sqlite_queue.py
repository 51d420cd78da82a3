"""The embedded runtime's queues, in SQLite: SQS semantics (visibility timeout, receive
counts, a dead-letter queue per queue, redrive) so that workflows behave as on AWS. Messages
survive a restart; the bus position lives here too, written in the same transaction as the
messages it produced, so an event is routed exactly once."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from ledger.workflows.queue import DeadLetter, Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
    message_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at_ms INTEGER NOT NULL,
    dead INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    error TEXT,
    sent_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_messages (queue, done, dead, visible_at_ms);
CREATE TABLE IF NOT EXISTS queue_positions (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
"""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


DONE_KEPT_DAYS = 14


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


class SqliteQueue:
    def __init__(self, path: str, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 30000")
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
            # Set, not left to the build: a handled or scheduled message stays recorded.
            self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Queue files written before receipts and done rows existed gain their columns."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(queue_messages)")}
        if "done" in columns:
            return
        self._db.execute("ALTER TABLE queue_messages ADD COLUMN done INTEGER NOT NULL DEFAULT 0")
        self._db.execute("ALTER TABLE queue_messages ADD COLUMN receipt TEXT")
        self._db.execute("DROP INDEX IF EXISTS queue_ready")
        self._db.execute(
            "CREATE INDEX queue_ready ON queue_messages (queue, done, dead, visible_at_ms)"
        )

    def _now_ms(self) -> int:
        return _ms(self._clock())

    def close(self) -> None:
        self._db.close()

    # ----- sending ---------------------------------------------------------------------------
    def send(self, queue: str, body: str, *, dedupe_id: str | None = None) -> None:
        self.send_batch([(queue, body, dedupe_id)])

    def send_batch(
        self,
        messages: Sequence[tuple[str, str, str | None]],
        *,
        position: tuple[str, int] | None = None,
    ) -> None:
        """Send messages (a dedupe id already used is ignored) and, in the same transaction,
        record a reader's position."""
        now = self._now_ms()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO queue_messages"
                    " (message_id, queue, body, visible_at_ms, sent_at_ms) VALUES (?, ?, ?, ?, ?)",
                    [
                        (dedupe_id or uuid.uuid4().hex, queue, body, now, now)
                        for queue, body, dedupe_id in messages
                    ],
                )
                if position is not None:
                    self._db.execute(
                        "INSERT INTO queue_positions (name, position) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE"
                        " SET position = MAX(position, excluded.position)",
                        position,
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def position(self, name: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT position FROM queue_positions WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    # ----- receiving -------------------------------------------------------------------------
    def receive(self, queue: str, *, visibility_seconds: int, limit: int = 10) -> list[Message]:
        now = self._now_ms()
        with self._lock:
            # The common case, nothing visible, costs one read and no write transaction.
            if not self._db.execute(
                "SELECT 1 FROM queue_messages"
                " WHERE queue = ? AND done = 0 AND dead = 0 AND visible_at_ms <= ? LIMIT 1",
                (queue, now),
            ).fetchone():
                return []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT message_id, body, receive_count FROM queue_messages"
                    " WHERE queue = ? AND done = 0 AND dead = 0 AND visible_at_ms <= ?"
                    " ORDER BY visible_at_ms, sent_at_ms LIMIT ?",
                    (queue, now, limit),
                ).fetchall()
                received = []
                for message_id, body, count in rows:
                    receipt = uuid.uuid4().hex
                    self._db.execute(
                        "UPDATE queue_messages SET receive_count = receive_count + 1,"
                        " visible_at_ms = ?, receipt = ? WHERE message_id = ?",
                        (now + visibility_seconds * 1000, receipt, message_id),
                    )
                    received.append(Message(message_id, body, count + 1, receipt))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return received

    def delete(self, receipt: str) -> None:
        """Done: kept (without its body) so a duplicate send is still recognised."""
        with self._lock:
            self._db.execute(
                "UPDATE queue_messages SET done = 1, body = '', receipt = NULL WHERE receipt = ?",
                (receipt,),
            )

    def prune(self) -> int:
        """Forget messages handled more than DONE_KEPT_DAYS ago."""
        cutoff = self._now_ms() - DONE_KEPT_DAYS * 86_400_000
        with self._lock:
            return self._db.execute(
                "DELETE FROM queue_messages WHERE done = 1 AND sent_at_ms < ?", (cutoff,)
            ).rowcount

    def retry_later(self, receipt: str, delay_seconds: int, error: str | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE queue_messages SET visible_at_ms = ?, error = ? WHERE receipt = ?",
                (self._now_ms() + delay_seconds * 1000, error, receipt),
            )

    def dead_letter(self, receipt: str, error: str | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE queue_messages SET dead = 1, error = ?, receipt = NULL WHERE receipt = ?",
                (error, receipt),
            )

    def next_visible_in_ms(self, queue: str) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(visible_at_ms) FROM queue_messages"
                " WHERE queue = ? AND done = 0 AND dead = 0",
                (queue,),
            ).fetchone()
        return None if row[0] is None else max(int(row[0]) - self._now_ms(), 0)

    def depth(self, queue: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM queue_messages WHERE queue = ? AND done = 0 AND dead = 0",
                (queue,),
            ).fetchone()
        return int(row[0])

    # ----- dead letters ----------------------------------------------------------------------
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]:
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, body, receive_count, error FROM queue_messages"
                " WHERE queue = ? AND dead = 1 ORDER BY sent_at_ms LIMIT ?",
                (queue, limit),
            ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def dead_letter_counts(self) -> dict[str, int]:
        """How many dead letters each queue holds (queues holding none are absent)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT queue, COUNT(*) FROM queue_messages WHERE dead = 1 GROUP BY queue"
            ).fetchall()
        return {str(queue): int(count) for queue, count in rows}

    def redrive(self, queue: str, message_ids: Sequence[str] | None = None) -> int:
        now = self._now_ms()
        sql = (
            "UPDATE queue_messages SET dead = 0, receive_count = 0, visible_at_ms = ?,"
            " error = NULL, receipt = NULL WHERE queue = ? AND dead = 1"
        )
        params: list[object] = [now, queue]
        if message_ids is not None:
            if not message_ids:
                return 0
            sql += f" AND message_id IN ({', '.join('?' for _ in message_ids)})"
            params += list(message_ids)
        with self._lock:
            return self._db.execute(sql, params).rowcount

"""The embedded event store: the `eventsourcing` library's SQLite recorders on connections that
are durable by explicit setting, never by how SQLite was built. Every connection runs in WAL mode
with synchronous=FULL, so a commit is on disk (the WAL fsync'd) before it returns: an
acknowledged payment survives a power loss, not only a killed process. Each new connection
checks that the setting took, and the store refuses to open otherwise.

Select it with PERSISTENCE_MODULE=ledger.adapters.sqlite_event_store:DurableSQLiteFactory (the
ledger's settings do this for LEDGER_PERSISTENCE=sqlite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType

SYNCHRONOUS_FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def make_durable(connection: sqlite3.Connection) -> None:
    """WAL with synchronous=FULL on this connection, checked."""
    connection.execute("PRAGMA synchronous=FULL")
    level = connection.execute("PRAGMA synchronous").fetchone()[0]
    if level != SYNCHRONOUS_FULL:
        raise PersistenceError(f"SQLite refused synchronous=FULL (it reports {level})")


def durability(connection: sqlite3.Connection) -> dict[str, str]:
    """What a connection reports: journal mode and synchronous level, by name."""
    journal = connection.execute("PRAGMA journal_mode").fetchone()[0]
    level = connection.execute("PRAGMA synchronous").fetchone()[0]
    names = {0: "off", 1: "normal", 2: "full", 3: "extra"}
    return {"journal_mode": str(journal).lower(), "synchronous": names.get(level, str(level))}


class DurableConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        if not self.is_sqlite_memory_mode:
            make_durable(connection._sqlite_conn)
        return connection


class DurableSQLiteDatastore(SQLiteDatastore):
    def __init__(self, db_name: str, **options: Any) -> None:
        super().__init__(db_name, **options)
        pool = self.pool
        self.pool = DurableConnectionPool(
            db_name=pool.db_name,
            lock_timeout=pool.lock_timeout,
            pool_size=pool.pool_size,
            max_overflow=pool.max_overflow,
            pool_timeout=pool.pool_timeout,
            max_age=pool.max_age,
            pre_ping=pool.pre_ping,
        )
        pool.close()

    def durability(self) -> dict[str, str]:
        with self.get_connection(commit=False) as connection:
            return durability(connection._sqlite_conn)


# Ids per query of select_events_of_many (SQLite allows 32766 bound parameters).
IDS_PER_QUERY = 500


class IndexedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's recorder, plus reads of many ids in one statement: "is it recorded, and at
    which version" (the hot path asks it for every keyed request and every cached read, where a
    read of each id's events in its own BEGIN...COMMIT cost several times more), and every event
    of many aggregates."""

    def newest_versions(self, originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        if not originator_ids:
            return {}
        marks = ",".join("?" * len(originator_ids))
        # The table name is the recorder's own, the values are bound parameters.
        statement = (
            f"SELECT originator_id, MAX(originator_version) FROM {self.events_table_name} "  # noqa: S608
            f"WHERE originator_id IN ({marks}) GROUP BY originator_id"
        )
        # The ids asked, by their stored spelling: none is parsed back into a UUID.
        asked = {i.hex if isinstance(i, UUID) else str(i): i for i in originator_ids}
        with self.datastore.get_connection(commit=False) as connection:
            rows = connection._sqlite_conn.execute(statement, list(asked)).fetchall()
        found: dict[UUID, int] = {}
        for row in rows:
            asked_id = asked.get(row[0])
            found[asked_id if isinstance(asked_id, UUID) else UUID(str(row[0]))] = int(row[1])
        return found

    def insert_events_quietly(self, stored_events: Sequence[StoredEvent]) -> None:
        """insert_events without the notification ids (a group commit does not use them): one
        executemany in one transaction, the same rows in the same order (so the same rowids,
        the notification ids followers read), and the same errors (an IntegrityError when a
        version is taken, the optimistic-concurrency conflict)."""
        if not stored_events:
            return
        params = [
            (
                s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                s.originator_version,
                s.topic,
                s.state,
            )
            for s in stored_events
        ]
        with self.datastore.transaction(commit=True) as cursor:
            cursor.executemany(self.insert_events_statement, params)

    def select_events_of_many(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of each aggregate, by aggregate then version, one query per
        IDS_PER_QUERY ids (reconciliation reads thousands of payments at once)."""
        found: list[StoredEvent] = []
        for start in range(0, len(originator_ids), IDS_PER_QUERY):
            chunk = [i.hex for i in originator_ids[start : start + IDS_PER_QUERY]]
            statement = (
                f"SELECT * FROM {self.events_table_name} WHERE originator_id IN "  # noqa: S608
                f"({','.join('?' * len(chunk))}) ORDER BY originator_id, originator_version"
            )
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, chunk)
                rows = cursor.fetchall()
            # The ids asked, as UUIDs already: none is parsed again per event.
            wanted = {i.hex: i for i in originator_ids[start : start + IDS_PER_QUERY]}
            found += [
                StoredEvent(
                    originator_id=wanted[row["originator_id"]],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in rows
            ]
        return found


class DurableSQLiteFactory(SQLiteFactory):
    application_recorder_class = IndexedSQLiteApplicationRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        store = self.datastore
        self.datastore = DurableSQLiteDatastore(
            store.pool.db_name,
            lock_timeout=store.pool.lock_timeout,
            single_row_tracking=store.single_row_tracking,
            originator_id_type=store.originator_id_type,
        )
        store.close()

    def durability(self) -> dict[str, str]:
        """What a connection of this store reports right now (checked at start, in /healthz)."""
        store = self.datastore
        assert isinstance(store, DurableSQLiteDatastore)
        return store.durability()

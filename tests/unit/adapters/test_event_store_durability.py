"""The embedded event store is durable by explicit setting: every connection runs WAL with
synchronous=FULL (read back from live connections), start-up refuses a store that is not, and
/healthz reports what the store says."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.sqlite_event_store import DurableSQLiteFactory, make_durable
from ledger.bootstrap import build
from ledger.settings import Settings


def test_every_event_store_connection_is_wal_with_synchronous_full(tmp_path: Path) -> None:
    container = build(Settings(db=tmp_path / "ledger.sqlite3", workflows=False))
    try:
        factory = container.engine.factory
        assert isinstance(factory, DurableSQLiteFactory)
        pool = factory.datastore.pool
        # Several connections at once: each one was set up, not only the first.
        connections = [pool.get_connection(is_writer=False) for _ in range(3)]
        try:
            for connection in connections:
                raw = connection._sqlite_conn
                assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2
                assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            for connection in connections:
                pool.put_connection(connection)
        assert container.durability() == {
            "store": "sqlite",
            "journal_mode": "wal",
            "synchronous": "full",
        }
    finally:
        container.close()


def test_healthz_reports_the_live_setting(tmp_path: Path) -> None:
    container = build(Settings(db=tmp_path / "ledger.sqlite3", workflows=False))
    with TestClient(create_app(container, follow=False)) as client:
        health = client.get("/healthz").json()
    container.close()
    assert health["event_store"] == {
        "store": "sqlite",
        "journal_mode": "wal",
        "synchronous": "full",
    }


def test_a_connection_that_will_not_take_the_setting_is_refused(tmp_path: Path) -> None:
    class Stubborn:
        """A connection whose build ignores the pragma (reports NORMAL whatever is asked)."""

        def __init__(self) -> None:
            self.db = sqlite3.connect(tmp_path / "stubborn.sqlite3")

        def execute(self, sql: str) -> sqlite3.Cursor:
            if sql == "PRAGMA synchronous":
                return self.db.execute("SELECT 1")
            return self.db.execute(sql)

    with pytest.raises(Exception, match="synchronous=FULL"):
        make_durable(Stubborn())  # type: ignore[arg-type]


def test_dynamodb_event_states_are_compressed_and_old_plain_ones_still_read() -> None:
    """Items bill per started KB: a payment's stored reply is 1.3 KB of JSON, under 1 KB
    compressed. Events stored before compression are plain JSON and read back as they are."""
    from ledger.adapters.dynamodb_store import ZlibOrPlain

    compressor = ZlibOrPlain()
    state = b'{"body":"' + b"x" * 1300 + b'"}'
    packed = compressor.compress(state)
    assert len(packed) < 1024 < len(state)
    assert compressor.decompress(packed) == state
    assert compressor.decompress(b'{"plain":true}') == b'{"plain":true}'
    env = Settings(
        persistence="dynamodb",
        events_table="e",
        snapshots_table="s",
        read_models_table="r",
    ).event_store_env()
    assert env["COMPRESSOR_TOPIC"] == "ledger.adapters.dynamodb_store:ZlibOrPlain"

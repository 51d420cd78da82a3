"""The read-model store contract on SQLite (projections.stores.sqlite.SqliteReadModels), on a
file and in memory, and what only the SQLite store does: a batch is one transaction, and the
store keeps the follower's position in the notification log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

from projections.store import ProjectionGap, ReadModelStore
from projections.stores.sqlite import SqliteReadModels
from tests.contracts.read_model_store import History, ReadModelStoreContract, versions_of


class SqliteContract(ReadModelStoreContract):
    def test_a_gap_in_an_aggregates_versions_is_refused_not_skipped(
        self, store: ReadModelStore, history: History
    ) -> None:
        # One transaction per batch: the events of the batch before the gap are not kept either.
        payment_events = [i for i in history.items if i.version >= 1][1:]
        payment_only = [
            i for i in payment_events if i.aggregate_id == payment_events[-1].aggregate_id
        ]
        with pytest.raises(ProjectionGap):
            store.apply([payment_only[0], payment_only[2]], None)
        assert store.dump()["tracking"] == []

    def test_the_position_commits_with_its_batch(
        self, store: ReadModelStore, history: History
    ) -> None:
        one, _, three, *_ = versions_of(history.items, history.items[-1].aggregate_id)
        with pytest.raises(ProjectionGap):
            store.apply([one, three], 99)
        assert store.position() == (0, None)  # refused with the batch
        store.apply(history.items[:3], 7)
        position, updated_at = store.position()
        assert position == 7
        assert updated_at is not None
        assert store.freshness()["position"] == 7
        store.apply(history.items[3:], None)  # no position given: it stays
        assert store.position()[0] == 7
        store.reset()
        assert store.position() == (0, None)

    def test_replace_all_records_the_last_batchs_position(
        self, store: ReadModelStore, history: History
    ) -> None:
        batches = [(history.items[:4], 4), (history.items[4:], 40)]
        assert store.replace_all(iter(batches)) == len(history.items)
        assert store.position()[0] == 40


class TestSqliteFileReadModels(SqliteContract):
    @pytest.fixture
    def new_store(self, tmp_path: Path) -> Iterator[Callable[[], ReadModelStore]]:
        made: list[SqliteReadModels] = []
        names = count(1)

        def make() -> ReadModelStore:
            made.append(SqliteReadModels(str(tmp_path / f"read-models-{next(names)}.sqlite3")))
            return made[-1]

        yield make
        for store in made:
            store.close()

    def test_the_read_models_outlive_the_store_object(
        self, tmp_path: Path, history: History
    ) -> None:
        path = str(tmp_path / "kept.sqlite3")
        first = SqliteReadModels(path)
        first.apply(history.items, 12)
        dumped = first.dump()
        first.close()
        again = SqliteReadModels(path)
        assert again.dump() == dumped
        assert again.position()[0] == 12
        assert again.apply(history.items, None) == 0  # its versions were kept too
        again.close()


class TestSqliteMemoryReadModels(SqliteContract):
    @pytest.fixture
    def new_store(self) -> Iterator[Callable[[], ReadModelStore]]:
        made: list[SqliteReadModels] = []

        def make() -> ReadModelStore:
            made.append(SqliteReadModels(":memory:"))  # each its own database
            return made[-1]

        yield make
        for store in made:
            store.close()

"""The read-model store contract on SQLite (projections.stores.sqlite.SqliteReadModels), on a
file and in memory, and what only the SQLite store does: a batch is one transaction, and the
store keeps the follower's position in the notification log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.changes import Change, Increment, Upsert
from projections.store import ProjectionGap, ReadModelStore, TrackedChanges
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

    def test_one_batch_leaves_what_one_event_at_a_time_leaves(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        # A batch writes each row once, with what its events' changes to it add up to.
        whole, one_by_one = new_store(), new_store()
        whole.apply(history.items, None)
        for item in history.items:
            one_by_one.apply([item], None)
        assert whole.dump() == one_by_one.dump()


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


# Changes to a few rows of two tables, setting and adding to overlapping columns: a column set
# then added to, one added to then set, set to NULL then added to, a key given in another order,
# an Upsert of no columns.
_PAYMENT = st.sampled_from(["pay_1", "pay_2"])
_DAY = st.sampled_from(["2026-01-01", "2026-01-02"])
_VALUE = st.one_of(st.none(), st.integers(-50, 50))


def _day_key(day: str, reordered: bool) -> dict[str, str]:
    key = {"manufacturer_id": "mfr_1", "currency": "USD", "day": day}
    return dict(reversed(key.items())) if reordered else key


_CHANGE: st.SearchStrategy[Change] = st.one_of(
    st.builds(
        lambda p, values: Upsert("payments", {"payment_id": p}, values),
        _PAYMENT,
        st.dictionaries(st.sampled_from(["status", "amount_captured", "amount_refunded"]), _VALUE),
    ),
    st.builds(
        lambda p, deltas: Increment("payments", {"payment_id": p}, deltas),
        _PAYMENT,
        st.dictionaries(
            st.sampled_from(["amount_captured", "amount_refunded", "amount_disputed"]),
            st.integers(-50, 50),
            min_size=1,
        ),
    ),
    st.builds(
        lambda day, reordered, deltas: Increment("report_days", _day_key(day, reordered), deltas),
        _DAY,
        st.booleans(),
        st.dictionaries(st.sampled_from(["fees", "refunds"]), st.integers(-50, 50), min_size=1),
    ),
    st.builds(
        lambda day, reordered, values: Upsert("report_days", _day_key(day, reordered), values),
        _DAY,
        st.booleans(),
        st.dictionaries(st.sampled_from(["fees", "payouts"]), _VALUE),
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.lists(st.lists(_CHANGE, max_size=3), max_size=3),
    events=st.lists(st.lists(_CHANGE, max_size=4), min_size=1, max_size=8),
    split=st.integers(0, 8),
)
def test_a_batch_that_touches_rows_many_times_equals_one_change_at_a_time(
    before: list[list[Change]], events: list[list[Change]], split: int
) -> None:
    """Folded writes (one statement per row and batch) against one apply per change, on rows
    that exist before the batch or not, with the batch's first events seen already."""
    earlier = [TrackedChanges("agg-0", n + 1, changes) for n, changes in enumerate(before)]
    items = [
        TrackedChanges(f"agg-{1 + n % 2}", n // 2 + 1, changes) for n, changes in enumerate(events)
    ]
    folded, single = SqliteReadModels(":memory:"), SqliteReadModels(":memory:")
    try:
        folded.apply(earlier, None)
        folded.apply(items[:split], None)
        assert folded.apply(items, None) == len(items) - min(split, len(items))
        changes = [c for item in [*earlier, *items] for c in item.changes]
        for n, change in enumerate(changes):
            single.apply([TrackedChanges(f"one-{n}", 1, [change])], None)
        got, want = folded.dump(), single.dump()
        assert {t: rows for t, rows in got.items() if t != "tracking"} == {
            t: rows for t, rows in want.items() if t != "tracking"
        }
        last = {item.aggregate_id: item.version for item in [*earlier, *items]}
        assert got["tracking"] == sorted(last.items())
    finally:
        folded.close()
        single.close()

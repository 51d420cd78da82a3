"""The read-model store contract on DynamoDB Local (projections.stores.dynamodb.DynamoDBReadModels,
one table as Terraform defines it, a fresh one per store), and what only the DynamoDB store
does: what comes before a gap is kept, positions mean nothing (the stream orders events per
aggregate), and the projector's heartbeat never moves back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from ledger.adapters.dynamodb_store import make_client
from projections.store import ProjectionGap, ReadModelStore
from projections.stores.dynamodb import DynamoDBReadModels
from tests.contracts.read_model_store import History, ReadModelStoreContract, versions_of
from tests.support.dynamodb_tables import create_read_models_table

pytestmark = pytest.mark.integration


class TestDynamoDBReadModels(ReadModelStoreContract):
    @pytest.fixture
    def new_store(self, dynamodb_endpoint: str) -> Iterator[Callable[[], ReadModelStore]]:
        client = make_client(dynamodb_endpoint)
        tables: list[str] = []

        def make() -> ReadModelStore:
            tables.append(f"contract-{uuid.uuid4().hex[:12]}-read-models")
            create_read_models_table(dynamodb_endpoint, tables[-1])
            return DynamoDBReadModels(client, tables[-1])

        yield make
        for table in tables:
            client.delete_table(TableName=table)

    def test_what_comes_before_a_gap_is_kept(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        one, two, three, *_ = versions_of(history.items, history.items[-1].aggregate_id)
        store, only_the_first = new_store(), new_store()
        only_the_first.apply([one], None)
        with pytest.raises(ProjectionGap):
            store.apply([one, three], None)
        # The event before the gap is kept (the stream retries from the failed one).
        assert store.dump() == only_the_first.dump()
        assert isinstance(store, DynamoDBReadModels)
        assert store.tracked_version(one.home, one.aggregate_id) == 1
        assert store.apply([two, three], None) == 2

    def test_positions_are_not_kept(self, store: ReadModelStore, history: History) -> None:
        store.apply(history.items[:4], 7)
        assert store.position() == (0, None)
        assert store.replace_all(iter([(history.items, 99)])) == len(history.items)
        assert store.position() == (0, None)
        assert store.freshness()["source"] == "dynamodb-stream"

    def test_the_heartbeat_never_moves_back(self, store: ReadModelStore) -> None:
        assert isinstance(store, DynamoDBReadModels)
        assert store.freshness()["last_event_at"] is None
        store.heartbeat("2026-03-02T00:00:00.000000Z")
        store.heartbeat("2026-03-01T00:00:00.000000Z")  # a slower shard's batch, finishing late
        assert store.freshness()["last_event_at"] == "2026-03-02T00:00:00.000000Z"
        store.heartbeat("2026-03-03T00:00:00.000000Z")
        assert store.freshness()["last_event_at"] == "2026-03-03T00:00:00.000000Z"

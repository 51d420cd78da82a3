"""One manufacturer's captures share no partition key (issue 10, item 3, its per-key proof):
through the real api and projections handlers on DynamoDB Local, no key of the event store is
written by more than an eighth of 160 captures of one manufacturer (its payable's 16 shards take
~1/16 each), nor any read-model key but the owner-sharded list index and the per-stream-shard
counters (one writer a stream shard, batched, never on a capture's conditional path)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from bench.capture_keys import capture_key_spread
from bench.dynamodb_read_models import OWNER_SHARDS
from bench.write_units import Meter, install

from ledger.domain import payable

pytestmark = pytest.mark.integration

CAPTURES = 160


@pytest.fixture
def meter(dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Meter]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint)
    counting = install(dynamodb_endpoint)
    yield counting
    counting.uninstall()


def test_no_key_takes_more_than_a_bounded_share_of_one_makers_captures(
    dynamodb_endpoint: str, meter: Meter
) -> None:
    spread = capture_key_spread(dynamodb_endpoint, meter, CAPTURES)
    assert spread.captures == CAPTURES
    # The payment, its idempotency record and one payable shard a capture.
    assert sum(spread.events.values()) == 3 * CAPTURES
    shard_keys = [key for key, count in spread.events.items() if count > 1]
    assert len(shard_keys) == payable.SHARDS  # every shard used, none by all
    assert spread.max_share(spread.events) <= 1 / 8
    listed = {k: c for k, c in spread.models.items() if "/gsi2 mfr-payments#" in k}
    assert len(listed) == OWNER_SHARDS
    assert max(listed.values()) / CAPTURES <= 2 / OWNER_SHARDS
    # The heartbeat is written at most once a second a stream shard, whatever the captures.
    others = Counter(
        {k: c for k, c in spread.models.items() if k not in listed and "meta#" not in k}
    )
    assert spread.max_share(others) <= 1 / 8
    # What every capture does write: the per-stream-shard counters, batched a shard.
    assert all(key.rpartition("#")[2].startswith("shardId-") for key in spread.lanes)

"""A manufacturer's payable over shards: postings land on the shard of the aggregate they come
from, a payout is decided over all shards together and writes every shard that exists, so a
concurrent change to any of them conflicts with it; old single-aggregate balances carry on as
shard 0. The hypothesis state machine (test_ledger_properties) checks the sums never overdraw."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import InsufficientBalance
from ledger.domain.payable import SHARDS, ManufacturerPayable, Payables, shard_for


def _shards(*balances: int) -> list[ManufacturerPayable]:
    made = []
    for number, balance in enumerate(balances):
        shard = ManufacturerPayable("mfr_1", "USD", number)
        shard.post(f"source-{number}", balance)
        made.append(shard)
    return made


def test_shard_zero_keeps_the_id_of_the_single_aggregate() -> None:
    assert ManufacturerPayable.create_id("mfr_1", "USD", 0) == ManufacturerPayable.create_id(
        "mfr_1", "USD"
    )
    ids = {ManufacturerPayable.create_id("mfr_1", "USD", n) for n in range(SHARDS)}
    assert len(ids) == SHARDS


def test_postings_spread_over_the_shards() -> None:
    spread = Counter(shard_for(f"payment-{n}") for n in range(16_000))
    assert set(spread) == set(range(SHARDS))
    assert max(spread.values()) < 1.2 * 16_000 / SHARDS


def test_a_payout_reserves_across_shards_and_writes_every_one() -> None:
    shards = _shards(300, 500, 0)
    payable = Payables("mfr_1", "USD", shards)
    payable.reserve("po_1", 700)
    assert payable.available == 100
    assert payable.reservations == {"po_1": 700}
    assert [s.reservations["po_1"] for s in shards] == [300, 400, 0]
    assert all(s.pending_events[-1].__class__.__name__ == "Reserved" for s in shards)
    payable.release("po_1")
    assert payable.available == 800
    assert payable.reservations == {}


def test_a_shard_in_the_red_counts_against_the_payout() -> None:
    """A refund after a payout can leave one shard owing: the total decides, not the shards
    that still have money."""
    shards = _shards(500, 100)
    shards[1].post("refund", -300)  # owes 200
    payable = Payables("mfr_1", "USD", shards)
    assert payable.available == 300
    with pytest.raises(InsufficientBalance):
        payable.reserve("po_1", 301)
    payable.reserve("po_1", 300)
    assert payable.available == 0


@given(
    balances=st.lists(st.integers(-1000, 5000), min_size=1, max_size=SHARDS),
    amounts=st.lists(st.integers(1, 4000), max_size=8),
)
def test_reservations_never_exceed_the_total_available(
    balances: list[int], amounts: list[int]
) -> None:
    payable = Payables("mfr_1", "USD", _shards(*balances))
    for number, amount in enumerate(amounts):
        before = payable.available
        try:
            payable.reserve(f"po_{number}", amount)
        except InsufficientBalance:
            assert amount > before
            continue
        assert payable.available == before - amount >= 0
        assert payable.reservations[f"po_{number}"] == amount

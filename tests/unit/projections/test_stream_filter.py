"""The projections mapping's event filter (terraform/streams.tf) lets through exactly the
topics the read models follow: every aggregate of PROJECTED_AGGREGATES, none of the others."""

from __future__ import annotations

import re
from pathlib import Path

from eventsourcing.utils import get_topic

from ledger.domain import (
    ach_file,
    api_key,
    books,
    idempotency,
    manufacturer,
    payable,
    payment,
    payout,
    settlement,
    subscription,
)
from projections.logic import PROJECTED_AGGREGATES, is_projected_topic

STREAMS_TF = Path(__file__).resolve().parents[3] / "terraform" / "streams.tf"


def _prefixes() -> list[str]:
    block = STREAMS_TF.read_text().split("projected_events_filter", 1)[1]
    return re.findall(r'"(ledger\.domain\.[a-z_]+:[A-Za-z]+\.)"', block)


def test_the_filter_names_every_projected_aggregate_and_nothing_else() -> None:
    classes = [
        payment.Payment,
        payout.Payout,
        manufacturer.Manufacturer,
        api_key.ApiKey,
        subscription.Subscription,
        books.Books,
        ach_file.AchFile,
        settlement.ProviderSettlement,
    ]
    expected = {f"{get_topic(cls)}." for cls in classes}
    assert {cls.__name__ for cls in classes} == set(PROJECTED_AGGREGATES)
    assert set(_prefixes()) == expected
    for prefix in expected:
        assert is_projected_topic(prefix + "Anything")


def test_the_filter_keeps_out_what_no_projection_reads() -> None:
    for cls in (payable.ManufacturerPayable, idempotency.IdempotencyRecord):
        topic = f"{get_topic(cls)}.Event"
        assert not is_projected_topic(topic)
        assert not any(topic.startswith(prefix) for prefix in _prefixes())

from __future__ import annotations

from typing import Any

import pytest

from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import Container
from projections.follower import Follower
from projections.logic import project
from projections.store import ProjectionGap, TrackedChanges
from projections.stores.sqlite import SqliteReadModels
from tests.support.seed import create_payment, register


def _seed(container: Container) -> str:
    service = container.engine
    manufacturer = register(service, fee_bps=250, refund_fee_policy="refund_fee")
    m = f"mfr_{manufacturer.id.hex}"
    payment = create_payment(service, m, 1000)
    service.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 300, None))
    return m


def _tracked(container: Container) -> list[TrackedChanges]:
    items = []
    for notification in container.engine.recorder.select_notifications(start=1, limit=1000):
        event: Any = container.engine.mapper.to_domain_event(notification)
        if type(event).__qualname__.split(".")[0] in ("Payment", "Manufacturer"):
            items.append(
                TrackedChanges(str(event.originator_id), event.originator_version, project(event))
            )
    return items


def test_applying_the_same_events_twice_changes_nothing(container: Container) -> None:
    _seed(container)
    store = SqliteReadModels(":memory:")
    items = _tracked(container)
    assert store.apply(items, None) == len(items)
    once = store.dump()
    assert store.apply(items, None) == 0
    assert store.apply(items[2:5], None) == 0
    assert store.dump() == once


def test_a_gap_in_an_aggregates_versions_is_refused_not_skipped(container: Container) -> None:
    _seed(container)
    store = SqliteReadModels(":memory:")
    payment_events = [i for i in _tracked(container) if i.version >= 1][1:]
    payment_only = [i for i in payment_events if i.aggregate_id == payment_events[-1].aggregate_id]
    with pytest.raises(ProjectionGap):
        store.apply([payment_only[0], payment_only[2]], None)
    assert store.dump()["tracking"] == []


def test_rebuild_equals_incremental(container: Container) -> None:
    _seed(container)
    container.follower.catch_up()
    rebuilt = SqliteReadModels(":memory:")
    Follower(container.engine, rebuilt).rebuild()
    assert rebuilt.dump() == container.read_models.dump()
    assert container.read_models.dump()["postings"]


def test_freshness_reports_lag(container: Container) -> None:
    _seed(container)
    lagging = container.follower.freshness()
    assert lagging.lag > 0
    container.follower.catch_up()
    assert container.follower.freshness().lag == 0


def test_projection_logic_posts_exactly_the_journal_entry(container: Container) -> None:
    _seed(container)
    notification = container.engine.recorder.select_notifications(start=1, limit=100)
    captured = next(
        container.engine.mapper.to_domain_event(n)
        for n in notification
        if n.topic.endswith("Payment.Captured")
    )
    posts = [c for c in project(captured) if type(c).__name__ == "Post"]
    assert sorted((p.account.split(":")[0], p.amount) for p in posts) == [
        ("manufacturer", -975),
        ("platform", -25),
        ("provider", 1000),
    ]

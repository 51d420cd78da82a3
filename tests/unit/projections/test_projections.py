"""The follower (incremental catch-up, rebuild, freshness) and the pure projection logic. What
every read-model store must do is the contract in tests/contracts/read_model_store.py."""

from __future__ import annotations

from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import Container
from projections.follower import Follower
from projections.logic import project
from projections.stores.sqlite import SqliteReadModels
from tests.support.seed import create_payment, register


def _seed(container: Container) -> str:
    service = container.engine
    manufacturer = register(service, fee_bps=250, refund_fee_policy="refund_fee")
    m = f"mfr_{manufacturer.id.hex}"
    payment = create_payment(service, m, 1000)
    service.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 300, None))
    return m


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

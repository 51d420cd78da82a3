"""The follower (incremental catch-up, rebuild, freshness) and the pure projection logic. What
every read-model store must do is the contract in tests/contracts/read_model_store.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import Container
from projections.follower import SLICE, Follower
from projections.logic import project, timestamp_text
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


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),  # (year 1 in +05:30 is before UTC can write)
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), None]),
    )
)
def test_timestamp_text_is_utc_fixed_width_whatever_the_zone(moment: datetime) -> None:
    # The fast path (a UTC moment) and the general one write the same text.
    assert timestamp_text(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_background_follower_polls_for_events_nobody_prompted_it_about(
    container: Container,
) -> None:
    # As events another process (the CLI) records: the follower is never prompted, its poll
    # finds them, in slices smaller than the backlog, and leaves what a rebuild leaves.
    manufacturer = register(container.engine, fee_bps=250, refund_fee_policy="refund_fee")
    for amount in range(100, 160):
        create_payment(container.engine, f"mfr_{manufacturer.id.hex}", amount)
    polled = SqliteReadModels(":memory:")
    follower = Follower(container.engine, polled)
    follower.start(interval=0.02)
    try:
        deadline = time.monotonic() + 20
        while follower.freshness().lag and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        follower.stop()
    assert follower.freshness().lag == 0
    assert follower.freshness().head > SLICE
    rebuilt = SqliteReadModels(":memory:")
    Follower(container.engine, rebuilt).rebuild()
    assert polled.dump() == rebuilt.dump()
    assert follower.catch_up() == 0

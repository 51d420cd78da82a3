"""Aggregates read together (Lookups.fresh_many): on SQLite in one query per few hundred ids,
elsewhere one by one; either way each aggregate equals what a read of it alone gives."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from ledger.adapters import sqlite_event_store
from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import build
from ledger.settings import Settings
from tests.support.seed import create_payment, register


@pytest.mark.parametrize("persistence", ["sqlite", "popo"])
def test_many_aggregates_read_together_equal_each_read_alone(
    tmp_path: Path, persistence: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_event_store, "IDS_PER_QUERY", 3)  # several queries, one call
    container = build(Settings(db=tmp_path / "l.sqlite3", create=True, persistence=persistence))
    try:
        engine = container.engine
        bulk = hasattr(engine.recorder, "select_events_of_many")
        assert bulk == (persistence == "sqlite")
        maker = register(engine, name="A", fee_bps=250, refund_fee_policy="refund_fee")
        m = f"mfr_{maker.id.hex}"
        payments = [create_payment(engine, m, 1000 + i) for i in range(7)]
        engine.execute(refunds.request(SYSTEM, f"pay_{payments[2].id.hex}", 300, None))
        wanted = [p.id for p in payments] + [maker.id, uuid4()]
        found = engine.fresh_many(wanted)
        assert set(found) == set(wanted[:-1])  # the unknown id is left out
        for aggregate_id, aggregate in found.items():
            alone = engine.fresh(aggregate_id)
            assert (aggregate.version, aggregate.__dict__) == (alone.version, alone.__dict__)
        assert found[payments[2].id].amount_refunded == 300
    finally:
        container.close()

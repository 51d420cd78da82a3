"""`ledger keys create` refuses admin for a key bound to a manufacturer (issue 11 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.bootstrap import build
from ledger.domain import ids
from ledger.settings import Settings
from tests.integration.test_cli import ledger
from tests.support.seed import register

pytestmark = pytest.mark.integration


def test_keys_create_refuses_admin_for_a_bound_key(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    container = build(Settings(db=db))
    manufacturer = ids.encode(
        "manufacturer", register(container.engine, fee_bps=100, refund_fee_policy="keep_fee").id
    )
    keys_before = container.fresh().count_api_keys()
    container.close()
    result = ledger(
        "keys", "create", "--scope", "admin", "--manufacturer", manufacturer, "--db", str(db)
    )
    assert result.returncode != 0
    assert result.stdout == ""
    assert "admin" in result.stderr
    bound = ledger(
        "keys",
        "create",
        "--scope",
        "payments:read",
        "--manufacturer",
        manufacturer,
        "--db",
        str(db),
    )
    assert bound.returncode == 0, bound.stderr
    container = build(Settings(db=db))
    assert container.fresh().count_api_keys() == keys_before + 1
    container.close()

"""The command line on issue 11's trust rules: `ledger keys create` refuses admin for a key
bound to a manufacturer (item 3); `ledger attention list|resolve` shows and resolves provider
money the ledger could not book (item 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.application.ports import ProviderEvent
from ledger.application.processes.provider_events import apply_provider_event
from ledger.bootstrap import build
from ledger.domain import ids
from ledger.settings import Settings
from tests.integration.test_cli import ledger
from tests.support.seed import create_payment, register

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


def test_attention_list_and_resolve(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    container = build(Settings(db=db))
    manufacturer = register(container.engine, fee_bps=0, refund_fee_policy="keep_fee")
    authorized = create_payment(
        container.engine, ids.encode("manufacturer", manufacturer.id), 500, capture_method="manual"
    )
    event = ProviderEvent(
        provider="sandbox",
        event_id="evt_cli_1",
        kind="refund_succeeded",
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        payment_reference="ref",
        ledger_payment_id=ids.encode("payment", authorized.id),
        amount=500,
        currency="USD",
        refund_reference="re_cli_1",
    )
    outcome = apply_provider_event(container.engine, event)
    container.close()
    assert outcome.startswith("needs attention")

    listed = ledger("attention", "list", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    (item,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (item["event_id"], item["amount"], item["status"]) == ("evt_cli_1", 500, "open")
    assert item["id"] in outcome

    no_note = ledger("attention", "resolve", item["id"], "--db", str(db))
    assert no_note.returncode != 0
    unknown = ledger("attention", "resolve", "att_" + "ab" * 16, "--note", "x", "--db", str(db))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: ")
    resolved = ledger(
        "attention", "resolve", item["id"], "--note", "booked by hand", "--db", str(db)
    )
    assert resolved.returncode == 0, resolved.stderr
    assert json.loads(resolved.stdout)["status"] == "resolved"
    assert ledger("attention", "list", "--db", str(db)).stdout == ""
    again = ledger("attention", "resolve", item["id"], "--note", "again", "--db", str(db))
    assert again.returncode == 2

"""The `ledger` command line against a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import build
from ledger.settings import Settings
from tests.support.seed import create_payment, register

pytestmark = pytest.mark.integration


def ledger(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_keys_create_prints_only_the_key_and_stores_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    result = ledger(
        "keys", "create", "--scope", "payments:read", "--scope", "finance:read", "--db", str(db)
    )
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert secret.startswith("lk_")
    assert len(secret) > 40
    assert secret.encode() not in db.read_bytes()
    container = build(Settings(db=db))
    principal = container.keys.authenticate(secret)
    assert principal is not None
    assert principal.scopes == frozenset({"payments:read", "finance:read"})
    container.close()


def test_keys_create_takes_the_db_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.sqlite3"
    result = ledger("keys", "create", "--scope", "admin", env={"LEDGER_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_keys_create_refuses_unknown_scopes_and_manufacturers(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    bad_scope = ledger("keys", "create", "--scope", "root", "--db", db)
    assert bad_scope.returncode == 2
    assert bad_scope.stdout == ""
    bad_manufacturer = ledger(
        "keys", "create", "--scope", "payments:read", "--manufacturer", "mfr_x", "--db", db
    )
    assert bad_manufacturer.returncode == 2


def _seed(db: Path) -> str:
    container = build(Settings(db=db))
    service = container.engine
    manufacturer = register(service, fee_bps=250, refund_fee_policy="refund_fee")
    m = f"mfr_{manufacturer.id.hex}"
    for amount in (1000, 2500, 700):
        payment = create_payment(service, m, amount, currency="EUR")
        service.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 100, None))
    container.close()
    return m


def test_projections_rebuild_reproduces_the_read_models(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    _seed(db)
    before = build(Settings(db=db))
    incremental = before.fresh().dump()
    before.close()
    assert incremental["postings"]
    result = ledger("projections", "rebuild", "--db", str(db))
    assert result.returncode == 0, result.stderr
    after = build(Settings(db=db))
    assert after.read_models.dump() == incremental
    after.close()


def test_report_manufacturer_as_csv(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    m = _seed(db)
    from datetime import UTC, datetime

    period = datetime.now(UTC).strftime("%Y-%m")
    result = ledger(
        "report", "manufacturer", m, "--period", period, "--format", "csv", "--db", str(db)
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    total = rows[-1]
    assert total["granularity"] == "total"
    assert total["gross_captured"] == "4200"
    assert total["refunds"] == "300"
    # fees: 25 + 62 (62.5 to even) + 18 (17.5 to even) = 105, minus 3 x 2 (2.5 -> 2) returned
    assert total["fees"] == str(105 - 6)
    assert int(total["net_payable"]) == 4200 - 99 - 300
    bad = ledger("report", "manufacturer", m, "--period", "2026-13", "--db", str(db))
    assert bad.returncode == 2


def test_keys_create_takes_scopes_and_binding_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    m = _seed(db)
    result = ledger(
        "keys",
        "create",
        "--db",
        str(db),
        env={"LEDGER_KEY_SCOPES": "payments:read,finance:read", "LEDGER_KEY_MANUFACTURER": m},
    )
    assert result.returncode == 0, result.stderr
    container = build(Settings(db=db))
    principal = container.keys.authenticate(result.stdout.strip())
    container.close()
    assert principal is not None
    assert principal.manufacturer_id == m
    assert principal.scopes == frozenset({"payments:read", "finance:read"})
    assert ledger("keys", "create", "--db", str(db)).returncode == 2


# ----- issue 11, item 16: billing runs -------------------------------------------------------
def _subscribe(db: Path, start_on: date) -> str:
    from ledger.application.commands import subscriptions

    container = build(Settings(db=db))
    maker = register(container.engine, fee_bps=0, refund_fee_policy="keep_fee")
    m = f"mfr_{maker.id.hex}"
    started = container.engine.execute(
        subscriptions.start(
            SYSTEM,
            {
                "customer_id": "cus_1",
                "payment_method": "pm_tok",
                "amount": 1200,
                "currency": "USD",
                "splits": [{"manufacturer_id": m, "amount": 1200}],
                "interval": "monthly",
                "start_on": start_on,
            },
        )
    )
    container.close()
    return f"sub_{started.id.hex}"


def _payments_in(db: Path) -> int:
    container = build(Settings(db=db))
    try:
        notifications = container.engine.recorder.select_notifications(start=1, limit=100_000)
        return sum(1 for n in notifications if n.topic.endswith(":Payment.Initiated"))
    finally:
        container.close()


def test_billing_run_refuses_a_future_day_unless_it_is_a_dry_run(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    soon = datetime.now(UTC).date() + timedelta(days=3)
    sub = _subscribe(db, soon)
    refused = ledger("billing", "run", "--as-of", soon.isoformat(), "--db", str(db))
    assert refused.returncode != 0
    assert refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert "future" in line
    assert "--dry-run" in line
    assert _payments_in(db) == 0
    dry = ledger("billing", "run", "--as-of", soon.isoformat(), "--dry-run", "--db", str(db))
    assert dry.returncode == 0, dry.stderr
    shown = json.loads(dry.stdout)
    assert shown["dry_run"] is True
    assert [(d["subscription_id"], d["period"], d["amount"]) for d in shown["due"]] == [
        (sub, soon.isoformat(), 1200)
    ]
    assert _payments_in(db) == 0  # a dry run charges nothing
    today = ledger("billing", "run", "--db", str(db))
    assert today.returncode == 0, today.stderr
    assert json.loads(today.stdout)["charged"] == []
    bad = ledger("billing", "run", "--as-of", "2026-02-30", "--db", str(db))
    assert bad.returncode != 0
    assert len(bad.stderr.splitlines()) == 1

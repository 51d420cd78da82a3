"""The `ledger` command line against a real SQLite file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
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


def test_statement_pnl_and_period_close(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    db = tmp_path / "l.sqlite3"
    m = _seed(db)
    period = datetime.now(UTC).strftime("%Y-%m")
    result = ledger("statement", m, "--period", period, "--format", "csv", "--db", str(db))
    assert result.returncode == 0, result.stderr
    figures = {
        row["line"]: int(row["amount"]) for row in csv.DictReader(io.StringIO(result.stdout))
    }
    assert figures["sales"] == 4200
    assert figures["refunds"] == -300
    assert figures["platform_fees"] + figures["fees_returned"] == -(105 - 6)
    assert figures["closing_balance"] == 4200 - 99 - 300
    detail = ledger("statement", m, "--period", period, "--lines", "--db", str(db))
    assert detail.returncode == 0, detail.stderr
    assert '"source_type": "refund"' in detail.stdout
    unknown = ledger("statement", "mfr_" + "0" * 32, "--period", period, "--db", str(db))
    assert unknown.returncode == 2
    assert "no such manufacturer" in unknown.stderr
    pnl = ledger("pnl", "--period", period, "--format", "csv", "--db", str(db))
    assert pnl.returncode == 0, pnl.stderr
    (row,) = list(csv.DictReader(io.StringIO(pnl.stdout)))
    assert int(row["net"]) == 105 - 6
    assert ledger("periods", "close", period, "--db", str(db)).returncode == 2  # not ended
    assert ledger("periods", "close", "2020-01", "--db", str(db)).returncode == 0
    again = ledger("periods", "close", "2020-01", "--db", str(db))
    assert again.returncode == 2
    assert "already closed" in again.stderr


def test_report_takes_a_range_and_refuses_an_unknown_manufacturer(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    db = tmp_path / "l.sqlite3"
    m = _seed(db)
    today = datetime.now(UTC).date().isoformat()
    ranged = ledger("report", "manufacturer", m, "--from", today, "--to", today, "--db", str(db))
    assert ranged.returncode == 0, ranged.stderr
    assert '"gross_captured": 4200' in ranged.stdout
    unknown = ledger(
        "report", "manufacturer", "mfr_" + "0" * 32, "--period", "2026-01", "--db", str(db)
    )
    assert unknown.returncode == 2

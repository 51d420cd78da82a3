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
        "keys",
        "create",
        "--scope",
        "payments:read",
        "--scope",
        "finance:read",
        "--db",
        str(db),
        "--create",
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
    result = ledger("keys", "create", "--scope", "admin", "--create", env={"LEDGER_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_keys_create_refuses_unknown_scopes_and_manufacturers(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    bad_scope = ledger("keys", "create", "--scope", "root", "--db", db)
    assert bad_scope.returncode == 2
    assert bad_scope.stdout == ""
    assert "invalid choice: 'root'" in one_error_line(bad_scope)  # a usage error: one line too
    bad_manufacturer = ledger(
        "keys", "create", "--scope", "payments:read", "--manufacturer", "mfr_x", "--db", db
    )
    assert bad_manufacturer.returncode == 2
    assert bad_manufacturer.stderr.startswith("error: no ledger at")  # checked first
    bad_manufacturer = ledger(
        "keys",
        "create",
        "--scope",
        "payments:read",
        "--manufacturer",
        "mfr_x",
        "--db",
        db,
        "--create",
    )
    assert bad_manufacturer.returncode == 2
    assert bad_manufacturer.stderr.endswith("\nerror: no such manufacturer\n")


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


# ----- issue 11, item 14: no silent wrong answers --------------------------------------------
def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """A refusal: a non-zero exit and one line on stderr, no traceback."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_mistyped_db_is_refused_never_created(tmp_path: Path) -> None:
    typo = tmp_path / "lgder" / "ledger.sqlite3"
    for command in (
        ("keys", "create", "--scope", "admin"),
        ("keys", "list"),
        ("projections", "rebuild"),
        ("report", "manufacturer", "mfr_" + "0" * 32, "--period", "2026-03"),
        ("billing", "run"),
        ("workflows", "run"),
        ("dlq", "list", "billing"),
        ("serve", "--port", "1"),
    ):
        line = one_error_line(ledger(*command, "--db", str(typo)))
        assert f"no ledger at {typo}" in line, command
        assert "--create" in line
    from_env = one_error_line(ledger("keys", "list", env={"LEDGER_DB": str(typo)}))
    assert "no ledger at" in from_env
    assert not typo.parent.exists()  # no file, no folder
    made = ledger("init", "--db", str(typo))
    assert made.returncode == 0, made.stderr
    assert typo.exists()
    assert "already exists" in one_error_line(ledger("init", "--db", str(typo)))
    assert ledger("keys", "list", "--db", str(typo)).returncode == 0


def test_serve_creates_its_default_ledger_on_a_fresh_checkout(tmp_path: Path) -> None:
    import socket
    import time

    import httpx2

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_DB"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    server = subprocess.Popen(  # as `make run` does: no --db, no --create
        [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        assert (tmp_path / "var" / "ledger.sqlite3").exists()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=15)
    assert "creating a new ledger at var/ledger.sqlite3" in err


def test_a_report_for_an_unknown_manufacturer_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    _seed(db)
    unknown = "mfr_" + "0" * 32
    result = ledger("report", "manufacturer", unknown, "--period", "2026-03", "--db", str(db))
    assert unknown in one_error_line(result)
    assert result.stdout == ""


def _dead_letter(db: Path, body: str) -> str:
    container = build(Settings(db=db))
    assert container.workflows is not None
    queue = container.workflows.queue
    queue.send("refund-execution", body, dedupe_id=body)
    (message,) = queue.receive("refund-execution", visibility_seconds=30)
    queue.dead_letter(message.receipt, "boom")
    container.close()
    return message.message_id


def test_dlq_redrive_of_an_unknown_id_fails_and_moves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite3"
    held = _dead_letter(db, '{"detail": {"id": "x"}}')
    wrong = ledger("dlq", "redrive", "refund-execution", "--id", "nope", "--db", str(db))
    assert "nope" in one_error_line(wrong)
    mixed = ledger(
        "dlq", "redrive", "refund-execution", "--id", held, "--id", "nope", "--db", str(db)
    )
    one_error_line(mixed)
    listed = ledger("dlq", "list", "refund-execution", "--db", str(db))
    assert [json.loads(line)["message_id"] for line in listed.stdout.splitlines()] == [held]
    moved = ledger("dlq", "redrive", "refund-execution", "--id", held, "--no-run", "--db", str(db))
    assert moved.returncode == 0, moved.stderr
    assert ledger("dlq", "list", "refund-execution", "--db", str(db)).stdout == ""


def test_ach_returns_on_a_bad_file_or_unmatched_returns_is_an_error(tmp_path: Path) -> None:
    from ledger.adapters.ach.nacha import Entry, Origin, write_returns_file
    from ledger.adapters.ach.vault import BankAccountVault

    origin = Origin(
        immediate_destination="091000019",
        immediate_destination_name="FED RESERVE",
        immediate_origin="1234567890",
        immediate_origin_name="MARKETPLACE",
        company_name="MARKETPLACE",
        company_id="1234567890",
        odfi_id="09100001",
    )
    env = {
        "LEDGER_ACH_ORIGIN": json.dumps(origin.__dict__),
        "LEDGER_BANK_VAULT_KEY": BankAccountVault.generate_key(),
    }
    db = tmp_path / "l.sqlite3"
    build(Settings(db=db)).close()
    missing = ledger("ach", "returns", str(tmp_path / "none.txt"), "--db", str(db), env=env)
    assert "cannot read" in one_error_line(missing)
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\n")
    bad = ledger("ach", "returns", str(junk), "--db", str(db), env=env)
    assert "not a NACHA returns file" in one_error_line(bad)
    stray = Entry(22, "021000021", "123456", 100, "NOBODY", "PO123")
    returns = tmp_path / "returns.txt"
    returns.write_text(
        write_returns_file(
            origin,
            [(stray, "091000010000999", "R03")],
            created_at=datetime(2026, 3, 10, 12, 0),
            file_id_modifier="B",
            effective_date=date(2026, 3, 11),
        )
    )
    unmatched = ledger("ach", "returns", str(returns), "--db", str(db), env=env)
    assert "1 of 1 return(s) were not applied" in one_error_line(unmatched)
    assert unmatched.stdout == "091000010000999: ignored: unknown trace number\n"


# ----- issue 11, item 13: keys an operator manages --------------------------------------------
def test_keys_are_listed_labelled_given_an_expiry_and_revoked(tmp_path: Path) -> None:
    db = str(tmp_path / "l.sqlite3")
    helped = ledger("keys", "create", "--help")
    for scope in ("payments:write", "payments:read", "finance:read", "refunds:approve", "admin"):
        assert scope in helped.stdout
    made = ledger(
        "keys",
        "create",
        "--scope",
        "payouts:approve",
        "--label",
        "Ana",
        "--expires",
        "30d",
        "--db",
        db,
        "--create",
    )
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    container = build(Settings(db=Path(db)))
    principal = container.keys.authenticate(secret)
    container.close()
    assert principal is not None
    assert principal.label == "Ana"
    key_id = principal.key_id
    (row,) = [
        json.loads(line)
        for line in ledger("keys", "list", "--json", "--db", db).stdout.splitlines()
    ]
    assert (row["id"], row["label"], row["scopes"], row["status"]) == (
        key_id,
        "Ana",
        ["payouts:approve"],
        "active",
    )
    expires = datetime.fromisoformat(row["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert row["last_used_at"] is not None  # authenticated above
    table = ledger("keys", "list", "--db", db)
    assert key_id in table.stdout
    assert "Ana" in table.stdout
    assert secret not in table.stdout
    assert ledger("keys", "label", key_id, "Ana (finance)", "--db", db).returncode == 0
    assert ledger("keys", "expire", key_id, "never", "--db", db).returncode == 0
    past = ledger("keys", "expire", key_id, "2020-01-01", "--db", db)
    assert "in the future" in one_error_line(past)
    revoked = ledger("keys", "revoke", key_id, "--db", db)
    assert revoked.returncode == 0, revoked.stderr
    (row,) = [
        json.loads(line)
        for line in ledger("keys", "list", "--json", "--db", db).stdout.splitlines()
    ]
    assert (row["label"], row["expires_at"], row["status"]) == ("Ana (finance)", None, "revoked")
    assert ledger("keys", "list", "--json", "--active", "--db", db).stdout == ""
    container = build(Settings(db=Path(db)))
    assert container.keys.authenticate(secret) is None
    container.close()
    assert "already revoked" in one_error_line(ledger("keys", "revoke", key_id, "--db", db))
    assert "no such API key" in one_error_line(ledger("keys", "revoke", "key_nope", "--db", db))
    assert "--expires" in one_error_line(
        ledger("keys", "create", "--scope", "admin", "--expires", "soon", "--db", db)
    )


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


def test_paypal_settle_books_a_report_once_and_refuses_a_bad_one_by_line(tmp_path: Path) -> None:
    from tests.unit.application.test_paypal_settlement import ROWS, _sb, report

    db = tmp_path / "l.sqlite3"
    assert ledger("init", "--db", str(db)).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(report([*ROWS[:2], _sb("X1", "", "T0006", "CR", "10.5", "DR", "0")]))
    refused = ledger("paypal", "settle", str(bad), "--db", str(db))
    assert refused.returncode != 0
    assert "line 7: Gross Transaction Amount '10.5' is not a whole number" in refused.stderr
    assert "nothing changed" in refused.stderr
    good = tmp_path / "stl.csv"
    good.write_text(report(ROWS))
    booked = ledger("paypal", "settle", str(good), "--db", str(db))
    assert booked.returncode == 0, booked.stderr
    assert "11005 USD to platform:cash, 495 USD of provider fees" in booked.stdout
    again = ledger("paypal", "settle", str(good), "--db", str(db))
    assert again.stdout.strip().endswith("already booked")
    container = build(Settings(db=db))
    try:
        debits, credits = container.fresh().balance("platform:cash", "USD", None)
    finally:
        container.close()
    assert (debits, credits) == (11005, 0)
    reconciled = ledger("reconcile", "--provider", "paypal", str(good), "--db", str(db))
    assert reconciled.returncode == 0, reconciled.stderr
    run = json.loads(reconciled.stdout)
    # The ledger has none of these payments: every charge and the refund are missing in it.
    assert [b["provider"]["id"] for b in run["breaks"]["missing_in_ledger"]] == [
        "CAPALPHA1",
        "CAPBRAVO2",
        "REFALPHA1",
    ]
    assert run["totals"]["payout"] == 11005
    rerun = ledger("reconcile", "--provider", "paypal", str(good), "--db", str(db))
    assert json.loads(rerun.stdout)["id"] == run["id"]


def test_ach_settle_settles_due_files_once_and_refuses_a_file_not_due(tmp_path: Path) -> None:
    from ledger.adapters.ach.vault import BankAccountVault
    from ledger.application.processes.ach import originate
    from ledger.bootstrap import ach_files
    from tests.contracts.read_model_settlements import ORIGIN

    db = tmp_path / "l.sqlite3"
    env = {
        "LEDGER_BANK_VAULT_KEY": BankAccountVault.generate_key(),
        "LEDGER_ACH_ORIGIN": json.dumps(ORIGIN.__dict__),
    }
    settings = Settings(
        db=db,
        create=True,
        bank_vault_key=env["LEDGER_BANK_VAULT_KEY"],
        ach_origin=env["LEDGER_ACH_ORIGIN"],
    )
    container = build(settings)
    try:
        maker = register(container.engine, name="A", fee_bps=0, refund_fee_policy="keep_fee")
        m = f"mfr_{maker.id.hex}"
        assert container.vault is not None
        token = container.vault.seal("011000015", "99887766", "checking")[0]
        create_payment(container.engine, m, 2500, provider="ach", payment_method=token)
        (written,) = originate(
            container.engine, ach_files(container), datetime(2026, 3, 10, 12, tzinfo=UTC)
        )
    finally:
        container.close()
    early = ledger("ach", "settle", "--file", "1", "--on", "2026-03-10", "--db", str(db), env=env)
    assert early.returncode != 0
    assert "not due until 2026-03-11" in early.stderr
    settled = ledger("ach", "settle", "--on", "2026-03-11", "--db", str(db), env=env)
    assert settled.returncode == 0, settled.stderr
    assert json.loads(settled.stdout) == {
        "file_number": written.file_number,
        "outcome": "settled",
        "debits": 1,
        "collected": 2500,
        "currency": "USD",
    }
    again = ledger("ach", "settle", "--on", "2026-03-12", "--db", str(db), env=env)
    assert (again.returncode, again.stdout) == (0, "")
    assert "no ACH file left to settle on 2026-03-12" in again.stderr
    one = ledger("ach", "settle", "--file", "1", "--on", "2026-03-12", "--db", str(db), env=env)
    assert json.loads(one.stdout)["outcome"] == "already settled on 2026-03-11"
    assert ledger("ach", "settle", "--on", "tomorrow", "--db", str(db)).returncode != 0


def test_reconcile_refuses_a_bad_file_by_line_and_records_no_run(tmp_path: Path) -> None:
    from tests.unit.application.test_paypal_settlement import ROWS, report

    db = tmp_path / "l.sqlite3"
    assert ledger("init", "--db", str(db)).returncode == 0
    junk = tmp_path / "ach.txt"
    junk.write_text("1" + "X" * 93 + "\n")
    ach = ledger("reconcile", "--provider", "ach", str(junk), "--db", str(db))
    assert ach.returncode != 0
    assert "is not a NACHA file: line 1" in ach.stderr
    stl = tmp_path / "stl.csv"
    stl.write_text(report(ROWS).replace('"SC","4"', '"SC","5"'))
    paypal = ledger("reconcile", "--provider", "paypal", str(stl), "--db", str(db))
    assert paypal.returncode != 0
    assert "line 10: SC counts 5 rows, the section has 4" in paypal.stderr
    container = build(Settings(db=db))
    try:
        assert container.engine.registry_members("reconciliation-runs") == []
    finally:
        container.close()

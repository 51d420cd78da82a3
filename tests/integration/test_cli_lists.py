"""`ledger list KIND` and `ledger trial-balance` against a real SQLite file, next to the API."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ledger.application.principal import SYSTEM
from ledger.bootstrap import build
from ledger.settings import Settings
from tests.integration.test_cli import _seed, ledger
from tests.support.seed import create_payment

pytestmark = pytest.mark.integration


def test_lists_and_the_trial_balance_answer_as_the_api_does(tmp_path: Path) -> None:
    """`ledger list KIND` and `ledger trial-balance`: the API's rows, columns and filter values
    (an unbound finance key's view), so a finance user gets the same file either way."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.application.commands import disputes, payouts, subscriptions
    from ledger.cli.lists import KINDS

    db = tmp_path / "l.sqlite3"
    m = _seed(db)
    container = build(Settings(db=db))
    payment = create_payment(container.engine, m, 5000, currency="EUR")
    pid = f"pay_{payment.id.hex}"
    container.engine.execute(
        disputes.open_(SYSTEM, pid, 300, "=fraud", None, "2099-02-01T00:00:00Z")
    )
    container.engine.execute(payouts.request(SYSTEM, m, 400, "EUR"))
    plan = {
        "customer_id": "cus_1",
        "payment_method": "pm_tok_visa",
        "amount": 900,
        "currency": "EUR",
        "interval": "monthly",
        "start_on": date.today() + timedelta(days=30),
        "splits": [{"manufacturer_id": m, "amount": 900}],
    }
    container.engine.execute(subscriptions.start(SYSTEM, plan))
    container.close()

    container = build(Settings(db=db))
    try:
        client = TestClient(create_app(container, follow=False))
        secret, _ = container.keys.create(["admin"], None)
        auth = {"Authorization": f"Bearer {secret}", "Accept": "text/csv"}
        document = client.get("/openapi.json").json()["paths"]
        paths = {
            "payouts": "/v1/payouts",
            "disputes": "/v1/disputes",
            "manufacturers": "/v1/manufacturers",
            "subscriptions": "/v1/subscriptions",
            "refunds": "/v1/refunds",
            "accounts": "/v1/ledger/accounts",
        }
        api_csv = {kind: client.get(path, headers=auth).text for kind, path in paths.items()}
        api_trial = client.get("/v1/ledger/trial-balance", headers=auth).text
        for kind, path in paths.items():
            status = [p for p in document[path]["get"]["parameters"] if p["name"] == "status"]
            allowed = status[0]["schema"]["anyOf"][0]["enum"] if status else []
            assert list(KINDS[kind].statuses) == allowed, kind
    finally:
        container.close()

    def rows(text: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(text)))

    for kind, expected in api_csv.items():
        result = ledger("list", kind, "--format", "csv", "--db", str(db))
        assert result.returncode == 0, (kind, result.stderr)
        assert result.stdout.splitlines()[0] == expected.splitlines()[0], kind
        assert rows(result.stdout) == rows(expected), kind
        assert rows(result.stdout), kind
    (dispute,) = rows(ledger("list", "disputes", "--format", "csv", "--db", str(db)).stdout)
    assert dispute["reason"] == "'=fraud"
    assert dispute["evidence_due_by"] == "2099-02-01T00:00:00.000000Z"
    due = ledger("list", "disputes", "--due-before", "2099-01-01T00:00:00Z", "--db", str(db))
    assert json.loads(due.stdout)["data"] == []
    trial = ledger("trial-balance", "--format", "csv", "--db", str(db))
    assert trial.returncode == 0, trial.stderr
    assert rows(trial.stdout) == rows(api_trial)
    assert trial.stdout.splitlines()[0] == api_trial.splitlines()[0]

    paged = json.loads(ledger("list", "refunds", "--limit", "2", "--db", str(db)).stdout)
    assert len(paged["data"]) == 2
    rest = ledger("list", "refunds", "--cursor", paged["next_cursor"], "--db", str(db))
    assert len(json.loads(rest.stdout)["data"]) == 1
    pending = json.loads(ledger("list", "payouts", "--status", "approved", "--db", str(db)).stdout)
    assert [(row["manufacturer_id"], row["amount"]) for row in pending["data"]] == [(m, 400)]

    unknown = ledger("list", "payouts", "--manufacturer", "mfr_" + "ab" * 16, "--db", str(db))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: no manufacturer")
    assert len(unknown.stderr.splitlines()) == 1
    bogus = ledger("list", "disputes", "--status", "closed", "--db", str(db))
    assert bogus.returncode == 2
    assert len(bogus.stderr.splitlines()) == 1
    bad_time = ledger("trial-balance", "--as-of", "yesterday", "--db", str(db))
    assert bad_time.returncode == 2
    assert bad_time.stderr.startswith("error: as_of")

"""Every list and report exports CSV (issue 12, item 8): `Accept: text/csv` with q-values
honoured, the header row stable and the same as docs/finance.md documents."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api

DOCS = Path(__file__).resolve().parents[3] / "docs" / "finance.md"

# path (with {m} for the manufacturer), query, header row
EXPORTS: dict[str, tuple[str, dict[str, str], str]] = {
    "payments": (
        "/v1/payments",
        {},
        "id,status,amount,currency,amount_captured,amount_refunded,amount_disputed,"
        "refundable_amount,customer_id,provider,manufacturer_ids,created_at,updated_at",
    ),
    "refunds": (
        "/v1/refunds",
        {},
        "id,payment_id,amount,currency,status,reason,failure_reason,created_at,updated_at",
    ),
    "payouts": (
        "/v1/payouts",
        {},
        "id,manufacturer_id,amount,currency,status,approvals_required,approvals,requested_by,"
        "created_at,updated_at",
    ),
    "disputes": (
        "/v1/disputes",
        {},
        "id,payment_id,amount,currency,status,reason,evidence_due_by,created_at,updated_at",
    ),
    "manufacturers": (
        "/v1/manufacturers",
        {},
        "id,name,fee_bps,refund_fee_policy,created_at,updated_at",
    ),
    "subscriptions": (
        "/v1/subscriptions",
        {},
        "id,customer_id,provider,amount,currency,interval,status,manufacturer_ids,created_at,"
        "updated_at",
    ),
    "accounts": ("/v1/ledger/accounts", {}, "account,currency,debits,credits,balance"),
    "trial balance": (
        "/v1/ledger/trial-balance",
        {},
        "currency,account,debits,credits,balance,normal_balance,balance_normal",
    ),
    "statement": (
        "/v1/statements/manufacturers/{m}",
        {"period": "2026-03"},
        "manufacturer_id,manufacturer_name,period,view,currency,line,amount",
    ),
    "statement lines": (
        "/v1/statements/manufacturers/{m}",
        {"period": "2026-03", "lines": "true"},
        "manufacturer_id,period,currency,kind,amount,source_type,source_id,payment_id,"
        "effective_at,recorded_at,effective_period,booked_period,adjustment",
    ),
    "platform P&L": (
        "/v1/reports/platform/pnl",
        {"period": "2026-03"},
        "period,view,currency,fee_revenue,fees_returned,provider_fees,dispute_losses,"
        "adjustments,net",
    ),
    "manufacturer report": (
        "/v1/reports/manufacturers/{m}",
        {"period": "2026-03"},
        "manufacturer_id,currency,granularity,period,gross_captured,fees,refunds,disputes_lost,"
        "net_payable,payouts,closing_payable_balance",
    ),
}


@pytest.fixture
def month(api: Api, admin: dict[str, str]) -> str:
    """A manufacturer with a row in every list: a payment, a refund, a dispute, a payout and a
    subscription (2026-03, the test clock's month)."""
    m = api.manufacturer(admin, name="=HYPERLINK(1)")
    payment = api.payment(admin, [(m, 10_000)])
    other = api.payment(admin, [(m, 5000)])
    assert api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 100}, admin).is_success
    assert api.post(f"/v1/payments/{other['id']}/disputes", {"amount": 200}, admin).is_success
    payout = {"manufacturer_id": m, "amount": 300, "currency": "USD"}
    assert api.post("/v1/payouts", payout, admin).is_success
    subscription = {
        "customer_id": "cus_9",
        "payment_method": "pm_tok_visa",
        "amount": 1500,
        "currency": "USD",
        "interval": "monthly",
        "start_on": "2026-04-01",
        "splits": [{"manufacturer_id": m, "amount": 1500}],
    }
    assert api.post("/v1/subscriptions", subscription, admin).is_success
    api.settle()
    return m


def _get(api: Api, auth: dict[str, str], name: str, m: str, accept: str) -> Any:
    path, query, _ = EXPORTS[name]
    return api.client.get(path.format(m=m), params=query, headers={**auth, "Accept": accept})


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_export_has_its_documented_columns(
    api: Api, admin: dict[str, str], month: str, name: str
) -> None:
    answer = _get(api, admin, name, month, "text/csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    header, *rows = answer.text.splitlines()
    assert header == EXPORTS[name][2]
    assert rows, "every export has at least one row here"
    assert all(len(row) == len(header.split(",")) for row in csv.reader(io.StringIO(answer.text)))
    assert f"`{header}`" in DOCS.read_text(), f"{name}: columns not in docs/finance.md"


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_export_honours_q_values(
    api: Api, admin: dict[str, str], month: str, name: str
) -> None:
    for accept, kind in [
        ("text/csv;q=0.1, application/json", "application/json"),
        ("application/json;q=0.2, text/csv", "text/csv"),
        ("text/csv;q=0, */*", "application/json"),
        ("text/*", "text/csv"),
        ("*/*", "application/json"),
    ]:
        answer = _get(api, admin, name, month, accept)
        assert answer.status_code == 200, (name, accept, answer.text)
        assert answer.headers["content-type"].startswith(kind), (name, accept)


def test_a_manufacturer_name_is_never_a_spreadsheet_formula(
    api: Api, admin: dict[str, str], month: str
) -> None:
    for name in ("statement", "manufacturers"):
        rows = list(csv.DictReader(io.StringIO(_get(api, admin, name, month, "text/csv").text)))
        names = {row.get("manufacturer_name", row.get("name")) for row in rows}
        assert names == {"'=HYPERLINK(1)"}, name


def test_a_statement_csv_reconciles_from_the_file_alone(
    api: Api, admin: dict[str, str], month: str
) -> None:
    rows = list(csv.DictReader(io.StringIO(_get(api, admin, "statement", month, "text/csv").text)))
    figures = {row["line"]: int(row["amount"]) for row in rows}
    movements = ("sales", "platform_fees", "refunds", "fees_returned", "disputes_lost", "payouts")
    assert figures["sales"] == 15_000
    assert figures["payouts"] == -300
    assert (
        figures["opening_balance"] + sum(figures[m] for m in movements) + figures["adjustments"]
        == figures["closing_balance"]
    )
    assert figures["closing_balance"] == -api.payable(admin, month)

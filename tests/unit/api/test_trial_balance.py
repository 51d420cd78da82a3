"""The trial balance as of any moment, its CSV, and balances on their normal side."""

from __future__ import annotations

import csv
import io

from tests.conftest import Api, ManualClock


def test_trial_balance_as_of_is_honoured_and_exports_csv(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin, fee_bps=250)  # 2026-03-10T12:00
    payment = api.payment(admin, [(m, 7500)])  # payable 7500 - 188 (187.5 to even) = 7312
    clock.advance(hours=2)
    api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 1000}, admin)
    before = api.get("/v1/ledger/trial-balance", admin, as_of="2026-03-10T13:00:00Z").json()
    assert before["as_of"] == "2026-03-10T13:00:00.000000Z"
    (usd,) = before["currencies"]
    lines = {line["account"]: line for line in usd["accounts"]}
    payable = lines[f"manufacturer:{m}:payable"]
    assert payable == {
        "account": f"manufacturer:{m}:payable",
        "debits": 0,
        "credits": 7312,
        "balance": -7312,
        "normal_balance": "credit",
        "balance_normal": 7312,
    }
    assert lines["platform:revenue:fees"]["balance_normal"] == 188
    assert lines["provider:sandbox:receivable"]["normal_balance"] == "debit"
    assert lines["provider:sandbox:receivable"]["balance_normal"] == 7500
    assert "provider:sandbox:refunds_pending" not in lines  # the refund came after 13:00
    now = api.get("/v1/ledger/trial-balance", admin).json()
    now_lines = {line["account"]: line for line in now["currencies"][0]["accounts"]}
    assert now["as_of"] is None
    assert now_lines[f"manufacturer:{m}:payable"]["balance_normal"] == 7312 - (1000 - 25)
    assert now["currencies"][0]["balanced"] is True
    empty = api.get("/v1/ledger/trial-balance", admin, as_of="2026-03-10T11:00:00Z").json()
    assert empty["currencies"] == []
    bad = api.get("/v1/ledger/trial-balance", admin, as_of="yesterday")
    assert bad.status_code == 422
    exported = api.client.get(
        "/v1/ledger/trial-balance",
        params={"as_of": "2026-03-10T13:00:00Z"},
        headers={**admin, "Accept": "application/json;q=0.5, text/csv"},
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(rows[0]) == [
        "currency",
        "account",
        "debits",
        "credits",
        "balance",
        "normal_balance",
        "balance_normal",
    ]
    by_account = {row["account"]: row for row in rows}
    assert by_account[f"manufacturer:{m}:payable"]["balance_normal"] == "7312"
    assert sum(int(row["balance"]) for row in rows) == 0
    json_preferred = api.client.get(
        "/v1/ledger/trial-balance", headers={**admin, "Accept": "text/csv;q=0.2, application/json"}
    )
    assert json_preferred.headers["content-type"].startswith("application/json")


def test_account_balance_reads_on_its_normal_side(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=250)
    api.payment(admin, [(m, 7500)])
    body = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD").json()
    assert (body["balance"], body["normal_balance"], body["balance_normal"]) == (
        -7312,
        "credit",
        7312,
    )
    receivable = api.get(
        "/v1/accounts/provider:sandbox:receivable/balance", admin, currency="USD"
    ).json()
    assert (receivable["normal_balance"], receivable["balance_normal"]) == ("debit", 7500)
    # an account never posted to is 404, not a zero (issue 11, item 14)
    cash = api.get("/v1/accounts/platform:cash/balance", admin, currency="USD")
    assert cash.status_code == 404

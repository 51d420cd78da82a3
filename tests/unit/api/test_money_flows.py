"""Refunds, disputes, payouts, balances, trial balance and reports through the API."""

from __future__ import annotations

import csv
import io
from typing import Any

from ledger.application.queries import payable as payable_of
from tests.conftest import Api, ManualClock


def test_refunds_partial_several_and_bounded(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=250)
    payment = api.payment(admin, [(m, 10_000)])
    path = f"/v1/payments/{payment['id']}/refunds"
    first = api.post(path, {"amount": 2500, "reason": "damaged"}, admin)
    assert first.status_code == 201
    assert first.json()["status"] == "pending"  # booked; executed by the refund workflow
    assert api.settle() > 0
    refund = api.get(f"/v1/refunds/{first.json()['id']}", admin).json()
    assert refund["status"] == "succeeded"
    assert refund["provider_reference"].startswith("sbx_re_")
    assert refund["payment_id"] == payment["id"]
    assert refund["reason"] == "damaged"
    assert api.post(path, {"amount": 7500}, admin).status_code == 201
    over = api.post(path, {"amount": 1}, admin)
    assert over.status_code == 409
    assert over.json()["type"] == "urn:ledger:problem:exceeds-refundable"
    assert api.get(f"/v1/refunds/{refund['id']}", admin).json() == refund
    assert api.get("/v1/refunds/re_nonsense", admin).status_code == 404
    listed = api.get("/v1/refunds", admin, payment_id=payment["id"]).json()
    assert [r["amount"] for r in listed["data"]] == [7500, 2500]
    assert api.get("/v1/refunds", admin, status="failed").json()["data"] == []
    final = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert final["amount_refunded"] == 10_000
    assert final["refundable_amount"] == 0


def test_refund_before_capture_is_409(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 100)], capture_method="manual")
    response = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 10}, admin)
    assert response.status_code == 409


def test_disputes_open_close_and_book_losses(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=1000, refund_fee_policy="keep_fee")
    payment = api.payment(admin, [(m, 5000)])
    opened = api.post(f"/v1/payments/{payment['id']}/disputes", {"amount": 2000}, admin)
    assert opened.status_code == 201
    dispute = opened.json()
    assert dispute["status"] == "open"
    blocked = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 3001}, admin)
    assert blocked.status_code == 409
    closed = api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "lost"}, admin)
    assert closed.status_code == 200
    assert closed.json()["status"] == "lost"
    again = api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "won"}, admin)
    assert again.status_code == 409
    bad = api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "draw"}, admin)
    assert bad.status_code == 422
    assert api.get(f"/v1/disputes/{dispute['id']}", admin).json()["status"] == "lost"
    balance = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD")
    # credited 5000 - 500, debited the whole 2000 under keep_fee
    assert balance.json()["balance"] == -(4500 - 2000)


def test_payout_above_available_balance_is_409(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    response = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 1001, "currency": "USD"}, admin
    )
    assert response.status_code == 409
    assert response.json()["type"] == "urn:ledger:problem:insufficient-balance"
    paid = api.post("/v1/payouts", {"manufacturer_id": m, "amount": 1000, "currency": "USD"}, admin)
    assert paid.json()["status"] == "approved"  # reserved; paid by the payout workflow
    api.settle()
    assert api.get(f"/v1/payouts/{paid.json()['id']}", admin).json()["status"] == "paid"
    balance = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD")
    assert balance.json()["balance"] == 0
    cash = api.get("/v1/accounts/platform:cash/balance", admin, currency="USD").json()
    assert cash["balance"] == -1000


def test_payout_approvals_flow(api: Api) -> None:
    admin = api.key("admin")
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"USD": 500}, payout_approvals_required=2
    )
    api.payment(admin, [(m, 2000)])
    requester = api.key("payments:write")
    first, second = api.key("payouts:approve"), api.key("payouts:approve")
    payout = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 800, "currency": "USD"}, requester
    ).json()
    assert payout["status"] == "pending_approval"
    assert payout["approvals_required"] == 2
    # the pending payout reserves its amount
    over = api.post("/v1/payouts", {"manufacturer_id": m, "amount": 1201, "currency": "USD"}, admin)
    assert over.status_code == 409
    path = f"/v1/payouts/{payout['id']}/approve"
    assert api.post(path, None, requester).status_code == 403  # lacks payouts:approve
    approve_admin = api.key("admin")
    self_payout = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 600, "currency": "USD"}, approve_admin
    ).json()
    own = api.post(f"/v1/payouts/{self_payout['id']}/approve", None, approve_admin)
    assert own.status_code == 409
    assert own.json()["type"] == "urn:ledger:problem:self-approval"
    assert api.post(path, None, first).json()["status"] == "pending_approval"
    twice = api.post(path, None, first)
    assert twice.status_code == 409
    done = api.post(path, None, second).json()
    assert done["status"] == "approved"
    api.settle()
    assert api.get(f"/v1/payouts/{payout['id']}", admin).json()["status"] == "paid"
    assert [a["approver"] for a in done["approvals"]] == [
        a["approver"] for a in api.get(f"/v1/payouts/{payout['id']}", admin).json()["approvals"]
    ]
    rejected = api.post(f"/v1/payouts/{self_payout['id']}/reject", {"reason": "duplicate"}, first)
    assert rejected.json()["status"] == "rejected"
    # rejection released the reservation: 2000 - 800 paid = 1200 available again
    ok = api.post("/v1/payouts", {"manufacturer_id": m, "amount": 400, "currency": "USD"}, admin)
    assert ok.json()["status"] == "approved"


def test_balance_as_of_a_past_moment(api: Api, admin: dict[str, str], clock: ManualClock) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    clock.advance(hours=2)
    api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 400}, admin)
    account = f"/v1/accounts/manufacturer:{m}:payable/balance"
    now = api.get(account, admin, currency="USD").json()
    assert now["balance"] == -600
    before = api.get(account, admin, currency="USD", as_of="2026-03-10T13:00:00+00:00").json()
    assert before["balance"] == -1000
    assert before["credits"] == 1000
    assert before["debits"] == 0
    earlier = api.get(account, admin, currency="USD", as_of="2026-03-10T11:00:00Z").json()
    assert earlier["balance"] == 0
    assert api.get(account, admin, currency="XXX").status_code == 422
    assert api.get(account, admin, currency="USD", as_of="2026-03-10T11:00:00").status_code == 422


def test_trial_balance_sums_to_zero_per_currency(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=333)
    p1 = api.payment(admin, [(m, 12_345)])
    api.payment(admin, [(m, 999)], currency="JPY")
    api.post(f"/v1/payments/{p1['id']}/refunds", {"amount": 1111}, admin)
    trial = api.get("/v1/ledger/trial-balance", admin).json()
    assert [c["currency"] for c in trial["currencies"]] == ["JPY", "USD"]
    for section in trial["currencies"]:
        assert section["balanced"] is True
        assert sum(a["balance"] for a in section["accounts"]) == 0


def test_manufacturer_report_by_month_and_range(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin, name="Acme", fee_bps=250, refund_fee_policy="refund_fee")
    p1 = api.payment(admin, [(m, 10_000)])  # 2026-03-10
    clock.advance(days=1)
    api.post(f"/v1/payments/{p1['id']}/refunds", {"amount": 2500}, admin)  # fee back 62
    d = api.post(f"/v1/payments/{p1['id']}/disputes", {"amount": 1000}, admin).json()
    api.post(f"/v1/disputes/{d['id']}/close", {"outcome": "lost"}, admin)  # fee back 25
    api.post("/v1/payouts", {"manufacturer_id": m, "amount": 3000, "currency": "USD"}, admin)
    api.settle()  # the refund and the payout are executed the same day
    clock.advance(days=30)  # April
    api.payment(admin, [(m, 2000)])

    march = api.get(f"/v1/reports/manufacturers/{m}", admin, period="2026-03").json()
    assert march["name"] == "Acme"
    assert (march["from_date"], march["to_date"]) == ("2026-03-01", "2026-03-31")
    (usd,) = march["currencies"]
    assert usd["gross_captured"] == 10_000
    assert usd["fees"] == 250 - 62 - 25
    assert usd["refunds"] == 2500
    assert usd["disputes_lost"] == 1000
    assert usd["net_payable"] == 10_000 - 163 - 2500 - 1000
    assert usd["payouts"] == 3000
    assert usd["opening_payable_balance"] == 0
    assert usd["closing_payable_balance"] == 6337 - 3000
    assert (
        usd["opening_payable_balance"] + usd["net_payable"] - usd["payouts"]
        == usd["closing_payable_balance"]
    )
    assert [day["day"] for day in usd["days"]] == ["2026-03-10", "2026-03-11"]
    assert usd["days"][0]["closing_payable_balance"] == 9750
    assert usd["months"][0]["month"] == "2026-03"

    april = api.get(f"/v1/reports/manufacturers/{m}", admin, period="2026-04").json()
    (usd_april,) = april["currencies"]
    assert usd_april["opening_payable_balance"] == 3337
    assert usd_april["gross_captured"] == 2000
    assert usd_april["closing_payable_balance"] == 3337 + 1950

    both = api.get(
        f"/v1/reports/manufacturers/{m}", admin, **{"from": "2026-03-01", "to": "2026-04-30"}
    ).json()
    assert [row["month"] for row in both["currencies"][0]["months"]] == ["2026-03", "2026-04"]
    assert both["currencies"][0]["gross_captured"] == 12_000

    as_csv = api.client.get(
        f"/v1/reports/manufacturers/{m}",
        params={"period": "2026-03"},
        headers={**admin, "Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["granularity"] for r in rows] == ["day", "day", "month", "total"]
    assert rows[-1]["net_payable"] == "6337"
    assert rows[-1]["closing_payable_balance"] == "3337"

    assert api.get(f"/v1/reports/manufacturers/{m}", admin, period="2026-13").status_code == 422
    assert api.get(f"/v1/reports/manufacturers/{m}", admin).status_code == 422
    assert (
        api.get(
            f"/v1/reports/manufacturers/{m}", admin, **{"from": "2026-04-01", "to": "2026-03-01"}
        ).status_code
        == 422
    )


def test_fees_follow_the_terms_in_force_when_the_payment_was_made(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, fee_bps=1000)
    old = api.payment(admin, [(m, 1000)], capture_method="manual")
    changed = api.client.patch(f"/v1/manufacturers/{m}", json={"fee_bps": 2000}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["fee_bps"] == 2000
    assert changed.json()["version"] == 2
    captured = api.post(f"/v1/payments/{old['id']}/capture", None, admin).json()
    assert captured["splits"][0]["fee"] == 100
    new = api.payment(admin, [(m, 1000)])
    assert new["splits"][0]["fee"] == 200


def test_a_payout_approved_after_a_refund_cannot_overdraw(api: Api) -> None:
    admin = api.key("admin")
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"USD": 1}, payout_approvals_required=1
    )
    payment = api.payment(admin, [(m, 1000)])
    payout = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 1000, "currency": "USD"}, admin
    ).json()
    assert payout["status"] == "pending_approval"
    api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 1000}, admin)
    approver = api.key("payouts:approve")
    approved = api.post(f"/v1/payouts/{payout['id']}/approve", None, approver)
    assert approved.json()["status"] == "approved"
    api.settle()
    # The payout workflow checks the balance before any money leaves: the refund took it all.
    failed = api.get(f"/v1/payouts/{payout['id']}", admin).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "insufficient_balance"
    balance = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD")
    assert balance.json()["balance"] == 0
    # No payout was ever paid: platform:cash was never posted to, so it is not found (issue 11,
    # item 14: an account with no postings is a 404, never a zero that a typo would read too).
    cash = api.get("/v1/accounts/platform:cash/balance", admin, currency="USD")
    assert cash.status_code == 404
    # and the reservation is gone: nothing is held for the failed payout
    assert service_payable(api, m).reservations == {}


def service_payable(api: Api, manufacturer_id: str) -> Any:
    return payable_of(api.container.engine, manufacturer_id, "USD")


# Regression (issue 11, item 14): a mistyped account name read as a zero balance.
def test_an_account_never_posted_to_is_a_404_not_a_zero(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    path = f"/v1/accounts/manufacturer:{m}:payable/balance"
    assert api.get_json(path, admin, currency="USD")["balance"] == -1000
    for account, currency in (
        (f"manufacturer:{m}:payabel", "USD"),  # a typo
        (f"manufacturer:{m}:payable", "EUR"),  # never paid in euros
        ("platform:revenue:fee", "USD"),
    ):
        answer = api.get(f"/v1/accounts/{account}/balance", admin, currency=currency)
        assert answer.status_code == 404, account
        assert answer.json()["type"] == "urn:ledger:problem:not-found"
    # A real account before its first posting in time reads zero as of then (it exists now).
    early = api.get_json(path, admin, currency="USD", as_of="2026-01-01T00:00:00Z")
    assert early["balance"] == 0

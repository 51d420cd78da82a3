"""Every list finance and operations need (issue 12, items 7 and 8): keyset-paginated like
payments, filtered by what each declares, narrowed for bound keys, and exported as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Api, ManualClock

LIST_KEYS = {"data", "next_cursor", "freshness"}


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _all_pages(api: Api, path: str, auth: dict[str, str], **params: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = api.get_json(path, auth, **query)
        assert set(body) == LIST_KEYS
        pages.append([row["id"] for row in body["data"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_payouts_are_listed_filtered_and_paged(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    a = api.manufacturer(
        admin, payout_approval_threshold={"USD": 1000}, payout_approvals_required=1
    )
    b = api.manufacturer(admin)
    api.payment(admin, [(a, 5000)])
    api.payment(admin, [(b, 5000)])
    small = api.post("/v1/payouts", {"manufacturer_id": a, "amount": 100, "currency": "USD"}, admin)
    clock.advance(seconds=1)
    big = api.post("/v1/payouts", {"manufacturer_id": a, "amount": 2000, "currency": "USD"}, admin)
    clock.advance(seconds=1)
    other = api.post("/v1/payouts", {"manufacturer_id": b, "amount": 300, "currency": "USD"}, admin)
    assert {small.status_code, big.status_code, other.status_code} == {201}
    ids = [other.json()["id"], big.json()["id"], small.json()["id"]]
    assert _all_pages(api, "/v1/payouts", admin, limit=2) == [ids[:2], ids[2:]]
    assert _all_pages(api, "/v1/payouts", admin, manufacturer_id=a) == [ids[1:]]
    pending = api.get_json("/v1/payouts", admin, status="pending_approval")["data"]
    assert [(row["id"], row["amount"], row["approvals_required"]) for row in pending] == [
        (ids[1], 2000, 1)
    ]
    # awaiting_approval_by=me: not the requester, not once approved, only with the scope
    approver = api.key("payouts:approve", "payments:read")
    assert api.get_json("/v1/payouts", admin, awaiting_approval_by="me")["data"] == []
    mine = api.get_json("/v1/payouts", approver, awaiting_approval_by="me")["data"]
    assert [row["id"] for row in mine] == [ids[1]]
    assert api.post(f"/v1/payouts/{ids[1]}/approve", None, approver).status_code == 200
    assert api.get_json("/v1/payouts", approver, awaiting_approval_by="me")["data"] == []
    reader = api.key("payments:read")
    refused = api.get("/v1/payouts", reader, awaiting_approval_by="me")
    assert refused.status_code == 403, refused.text
    assert api.get("/v1/payouts", admin, awaiting_approval_by="you").status_code == 422


def test_a_bound_key_lists_only_its_own_rows(api: Api, admin: dict[str, str]) -> None:
    a, b = api.manufacturer(admin), api.manufacturer(admin)
    api.payment(admin, [(a, 5000)])
    api.payment(admin, [(b, 5000)])
    shared = api.payment(admin, [(a, 1000), (b, 1000)])
    assert (
        api.post(f"/v1/payments/{shared['id']}/disputes", {"amount": 100}, admin).status_code == 201
    )
    api.post("/v1/payouts", {"manufacturer_id": a, "amount": 100, "currency": "USD"}, admin)
    api.post("/v1/payouts", {"manufacturer_id": b, "amount": 100, "currency": "USD"}, admin)
    bound = api.key("payments:read", "finance:read", manufacturer=a)
    payouts = api.get_json("/v1/payouts", bound)["data"]
    assert [row["manufacturer_id"] for row in payouts] == [a]
    assert api.get("/v1/payouts", bound, manufacturer_id=b).status_code == 404
    assert [row["id"] for row in api.get_json("/v1/manufacturers", bound)["data"]] == [a]
    assert api.get_json("/v1/disputes", bound)["data"] == []  # the disputed payment is shared
    assert len(api.get_json("/v1/disputes", admin)["data"]) == 1
    accounts = api.get_json("/v1/ledger/accounts", bound)["data"]
    assert {row["account"] for row in accounts} == {f"manufacturer:{a}:payable"}
    assert api.get_json("/v1/ledger/accounts", bound, prefix="platform:")["data"] == []


def test_manufacturers_are_listed_newest_first(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    made = []
    for name in ("Ma", "Mb", "Mc"):
        made.append(api.manufacturer(admin, name=name))
        clock.advance(seconds=1)
    assert _all_pages(api, "/v1/manufacturers", admin, limit=2) == [
        made[::-1][:2],
        made[::-1][2:],
    ]
    row = api.get_json("/v1/manufacturers", admin, limit=1)["data"][0]
    assert (row["name"], row["fee_bps"], row["refund_fee_policy"]) == ("Mc", 250, "refund_fee")


def test_disputes_are_listed_by_status_and_time(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin)
    first = api.payment(admin, [(m, 1000)])
    second = api.payment(admin, [(m, 1000)])
    one = api.post(f"/v1/payments/{first['id']}/disputes", {"amount": 100}, admin).json()
    clock.advance(seconds=1)
    two = api.post(f"/v1/payments/{second['id']}/disputes", {"amount": 200}, admin).json()
    assert (
        api.post(f"/v1/disputes/{one['id']}/close", {"outcome": "lost"}, admin).status_code == 200
    )
    assert _all_pages(api, "/v1/disputes", admin, limit=1) == [[two["id"]], [one["id"]]]
    assert [r["id"] for r in api.get_json("/v1/disputes", admin, status="lost")["data"]] == [
        one["id"]
    ]
    open_ = api.get_json("/v1/disputes", admin, status="open")["data"]
    assert [(r["id"], r["amount"], r["payment_id"]) for r in open_] == [
        (two["id"], 200, second["id"])
    ]
    later = api.get_json("/v1/disputes", admin, created_from="2099-01-01T00:00:00Z")["data"]
    assert later == []
    assert api.get("/v1/disputes", admin, status="closed").status_code == 422


def test_disputes_are_listed_by_evidence_due_date(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    made = {}
    for due in ("2099-03-10T12:00:00Z", "2099-03-20T12:00:00+02:00", None):
        payment = api.payment(admin, [(m, 1000)])
        body = {"amount": 100, **({"evidence_due_by": due} if due else {})}
        answer = api.post(f"/v1/payments/{payment['id']}/disputes", body, admin)
        assert answer.status_code == 201, answer.text
        made[due] = answer.json()
    first, second, undated = made.values()
    assert first["evidence_due_by"] == "2099-03-10T12:00:00.000000Z"
    assert second["evidence_due_by"] == "2099-03-20T10:00:00.000000Z"  # kept as UTC
    assert undated["evidence_due_by"] is None

    def due(**window: str) -> list[str]:
        return [row["id"] for row in api.get_json("/v1/disputes", admin, **window)["data"]]

    assert due(due_before="2099-03-15T00:00:00Z") == [first["id"]]
    assert due(due_after="2099-03-15T00:00:00Z") == [second["id"]]
    assert due(due_after="2099-03-20T10:00:00Z") == [second["id"]]  # inclusive
    assert due(due_before="2099-03-20T10:00:00Z") == [first["id"]]  # exclusive
    assert due(due_after="2099-01-01T00:00:00Z") == [second["id"], first["id"]]  # undated left out
    assert len(due()) == 3
    (row,) = api.get_json("/v1/disputes", admin, due_before="2099-03-15T00:00:00Z")["data"]
    assert row["evidence_due_by"] == "2099-03-10T12:00:00.000000Z"
    for bad in ("2099-03-15", "soon"):
        refused = api.get("/v1/disputes", admin, due_before=bad)
        assert refused.status_code == 422, (bad, refused.text)
    payment = api.payment(admin, [(m, 1000)])
    refused = api.post(
        f"/v1/payments/{payment['id']}/disputes",
        {"amount": 100, "evidence_due_by": "2099-03-10"},
        admin,
    )
    assert refused.status_code == 422, refused.text
    assert api.get_json(f"/v1/payments/{payment['id']}", admin)["amount_disputed"] == 0


def test_subscriptions_are_listed_by_status(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin)
    body = {
        "customer_id": "cus_9",
        "payment_method": "pm_tok_visa",
        "amount": 1500,
        "currency": "USD",
        "interval": "monthly",
        "start_on": "2026-04-01",
        "splits": [{"manufacturer_id": m, "amount": 1500}],
    }
    kept = api.post("/v1/subscriptions", body, admin)
    clock.advance(seconds=1)
    ended = api.post("/v1/subscriptions", body, admin)
    assert kept.status_code == 201, kept.text
    ended_id = ended.json()["id"]
    assert api.post(f"/v1/subscriptions/{ended_id}/cancel", None, admin).status_code == 200
    everything = api.get_json("/v1/subscriptions", admin)["data"]
    assert [(r["id"], r["status"]) for r in everything] == [
        (ended_id, "canceled"),
        (kept.json()["id"], "active"),
    ]
    assert everything[0]["manufacturer_ids"] == [m]
    active = api.get_json("/v1/subscriptions", admin, status="active")["data"]
    assert [r["id"] for r in active] == [kept.json()["id"]]
    assert api.get("/v1/subscriptions", admin, status="paused").status_code == 422


def test_accounts_are_listed_by_prefix_with_balances(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    api.payment(admin, [(m, 10000)])
    rows = api.get_json("/v1/ledger/accounts", admin)["data"]
    names = [row["account"] for row in rows]
    assert names == sorted(names)
    assert f"manufacturer:{m}:payable" in names
    (payable,) = api.get_json("/v1/ledger/accounts", admin, prefix="manufacturer:")["data"]
    assert (payable["debits"], payable["credits"], payable["balance"]) == (0, 9750, -9750)
    assert sum(row["balance"] for row in rows) == 0
    pages = _account_pages(api, admin)
    assert [name for page in pages for name in page] == names
    assert len(pages) == len(names)


def _account_pages(api: Api, auth: dict[str, str]) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        body = api.get_json(
            "/v1/ledger/accounts", auth, limit=1, **({"cursor": cursor} if cursor else {})
        )
        pages.append([row["account"] for row in body["data"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_refunds_awaiting_approval_are_a_status(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1000)])
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 100}, admin).json()
    rows = api.get_json("/v1/refunds", admin, status=refund["status"])["data"]
    assert [row["id"] for row in rows] == [refund["id"]]
    assert api.get("/v1/refunds", admin, status="awaiting").status_code == 422


def test_every_list_exports_csv_with_its_documented_columns(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, name="=HYPERLINK(1)")
    api.payment(admin, [(m, 1000)])
    api.post("/v1/payouts", {"manufacturer_id": m, "amount": 100, "currency": "USD"}, admin)
    expected = {
        "/v1/payments": "id,status,amount,currency,amount_captured,amount_refunded,"
        "amount_disputed,refundable_amount,customer_id,provider,manufacturer_ids,created_at,"
        "updated_at",
        "/v1/refunds": "id,payment_id,amount,currency,status,reason,failure_reason,created_at,"
        "updated_at",
        "/v1/payouts": "id,manufacturer_id,amount,currency,status,approvals_required,approvals,"
        "requested_by,created_at,updated_at",
        "/v1/disputes": "id,payment_id,amount,currency,status,reason,evidence_due_by,created_at,"
        "updated_at",
        "/v1/manufacturers": "id,name,fee_bps,refund_fee_policy,created_at,updated_at",
        "/v1/subscriptions": "id,customer_id,provider,amount,currency,interval,status,"
        "manufacturer_ids,created_at,updated_at",
        "/v1/ledger/accounts": "account,currency,debits,credits,balance",
    }
    for path, header in expected.items():
        answer = api.client.get(path, headers={**admin, "Accept": "text/csv"})
        assert answer.text.splitlines()[0] == header, path
        json_rows = api.get_json(path, admin)["data"]
        assert len(_csv(answer)) == len(json_rows), path
    (manufacturer,) = _csv(
        api.client.get("/v1/manufacturers", headers={**admin, "Accept": "text/csv"})
    )
    assert manufacturer["name"] == "'=HYPERLINK(1)"  # never run as a spreadsheet formula
    (payout,) = _csv(api.client.get("/v1/payouts", headers={**admin, "Accept": "text/csv"}))
    assert (payout["manufacturer_id"], payout["amount"], payout["status"]) == (m, "100", "approved")


def test_accept_q_values_choose_between_json_and_csv(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    api.payment(admin, [(m, 1000)])
    for accept, kind in [
        ("text/csv", "text/csv"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("text/csv;q=0, */*", "application/json"),
        ("*/*", "application/json"),
        ("text/csv, application/json", "application/json"),  # a tie: the default
    ]:
        answer = api.client.get("/v1/payments", headers={**admin, "Accept": accept})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(kind), accept


def test_a_csv_page_carries_its_next_cursor(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin)
    first = api.payment(admin, [(m, 1000)])
    clock.advance(seconds=1)
    second = api.payment(admin, [(m, 2000)])
    answer = api.client.get(
        "/v1/payments", params={"limit": 1}, headers={**admin, "Accept": "text/csv"}
    )
    assert [row["id"] for row in _csv(answer)] == [second["id"]]
    cursor = answer.headers["ledger-next-cursor"]
    rest = api.client.get(
        "/v1/payments", params={"cursor": cursor}, headers={**admin, "Accept": "text/csv"}
    )
    assert [row["id"] for row in _csv(rest)] == [first["id"]]
    assert "ledger-next-cursor" not in rest.headers


def test_a_bound_key_sees_only_its_own_subscriptions_refunds_and_due_disputes(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    a, b = api.manufacturer(admin), api.manufacturer(admin)
    for m in (a, b):
        assert api.patch(
            f"/v1/manufacturers/{m}/settings", {"refund_approvals_required": 1}, admin
        ).is_success
    refunds, disputes = {}, {}
    for m in (a, b):
        payment = api.payment(admin, [(m, 5000)])
        refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 100}, admin)
        assert refund.json()["status"] == "pending_approval", refund.text
        refunds[m] = refund.json()["id"]
        body = {"amount": 200, "evidence_due_by": "2099-05-01T00:00:00Z"}
        disputes[m] = api.post(f"/v1/payments/{payment['id']}/disputes", body, admin).json()["id"]
        plan = {
            "customer_id": "cus_9",
            "payment_method": "pm_tok_visa",
            "amount": 1500,
            "currency": "USD",
            "interval": "monthly",
            "start_on": "2026-04-01",
            "splits": [{"manufacturer_id": m, "amount": 1500}],
        }
        assert api.post("/v1/subscriptions", plan, admin).is_success
        clock.advance(seconds=1)
    bound = api.key("payments:read", "finance:read", manufacturer=a)
    waiting = api.get_json("/v1/refunds", bound, status="pending_approval")["data"]
    assert [row["id"] for row in waiting] == [refunds[a]]
    everyone = api.get_json("/v1/refunds", admin, status="pending_approval")["data"]
    assert [row["id"] for row in everyone] == [refunds[b], refunds[a]]
    subscriptions = api.get_json("/v1/subscriptions", bound)["data"]
    assert [row["manufacturer_ids"] for row in subscriptions] == [[a]]
    assert api.get("/v1/subscriptions", bound, manufacturer_id=b).status_code == 404
    due = api.get_json("/v1/disputes", bound, due_before="2099-06-01T00:00:00Z")["data"]
    assert [row["id"] for row in due] == [disputes[a]]
    csv_rows = _csv(
        api.client.get(
            "/v1/disputes",
            params={"due_after": "2099-04-01T00:00:00Z"},
            headers={**bound, "Accept": "text/csv"},
        )
    )
    assert [row["id"] for row in csv_rows] == [disputes[a]]

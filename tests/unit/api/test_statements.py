"""Manufacturer statements per period, period close with late events, and the platform P&L,
checked against figures worked out by hand."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Api, ManualClock

STATEMENT = "/v1/statements/manufacturers/{}"


def _figures(section: dict[str, Any]) -> dict[str, int]:
    keys = (
        "opening_balance",
        "sales",
        "platform_fees",
        "refunds",
        "fees_returned",
        "disputes_lost",
        "payouts",
        "adjustments",
        "closing_balance",
    )
    return {k: section[k] for k in keys}


def _march(api: Api, admin: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """2026-03: captures, partial refunds under both fee policies, a lost dispute, a payout."""
    a = api.manufacturer(admin, name="Acme", fee_bps=250, refund_fee_policy="refund_fee")
    b = api.manufacturer(admin, name="Bolt", fee_bps=1000, refund_fee_policy="keep_fee")
    p1 = api.payment(admin, [(a, 10_000)])  # A: sale 10000, fee 250
    p2 = api.payment(admin, [(b, 8000)])  # B: sale 8000, fee 800
    p3 = api.payment(admin, [(a, 5000)])  # A: sale 5000, fee 125
    r1 = api.post(f"/v1/payments/{p1['id']}/refunds", {"amount": 2500}, admin).json()
    api.post(f"/v1/payments/{p2['id']}/refunds", {"amount": 3000}, admin)  # keep_fee: 0 back
    d = api.post(f"/v1/payments/{p3['id']}/disputes", {"amount": 2000}, admin).json()
    api.post(f"/v1/disputes/{d['id']}/close", {"outcome": "lost"}, admin)  # fee back 50
    po = api.post("/v1/payouts", {"manufacturer_id": a, "amount": 3000, "currency": "USD"}, admin)
    api.settle()
    return (
        a,
        b,
        {"p1": p1["id"], "p3": p3["id"], "r1": r1["id"], "d": d["id"], "po": po.json()["id"]},
    )


def test_a_month_statement_line_by_line(api: Api, admin: dict[str, str]) -> None:
    a, b, ids = _march(api, admin)
    body = api.get_json(STATEMENT.format(a), admin, period="2026-03", lines="true")
    assert (body["name"], body["view"], body["status"]) == ("Acme", "current", "open")
    (usd,) = body["currencies"]
    assert _figures(usd) == {
        "opening_balance": 0,
        "sales": 15_000,
        "platform_fees": -375,  # 250 + 125
        "refunds": -2500,
        "fees_returned": 112,  # 62 (62.5 to even) on the refund + 50 on the lost dispute
        "disputes_lost": -2000,
        "payouts": -3000,
        "adjustments": 0,
        "closing_balance": 7237,
    }
    assert usd["disputes_opened"] == {"count": 1, "amount": 2000}
    assert usd["disputes_won"] == {"count": 0, "amount": 0}
    assert api.payable(admin, a) == -7237  # the statement closes on the payable balance
    traced = {(line["kind"], line["source_id"]): line["amount"] for line in usd["lines"]}
    assert traced[("sale", ids["p1"])] == 10_000
    assert traced[("platform_fee", ids["p3"])] == -125
    assert traced[("refund", ids["r1"])] == -2500
    assert traced[("fee_returned", ids["r1"])] == 62
    assert traced[("dispute_lost", ids["d"])] == -2000
    assert traced[("fee_returned", ids["d"])] == 50
    assert traced[("payout", ids["po"])] == -3000
    bolt = api.get_json(STATEMENT.format(b), admin, period="2026-03")["currencies"][0]
    assert _figures(bolt) == {
        "opening_balance": 0,
        "sales": 8000,
        "platform_fees": -800,
        "refunds": -3000,
        "fees_returned": 0,  # keep_fee
        "disputes_lost": 0,
        "payouts": 0,
        "adjustments": 0,
        "closing_balance": 4200,
    }
    assert "lines" not in bolt
    april = api.get_json(STATEMENT.format(a), admin, period="2026-04")["currencies"][0]
    assert (april["opening_balance"], april["closing_balance"], april["sales"]) == (7237, 7237, 0)


def test_statement_csv_reconciles_from_the_file_alone(api: Api, admin: dict[str, str]) -> None:
    a, _, ids = _march(api, admin)
    response = api.client.get(
        STATEMENT.format(a), params={"period": "2026-04"}, headers={**admin, "Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["manufacturer_name"] for row in rows} == {"Acme"}
    figures = {row["line"]: int(row["amount"]) for row in rows}
    assert figures["opening_balance"] == 7237 == figures["closing_balance"]  # a quiet month
    between = ("sales", "platform_fees", "refunds", "fees_returned", "disputes_lost", "payouts")
    assert (
        figures["opening_balance"] + sum(figures[k] for k in (*between, "adjustments"))
        == (figures["closing_balance"])
    )
    detail = api.client.get(
        STATEMENT.format(a),
        params={"period": "2026-03", "lines": "true"},
        headers={**admin, "Accept": "text/csv"},
    )
    lines = list(csv.DictReader(io.StringIO(detail.text)))
    assert sum(int(line["amount"]) for line in lines if line["kind"] != "dispute_opened") == 7237
    assert {line["source_id"] for line in lines} >= {ids["p1"], ids["r1"], ids["d"], ids["po"]}


def test_statements_refuse_bad_input_and_strangers(api: Api, admin: dict[str, str]) -> None:
    a, b, _ = _march(api, admin)
    assert api.get(STATEMENT.format(a), admin, period="2026-13").status_code == 422
    assert api.get(STATEMENT.format(a), admin).status_code == 422
    assert (
        api.get(STATEMENT.format(a), admin, period="2026-03", **{"as": "bogus"}).status_code == 422
    )
    assert api.get(STATEMENT.format("mfr_nobody"), admin, period="2026-03").status_code == 404
    own = api.key("finance:read", manufacturer=a)
    assert api.get(STATEMENT.format(a), own, period="2026-03").status_code == 200
    assert api.get(STATEMENT.format(b), own, period="2026-03").status_code == 404
    assert api.get("/v1/reports/platform/pnl", own, period="2026-03").status_code == 403
    reader = api.key("payments:read")
    assert api.get(STATEMENT.format(a), reader, period="2026-03").status_code == 403


def test_platform_pnl_for_a_month(api: Api, admin: dict[str, str]) -> None:
    _march(api, admin)
    body = api.get_json("/v1/reports/platform/pnl", admin, period="2026-03")
    (usd,) = body["currencies"]
    assert usd == {
        "currency": "USD",
        "fee_revenue": 1175,  # 250 + 800 + 125
        "fees_returned": 62,
        "provider_fees": 0,  # the sandbox reports none
        "dispute_losses": 50,
        "adjustments": 0,
        "net": 1063,
    }
    fees = api.balance(admin, "platform:revenue:fees")
    assert -fees == usd["net"]  # the month's net is the fee account's movement
    exported = api.client.get(
        "/v1/reports/platform/pnl",
        params={"period": "2026-03"},
        headers={**admin, "Accept": "text/csv"},
    )
    (row,) = list(csv.DictReader(io.StringIO(exported.text)))
    assert (row["fee_revenue"], row["net"], row["view"]) == ("1175", "1063", "current")


def test_close_then_a_late_dispute_issued_restated_and_adjusted(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    a = api.manufacturer(admin, name="Acme", fee_bps=250, refund_fee_policy="refund_fee")
    p = api.payment(admin, [(a, 10_000)])  # 2026-03-10: payable 9750
    closer = api.key("finance:close")
    assert api.post("/v1/periods/2026-03/close", None, closer).status_code == 409  # not ended
    clock.advance(days=23)  # 2026-04-02
    assert api.post("/v1/periods/2026-03/close", None, api.key("finance:read")).status_code == 403
    closed = api.post("/v1/periods/2026-03/close", None, closer, idem=None)
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_through"] == "2026-03"
    assert api.post("/v1/periods/2026-03/close", None, closer).status_code == 409  # again
    assert api.post("/v1/periods/2026-04/close", None, closer).status_code == 409  # not ended
    assert api.post("/v1/periods/2026-3/close", None, closer).status_code == 422
    issued_before = api.get_json(STATEMENT.format(a), admin, period="2026-03")
    clock.advance(days=1)
    # The provider opened and decided it in March; its report arrives on 2026-04-03.
    d = api.post(
        f"/v1/payments/{p['id']}/disputes",
        {"amount": 1000, "opened_at": "2026-03-28T10:00:00Z"},
        admin,
    ).json()
    lost = api.post(
        f"/v1/disputes/{d['id']}/close",
        {"outcome": "lost", "closed_at": "2026-03-30T09:00:00Z"},
        admin,
    )
    assert lost.status_code == 200
    issued = api.get_json(STATEMENT.format(a), admin, period="2026-03")
    assert issued["currencies"] == issued_before["currencies"]  # frozen as issued
    assert (issued["view"], issued["status"]) == ("issued", "closed")
    assert _figures(issued["currencies"][0]) == {
        "opening_balance": 0,
        "sales": 10_000,
        "platform_fees": -250,
        "refunds": 0,
        "fees_returned": 0,
        "disputes_lost": 0,
        "payouts": 0,
        "adjustments": 0,
        "closing_balance": 9750,
    }
    restated = api.get_json(STATEMENT.format(a), admin, period="2026-03", **{"as": "restated"})
    assert restated["view"] == "restated"
    section = restated["currencies"][0]
    assert (section["disputes_lost"], section["fees_returned"], section["closing_balance"]) == (
        -1000,
        25,
        8775,
    )
    assert section["disputes_opened"] == {"count": 1, "amount": 1000}
    (diff,) = restated["difference"]
    assert {k: v for k, v in diff.items() if v and k != "currency"} == {
        "disputes_lost": -1000,
        "fees_returned": 25,
        "closing_balance": -975,
    }
    april = api.get_json(STATEMENT.format(a), admin, period="2026-04", lines="true")
    assert april["view"] == "current"
    usd = april["currencies"][0]
    assert _figures(usd) == {
        "opening_balance": 9750,
        "sales": 0,
        "platform_fees": 0,
        "refunds": 0,
        "fees_returned": 0,
        "disputes_lost": 0,
        "payouts": 0,
        "adjustments": -975,
        "closing_balance": 8775,
    }
    adjustments = [line for line in usd["lines"] if line["adjustment"]]
    assert {(line["kind"], line["amount"]) for line in adjustments} == {
        ("dispute_lost", -1000),
        ("fee_returned", 25),
    }
    assert all(line["source_id"] == d["id"] for line in adjustments)
    assert all(line["effective_period"] == "2026-03" for line in adjustments)
    assert all(line["booked_period"] == "2026-04" for line in adjustments)
    assert api.payable(admin, a) == -8775
    april_restated = api.get_json(
        STATEMENT.format(a), admin, period="2026-04", **{"as": "restated"}
    )
    assert april_restated["currencies"][0]["opening_balance"] == 8775
    assert april_restated["currencies"][0]["adjustments"] == 0
    not_issued = api.get(STATEMENT.format(a), admin, period="2026-04", **{"as": "issued"})
    assert not_issued.status_code == 409
    march_pnl = api.get_json("/v1/reports/platform/pnl", admin, period="2026-03")["currencies"]
    assert (march_pnl[0]["fee_revenue"], march_pnl[0]["net"]) == (250, 250)
    april_pnl = api.get_json("/v1/reports/platform/pnl", admin, period="2026-04")["currencies"]
    assert (april_pnl[0]["adjustments"], april_pnl[0]["net"]) == (-25, -25)
    restated_pnl = api.get_json(
        "/v1/reports/platform/pnl", admin, period="2026-03", **{"as": "restated"}
    )["currencies"][0]
    assert (restated_pnl["dispute_losses"], restated_pnl["net"]) == (25, 225)


def test_an_effective_time_in_the_future_is_refused(api: Api, admin: dict[str, str]) -> None:
    a = api.manufacturer(admin)
    p = api.payment(admin, [(a, 1000)])
    later = api.post(
        f"/v1/payments/{p['id']}/disputes",
        {"amount": 10, "opened_at": "2027-01-01T00:00:00Z"},
        admin,
    )
    assert later.status_code == 422
    naive = api.post(
        f"/v1/payments/{p['id']}/disputes",
        {"amount": 10, "opened_at": "2026-03-01T00:00:00"},
        admin,
    )
    assert naive.status_code == 422
    assert api.get_json(f"/v1/payments/{p['id']}", admin)["disputes"] == []

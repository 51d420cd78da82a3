"""Real answers, not only generated ones, match the OpenAPI document (issue 11, item 12): a
day's flow through every resource, each body validated against the schema declared for its
operation, status and media type."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from tests.conftest import Api


class Document:
    def __init__(self, api: Api) -> None:
        self.doc: dict[str, Any] = api.client.get("/openapi.json").json()
        self.seen: set[str] = set()

    def check(self, response: Any, method: str, path: str) -> Any:
        operation = self.doc["paths"][path][method.lower()]
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, (method, path, response.status_code, response.text)
        media = response.headers["content-type"].split(";")[0]
        content = declared.get("content", {})
        assert media in content, (method, path, media, list(content))
        if media.endswith("json"):
            schema = {**content[media]["schema"], "components": self.doc["components"]}
            errors = list(Draft202012Validator(schema).iter_errors(response.json()))
            assert not errors, (method, path, [e.message for e in errors[:3]])
        self.seen.add(f"{method} {path}")
        return response.json() if media.endswith("json") else response.text


def test_every_answer_of_a_day_matches_its_declared_schema(api: Api, admin: dict[str, str]) -> None:
    doc = Document(api)
    c = api.client
    doc.check(c.get("/healthz"), "GET", "/healthz")
    doc.check(c.get("/readyz"), "GET", "/readyz")
    m = doc.check(
        c.post("/v1/manufacturers", json={"name": "Acme", "fee_bps": 250}, headers=admin),
        "POST",
        "/v1/manufacturers",
    )["id"]
    mp = "/v1/manufacturers/{manufacturer_id}"
    doc.check(c.get(f"/v1/manufacturers/{m}", headers=admin), "GET", mp)
    doc.check(c.get("/v1/manufacturers", headers=admin), "GET", "/v1/manufacturers")
    patched = c.patch(
        f"/v1/manufacturers/{m}/settings", json={"payout_interval": "weekly"}, headers=admin
    )
    doc.check(patched, "PATCH", mp + "/settings")
    doc.check(c.patch(f"/v1/manufacturers/{m}", json={"fee_bps": 300}, headers=admin), "PATCH", mp)

    keyed = {**admin, "Idempotency-Key": "pay-1"}
    body = api.payment_body([(m, 10_000)])
    payment = doc.check(c.post("/v1/payments", json=body, headers=keyed), "POST", "/v1/payments")
    p = payment["id"]
    pp = "/v1/payments/{payment_id}"
    doc.check(c.get(f"/v1/payments/{p}", headers=admin), "GET", pp)
    doc.check(c.get(f"/v1/payments/{p}/events", headers=admin), "GET", pp + "/events")
    refund = doc.check(
        c.post(
            f"/v1/payments/{p}/refunds",
            json={"amount": 100},
            headers={**admin, "Idempotency-Key": "re-1"},
        ),
        "POST",
        pp + "/refunds",
    )
    doc.check(c.get(f"/v1/refunds/{refund['id']}", headers=admin), "GET", "/v1/refunds/{refund_id}")
    dispute = doc.check(
        c.post(
            f"/v1/payments/{p}/disputes",
            json={"amount": 200},
            headers={**admin, "Idempotency-Key": "dp-1"},
        ),
        "POST",
        pp + "/disputes",
    )
    dp = "/v1/disputes/{dispute_id}"
    doc.check(c.get(f"/v1/disputes/{dispute['id']}", headers=admin), "GET", dp)
    closed = c.post(
        f"/v1/disputes/{dispute['id']}/close",
        json={"outcome": "won"},
        headers={**admin, "Idempotency-Key": "dp-1-close"},
    )
    doc.check(closed, "POST", dp + "/close")
    api.settle()
    payout = doc.check(
        c.post(
            "/v1/payouts",
            json={"manufacturer_id": m, "amount": 1_000, "currency": "USD"},
            headers={**admin, "Idempotency-Key": "po-1"},
        ),
        "POST",
        "/v1/payouts",
    )
    doc.check(c.get(f"/v1/payouts/{payout['id']}", headers=admin), "GET", "/v1/payouts/{payout_id}")
    subscription = doc.check(
        c.post(
            "/v1/subscriptions",
            json={
                "customer_id": "cus_1",
                "amount": 500,
                "currency": "USD",
                "payment_method": "pm_tok_visa",
                "splits": [{"manufacturer_id": m, "amount": 500}],
                "interval": "monthly",
            },
            headers={**admin, "Idempotency-Key": "sub-1"},
        ),
        "POST",
        "/v1/subscriptions",
    )
    sp = "/v1/subscriptions/{subscription_id}"
    doc.check(c.get(f"/v1/subscriptions/{subscription['id']}", headers=admin), "GET", sp)
    doc.check(
        c.get(f"/v1/subscriptions/{subscription['id']}/invoices", headers=admin),
        "GET",
        sp + "/invoices",
    )
    api.settle()
    for listing in (
        "/v1/payments",
        "/v1/refunds",
        "/v1/disputes",
        "/v1/payouts",
        "/v1/subscriptions",
        "/v1/ledger/accounts",
    ):
        doc.check(c.get(listing, headers=admin), "GET", listing)
        doc.check(c.get(listing, headers={**admin, "Accept": "text/csv"}), "GET", listing)
    balance = c.get(
        f"/v1/accounts/manufacturer:{m}:payable/balance", params={"currency": "USD"}, headers=admin
    )
    doc.check(balance, "GET", "/v1/accounts/{name}/balance")
    for accept in ("application/json", "text/csv"):
        headers = {**admin, "Accept": accept}
        doc.check(
            c.get("/v1/ledger/trial-balance", headers=headers), "GET", "/v1/ledger/trial-balance"
        )
        report = c.get(
            f"/v1/reports/manufacturers/{m}", params={"period": "2026-01"}, headers=headers
        )
        doc.check(report, "GET", "/v1/reports/manufacturers/{manufacturer_id}")
        statement = c.get(
            f"/v1/statements/manufacturers/{m}", params={"period": "2026-01"}, headers=headers
        )
        doc.check(statement, "GET", "/v1/statements/manufacturers/{manufacturer_id}")
        pnl = c.get("/v1/reports/platform/pnl", params={"period": "2026-01"}, headers=headers)
        doc.check(pnl, "GET", "/v1/reports/platform/pnl")
    closed_period = c.post("/v1/periods/2025-12/close", headers=admin)
    doc.check(closed_period, "POST", "/v1/periods/{period}/close")
    keys = doc.check(c.get("/v1/keys", headers=admin), "GET", "/v1/keys")
    doc.check(c.get("/v1/keys/me", headers=admin), "GET", "/v1/keys/me")
    key = keys["data"][0]["id"]
    doc.check(c.get(f"/v1/keys/{key}", headers=admin), "GET", "/v1/keys/{key_id}")
    doc.check(
        c.patch(f"/v1/keys/{key}", json={"label": "ops"}, headers=admin),
        "PATCH",
        "/v1/keys/{key_id}",
    )
    doc.check(c.get("/v1/attention", headers=admin), "GET", "/v1/attention")
    doc.check(c.get("/v1/operations/queues", headers=admin), "GET", "/v1/operations/queues")
    doc.check(c.get("/v1/payments/pay_x", headers=admin), "GET", pp)  # a problem, declared
    assert len(doc.seen) >= 35

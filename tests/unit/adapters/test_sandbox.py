"""The sandbox's magic tokens drive every provider failure path through the API."""

from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("pm_sandbox_declined", "card_declined"),
        ("pm_sandbox_insufficient_funds", "insufficient_funds"),
    ],
)
def test_declines_fail_the_payment_and_move_no_money(
    api: Api, admin: dict[str, str], token: str, reason: str
) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 500)], payment_method=token)
    assert payment["status"] == "failed"
    assert payment["failure_reason"] == reason
    assert payment["amount_captured"] == 0
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 1}, admin)
    assert refund.status_code == 409
    assert api.get("/v1/ledger/trial-balance", admin).json()["currencies"] == []


@pytest.mark.parametrize("token", ["pm_sandbox_processing_error", "pm_sandbox_timeout"])
def test_unavailable_provider_is_503_records_nothing_and_can_be_retried(
    api: Api, admin: dict[str, str], token: str
) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 500)], payment_method=token)
    before = api.container.engine.recorder.max_notification_id()
    first = api.post("/v1/payments", body, admin, idem="retry-me")
    assert first.status_code == 503
    assert first.headers["retry-after"] == "2"
    assert first.json()["type"] == "urn:ledger:problem:provider-unavailable"
    assert api.container.engine.recorder.max_notification_id() == before
    # Nothing was stored under the key, so a retry runs again (and a fixed token succeeds).
    again = api.post("/v1/payments", {**body, "payment_method": "pm_ok"}, admin, idem="retry-me")
    assert again.status_code == 201


def test_refunds_of_a_refund_fails_token_fail_and_release_the_amount(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)], payment_method="pm_sandbox_refund_fails")
    assert payment["status"] == "captured"
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 400}, admin).json()
    assert refund["status"] == "pending"
    api.settle()
    refund = api.get(f"/v1/refunds/{refund['id']}", admin).json()
    assert refund["status"] == "failed"
    assert refund["failure_reason"] == "refund_declined"
    after = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert after["refundable_amount"] == 1000
    balance = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD")
    assert balance.json()["balance"] == -1000
    failed = api.get("/v1/refunds", admin, status="failed").json()["data"]
    assert [r["id"] for r in failed] == [refund["id"]]

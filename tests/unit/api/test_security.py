"""Authentication, scopes, manufacturer isolation and idempotency."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from api.deps import fingerprint
from api.schemas import RefundIn
from ledger.application.commands import refunds
from ledger.application.replies import Idempotency
from tests.conftest import Api


def test_requests_without_a_valid_key_are_401(api: Api) -> None:
    assert api.client.get("/v1/payments").status_code == 401
    response = api.client.get("/v1/payments", headers={"Authorization": "Bearer lk_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "urn:ledger:problem:unauthenticated"


def test_only_hashes_of_keys_are_stored(api: Api) -> None:
    secret, key = api.container.keys.create(["payments:read"])
    stored = b"".join(
        n.state for n in api.container.engine.recorder.select_notifications(start=1, limit=1000)
    )
    assert secret.encode() not in stored
    assert key.key_hash in stored.decode()


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["payments:read"], "post", "/v1/manufacturers", False),
        (["payments:write"], "post", "/v1/manufacturers", False),
        (["payments:read"], "post", "/v1/payments", False),
        (["finance:read"], "get", "/v1/payments", False),
        (["payments:read"], "get", "/v1/ledger/trial-balance", False),
        (["finance:read"], "get", "/v1/ledger/trial-balance", True),
        (["payments:read"], "get", "/v1/payments", True),
        (["admin"], "get", "/v1/ledger/trial-balance", True),
    ],
)
def test_scopes_are_enforced(
    api: Api, scopes: list[str], method: str, path: str, allowed: bool
) -> None:
    auth = api.key(*scopes)
    if method == "post":
        response = api.post(path, {"name": "x", "fee_bps": 1}, auth)
    else:
        response = api.get(path, auth)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "urn:ledger:problem:forbidden"


def test_a_manufacturer_key_never_sees_another_manufacturers_data(
    api: Api, admin: dict[str, str]
) -> None:
    mine = api.manufacturer(admin, name="Mine")
    theirs = api.manufacturer(admin, name="Theirs")
    own_payment = api.payment(admin, [(mine, 1000)])
    their_payment = api.payment(admin, [(theirs, 2000)])
    shared = api.payment(admin, [(mine, 300), (theirs, 700)])
    key = api.key("payments:read", "payments:write", "finance:read", manufacturer=mine)

    assert api.get(f"/v1/manufacturers/{mine}", key).status_code == 200
    assert api.get(f"/v1/manufacturers/{theirs}", key).status_code == 404
    assert api.get(f"/v1/payments/{own_payment['id']}", key).status_code == 200
    hidden = api.get(f"/v1/payments/{their_payment['id']}", key)
    assert hidden.status_code == 404
    assert hidden.json()["type"] == "urn:ledger:problem:not-found"
    assert api.get(f"/v1/payments/{their_payment['id']}/events", key).status_code == 404
    refund = api.post(f"/v1/payments/{their_payment['id']}/refunds", {"amount": 1}, key)
    assert refund.status_code == 404

    # A payment shared with another manufacturer carries their amounts, customer and metadata.
    assert api.get(f"/v1/payments/{shared['id']}", key).status_code == 404
    assert api.get(f"/v1/payments/{shared['id']}/events", key).status_code == 404
    shared_refund = api.post(f"/v1/payments/{shared['id']}/refunds", {"amount": 100}, admin).json()
    assert api.get(f"/v1/refunds/{shared_refund['id']}", key).status_code == 404
    own_refund = api.post(f"/v1/payments/{own_payment['id']}/refunds", {"amount": 1}, admin).json()

    listed = api.get("/v1/payments", key).json()["data"]
    assert {p["id"] for p in listed} == {own_payment["id"]}
    refunds = api.get("/v1/refunds", key).json()["data"]
    assert [r["id"] for r in refunds] == [own_refund["id"]]
    assert api.get("/v1/payments", key, manufacturer_id=theirs).status_code == 404

    own_account = f"manufacturer:{mine}:payable"
    assert api.get(f"/v1/accounts/{own_account}/balance", key, currency="USD").status_code == 200
    other_account = f"manufacturer:{theirs}:payable"
    assert api.get(f"/v1/accounts/{other_account}/balance", key, currency="USD").status_code == 404
    assert (
        api.get("/v1/accounts/platform:revenue:fees/balance", key, currency="USD").status_code
        == 404
    )
    trial = api.get("/v1/ledger/trial-balance", key).json()
    assert {a["account"] for c in trial["currencies"] for a in c["accounts"]} == {own_account}
    assert api.get(f"/v1/reports/manufacturers/{theirs}", key, period="2026-03").status_code == 404
    payout = api.post(
        "/v1/payouts", {"manufacturer_id": theirs, "amount": 1, "currency": "USD"}, key
    )
    assert payout.status_code == 422
    assert "unknown manufacturer" in payout.json()["detail"]
    patch = api.client.patch(f"/v1/manufacturers/{theirs}", json={"fee_bps": 0}, headers=key)
    assert patch.status_code in (403, 404)
    register = api.post("/v1/manufacturers", {"name": "X", "fee_bps": 1}, key)
    assert register.status_code == 403
    assert api.get(f"/v1/manufacturers/{mine}", api.key("payouts:approve")).status_code == 403


def test_idempotency_fingerprint_ignores_key_order(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 5)], currency="EUR", metadata={"a": "1", "b": "2"})
    first = api.post("/v1/payments", body, admin, idem="same")
    reordered = {**body, "metadata": {"b": "2", "a": "1"}}
    second = api.post("/v1/payments", reordered, admin, idem="same")
    assert second.status_code == 201
    assert second.json() == first.json()


def test_same_key_and_body_replays_the_first_response(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 500)], currency="EUR")
    first = api.post("/v1/payments", body, admin, idem="order-1")
    second = api.post("/v1/payments", body, admin, idem="order-1")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"
    listed = api.get("/v1/payments", admin).json()["data"]
    assert len(listed) == 1


def test_same_key_with_a_different_body_is_422(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 500)], currency="EUR")
    assert api.post("/v1/payments", body, admin, idem="k").status_code == 201
    changed = {**body, "amount": 501, "splits": [{"manufacturer_id": m, "amount": 501}]}
    response = api.post("/v1/payments", changed, admin, idem="k")
    assert response.status_code == 422
    assert response.json()["type"] == "urn:ledger:problem:idempotency-key-reused"
    # the same key on another endpoint is also a different request
    other = api.post(f"/v1/payments/{'pay_' + '0' * 32}/refunds", {"amount": 1}, admin, idem="k")
    assert other.status_code == 422


def test_idempotency_keys_are_scoped_per_account_not_per_api_key(
    api: Api, admin: dict[str, str]
) -> None:
    """Issue 11 item 4: a retry sent with a second key of the same account (a key rotated
    mid-retry) replays the first reply and never refunds twice."""
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1000)])
    path = f"/v1/payments/{payment['id']}/refunds"
    second_admin = api.key("admin")
    first = api.post(path, {"amount": 400}, admin, idem="refund-1")
    retried = api.post(path, {"amount": 400}, second_admin, idem="refund-1")
    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    assert retried.headers["idempotent-replayed"] == "true"
    mine = api.key("payments:write", "payments:read", manufacturer=m)
    rotated = api.key("payments:write", "payments:read", manufacturer=m)
    own = api.post(path, {"amount": 100}, mine, idem="refund-2")
    again = api.post(path, {"amount": 100}, rotated, idem="refund-2")
    assert own.status_code == again.status_code == 201
    assert again.json()["id"] == own.json()["id"]
    refunds = api.get_json("/v1/refunds", admin)["data"]
    assert sorted(r["amount"] for r in refunds) == [100, 400]
    assert api.get_json(f"/v1/payments/{payment['id']}", admin)["amount_refunded"] == 500


def test_idempotency_keys_of_different_accounts_do_not_collide(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    bound = api.key("payments:write", "payments:read", manufacturer=m)
    body = api.payment_body([(m, 500)], currency="EUR")
    a = api.post("/v1/payments", body, admin, idem="shared").json()
    b = api.post("/v1/payments", body, bound, idem="shared").json()
    assert a["id"] != b["id"]


def test_a_reply_recorded_per_api_key_before_the_upgrade_still_replays(
    api: Api, admin: dict[str, str]
) -> None:
    """Records made when keys were scoped per API key: the same key's retry still finds them."""
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1000)])
    secret = admin["Authorization"].removeprefix("Bearer ")
    principal = api.container.keys.authenticate(secret)
    assert principal is not None
    path = f"/v1/payments/{payment['id']}/refunds"
    request = Request({"type": "http", "method": "POST", "path": path, "headers": []})
    body = RefundIn(amount=300)
    old = Idempotency(principal.key_id, "legacy-1", fingerprint(request, body))
    api.container.engine.run(
        refunds.request(principal, payment["id"], 300, None), lambda r: '{"old": true}', old
    )
    retried = api.post(path, {"amount": 300}, admin, idem="legacy-1")
    assert retried.status_code == 201
    assert retried.json() == {"old": True}
    assert api.get_json(f"/v1/payments/{payment['id']}", admin)["amount_refunded"] == 300


def test_money_moving_posts_require_an_idempotency_key(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 500)], currency="EUR")
    response = api.post("/v1/payments", body, admin, idem=None)
    assert response.status_code == 400
    assert response.json()["type"] == "urn:ledger:problem:idempotency-key-missing"
    assert api.post("/v1/payments", body, admin, idem="bad key\n").status_code in (400, 422)


def test_a_refused_transition_is_replayed_too(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 100)])
    path = f"/v1/payments/{payment['id']}/refunds"
    first = api.post(path, {"amount": 101}, admin, idem="r1")
    second = api.post(path, {"amount": 101}, admin, idem="r1")
    assert first.status_code == second.status_code == 409
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"


def test_openapi_and_docs_are_served(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert "/v1/payments/{payment_id}/refunds" in spec["paths"]
    assert api.client.get("/docs").status_code == 200
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok"

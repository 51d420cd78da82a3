from __future__ import annotations

import threading
from typing import Any

import pytest

from ledger.application.ports import ProviderResult
from tests.conftest import Api, ManualClock
from tests.support.providers import ScriptedProviderBase


def test_create_payment_authorizes_and_captures(api: Api, admin: dict[str, str]) -> None:
    m1 = api.manufacturer(admin, fee_bps=250)
    m2 = api.manufacturer(admin, fee_bps=100, refund_fee_policy="keep_fee")
    payment = api.payment(admin, [(m1, 6000), (m2, 4000)], metadata={"order": "o-1"})
    assert payment["status"] == "captured"
    assert payment["amount"] == payment["amount_captured"] == 10_000
    assert payment["amount_refunded"] == 0
    assert payment["currency"] == "USD"
    assert payment["capture_method"] == "automatic"
    assert [(s["amount_captured"], s["fee"]) for s in payment["splits"]] == [
        (6000, 150),
        (4000, 40),
    ]
    assert payment["created_at"]
    fetched = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert fetched == payment


def test_manual_capture_partial_then_void_is_refused(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1000)], capture_method="manual")
    assert payment["status"] == "authorized"
    captured = api.post(f"/v1/payments/{payment['id']}/capture", {"amount": 400}, admin)
    assert captured.status_code == 200
    assert captured.json()["amount_captured"] == 400
    again = api.post(f"/v1/payments/{payment['id']}/capture", {"amount": 100}, admin)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:ledger:problem:illegal-transition"
    voided = api.post(f"/v1/payments/{payment['id']}/void", None, admin)
    assert voided.status_code == 409


def test_capture_after_void_is_409(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1000)], capture_method="manual")
    assert api.post(f"/v1/payments/{payment['id']}/void", None, admin).json()["status"] == "voided"
    response = api.post(f"/v1/payments/{payment['id']}/capture", None, admin)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def _event_count(api: Api) -> int:
    return api.container.engine.recorder.max_notification_id() or 0


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"amount": 100.0}, 422),
        ({"amount": 99.5}, 422),
        ({"amount": "100"}, 422),
        ({"amount": 0}, 422),
        ({"amount": -5}, 422),
        ({"currency": "ABC"}, 422),
        ({"currency": "usd"}, 422),
        ({"splits": []}, 422),
        ({"unknown_field": 1}, 422),
        ({"metadata": {"ratio": 0.5}}, 422),
        ({"capture_method": "sometimes"}, 422),
        ({"splits": [{"manufacturer_id": "mfr_" + "0" * 32, "amount": 100}]}, 422),
    ],
)
def test_bad_payment_input_is_4xx_and_stores_nothing(
    api: Api, admin: dict[str, str], change: dict[str, Any], status: int
) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 100)], **change)
    before = _event_count(api)
    response = api.post("/v1/payments", body, admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].startswith("urn:ledger:problem:")
    assert problem["status"] == status
    assert _event_count(api) == before


def test_splits_must_sum_to_the_amount(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 90)], amount=100)
    response = api.post("/v1/payments", body, admin)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:ledger:problem:splits-mismatch"


@pytest.mark.parametrize(
    "where",
    [
        {"metadata": {"note": "card 4242 4242 4242 4242"}},
        {"metadata": {"n": "4111-1111-1111-1111"}},
        {"payment_method": "4000056655665556"},
        {"customer_id": "tok_378282246310005"},
        {"metadata": {"x": 4242424242424242}},
    ],
)
def test_card_numbers_are_rejected_and_never_stored(
    api: Api, admin: dict[str, str], where: dict[str, Any]
) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 100)], **where)
    before = _event_count(api)
    response = api.post("/v1/payments", body, admin)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:ledger:problem:card-number-rejected"
    assert "4242" not in response.text
    assert "1111" not in response.text
    assert _event_count(api) == before


def test_card_number_in_query_string_is_rejected(api: Api, admin: dict[str, str]) -> None:
    response = api.get("/v1/payments", admin, status="4242424242424242")
    assert response.status_code == 422


def test_oversized_body_is_413(api: Api, admin: dict[str, str]) -> None:
    body = {"amount": 1, "metadata": {"k": "x" * 70_000}}
    response = api.post("/v1/payments", body, admin)
    assert response.status_code == 413


def test_malformed_json_is_400(api: Api, admin: dict[str, str]) -> None:
    response = api.client.post(
        "/v1/payments",
        content=b"{not json",
        headers={**admin, "Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["type"] == "urn:ledger:problem:malformed-json"


def test_events_history_is_the_immutable_record(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 500)])
    api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 100}, admin)
    api.settle()
    events = api.get(f"/v1/payments/{payment['id']}/events", admin).json()
    assert [e["type"] for e in events] == [
        "Initiated",
        "Authorized",
        "Captured",
        "RefundRequested",
        "RefundSucceeded",
    ]
    assert [e["version"] for e in events] == [1, 2, 3, 4, 5]
    assert events[2]["data"]["entry"]


class BlockingProvider(ScriptedProviderBase):
    """Authorizes only when the test says so, to hold a request in flight."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def authorize(self, request: Any) -> ProviderResult:
        self.entered.set()
        assert self.release.wait(5)
        return ProviderResult(status="succeeded", reference="slow")

    def refund(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="r")

    def capture(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="c")

    def void(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="v")

    def pay_out(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="p")


class DecliningProvider(BlockingProvider):
    def authorize(self, request: Any) -> ProviderResult:
        return ProviderResult(status="failed", reference="d", failure_reason="card declined")

    def refund(self, request: Any) -> ProviderResult:
        return ProviderResult(status="failed", reference="r", failure_reason="account closed")


def test_declined_payment_is_failed_and_moves_no_money(api: Api, admin: dict[str, str]) -> None:
    api.container.engine.register_provider("declines", DecliningProvider())
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 700)], provider="declines")
    assert payment["status"] == "failed"
    assert payment["failure_reason"] == "card declined"
    assert api.get("/v1/ledger/trial-balance", admin).json()["currencies"] == []


def test_request_racing_an_in_flight_one_with_the_same_key_is_409(
    api: Api, admin: dict[str, str]
) -> None:
    provider = BlockingProvider()
    api.container.engine.register_provider("slow", provider)
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 100)], provider="slow")
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(api.post("/v1/payments", body, admin, idem="race"))
    )
    first.start()
    assert provider.entered.wait(5)
    racing = api.post("/v1/payments", body, admin, idem="race")
    provider.release.set()
    first.join(5)
    assert racing.status_code == 409
    assert racing.json()["type"] == "urn:ledger:problem:idempotency-key-in-flight"
    assert results[0].status_code == 201
    replay = api.post("/v1/payments", body, admin, idem="race")
    assert replay.status_code == 201
    assert replay.json() == results[0].json()


def test_failed_refund_at_provider_is_recorded_and_releases_the_amount(
    api: Api, admin: dict[str, str]
) -> None:
    api.container.engine.register_provider("declines", DecliningProvider())
    service = api.container.engine
    m = api.manufacturer(admin)
    # Authorize with the sandbox, then route refunds to a provider that refuses them.
    payment = api.payment(admin, [(m, 1000)])
    service.register_provider("sandbox", DecliningProvider())
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 300}, admin).json()
    assert refund["status"] == "pending"
    api.settle()
    refund = api.get(f"/v1/refunds/{refund['id']}", admin).json()
    assert refund["status"] == "failed"
    assert refund["failure_reason"] == "account closed"
    fetched = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert fetched["refundable_amount"] == 1000
    assert fetched["amount_refunded"] == 0


def test_payments_list_filters_and_paginates(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m1 = api.manufacturer(admin)
    m2 = api.manufacturer(admin)
    created = []
    for index in range(5):
        clock.advance(minutes=1)
        created.append(api.payment(admin, [(m1 if index % 2 == 0 else m2, 100 + index)])["id"])
    page = api.get("/v1/payments", admin, limit=2).json()
    assert [p["id"] for p in page["data"]] == created[::-1][:2]
    assert page["freshness"]["lag_events"] == 0
    seen = [p["id"] for p in page["data"]]
    while page["next_cursor"]:
        page = api.get("/v1/payments", admin, limit=2, cursor=page["next_cursor"]).json()
        seen += [p["id"] for p in page["data"]]
    assert seen == created[::-1]
    only_m1 = api.get("/v1/payments", admin, manufacturer_id=m1).json()["data"]
    assert {p["id"] for p in only_m1} == {created[0], created[2], created[4]}
    assert api.get("/v1/payments", admin, status="voided").json()["data"] == []
    bad = api.get("/v1/payments", admin, cursor="garbage!")
    assert bad.status_code == 422


def test_payments_list_created_range(api: Api, admin: dict[str, str], clock: ManualClock) -> None:
    m = api.manufacturer(admin)
    api.payment(admin, [(m, 100)])
    clock.advance(days=1)
    late = api.payment(admin, [(m, 200)])
    data = api.get(
        "/v1/payments",
        admin,
        created_from="2026-03-11T00:00:00Z",
        created_to="2026-03-12T00:00:00Z",
    ).json()["data"]
    assert [p["id"] for p in data] == [late["id"]]
    assert api.get("/v1/payments", admin, created_from="yesterday").status_code == 422


def test_card_number_in_a_header_is_rejected_and_not_stored(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    body = api.payment_body([(m, 100)])
    before = _event_count(api)
    response = api.post("/v1/payments", body, admin, idem="4242424242424242")
    assert response.status_code == 422
    assert _event_count(api) == before


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/payments", {"created_from": "0001-01-01T00:00:00+01:00"}),
        ("/v1/payments", {"created_to": "9999-12-31T23:59:59-01:00"}),
        (
            "/v1/accounts/platform:cash/balance",
            {"currency": "USD", "as_of": "0001-01-01T00:30:00+01:00"},
        ),
        ("/v1/reports/manufacturers/{m}", {"period": "9999-12"}),
        ("/v1/reports/manufacturers/{m}", {"period": "0000-01"}),
        ("/v1/reports/manufacturers/{m}", {"from": "9999-12-31", "to": "9999-12-31"}),
    ],
)
def test_extreme_dates_are_422_not_500(
    api: Api, admin: dict[str, str], path: str, params: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    response = api.get(path.format(m=m), admin, **params)
    assert response.status_code == 422, response.text

"""PayPal settlement reports and reconciliation runs submitted through the API: the CLI's parser
and booking, once per report id; a bad file is a 422 naming its line and changes nothing; a key
bound to a manufacturer, or one without finance:close, is refused."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.unit.application.test_paypal_settlement import ROWS, PayPalCaptures, _sb, report

CSV = {"Content-Type": "text/csv"}


def _send(api: Api, path: str, text: str, auth: dict[str, str], **params: str) -> Any:
    return api.client.post(
        path, content=text.encode(), headers={**auth, **CSV}, params=params or None
    )


def _captures(api: Api, admin: dict[str, str]) -> str:
    api.container.engine.register_provider("paypal", PayPalCaptures())
    m = api.manufacturer(admin, fee_bps=0)
    alpha = api.payment(admin, [(m, 10000)], provider="paypal", payment_method="pp_CAPALPHA1_349")
    api.payment(admin, [(m, 4000)], provider="paypal", payment_method="pp_CAPBRAVO2_none")
    refund = api.post(f"/v1/payments/{alpha['id']}/refunds", {"amount": 2500}, admin)
    assert refund.status_code == 201, refund.text
    api.settle()
    return m


def test_a_paypal_report_is_booked_once_through_the_api(api: Api, admin: dict[str, str]) -> None:
    _captures(api, admin)
    finance = api.key("finance:close")
    booked = _send(api, "/v1/settlements/paypal", report(ROWS), finance)
    assert booked.status_code == 200, booked.text
    assert booked.json() == {
        "settlement_id": "STL:PLATFORM1:2026/03/10 00:00:00 +0000..2026/03/10 23:59:59 +0000",
        "outcome": booked.json()["outcome"],
    }
    assert "11005 USD to platform:cash, 146 USD of provider fees" in booked.json()["outcome"]
    assert api.balance(admin, "platform:cash") == 11005
    again = _send(api, "/v1/settlements/paypal", report(ROWS), finance)
    assert again.status_code == 200
    assert again.json()["outcome"].endswith("already booked")
    assert api.balance(admin, "platform:cash") == 11005


def test_a_bad_report_is_a_422_naming_its_line_and_books_nothing(
    api: Api, admin: dict[str, str]
) -> None:
    _captures(api, admin)
    bad = report([*ROWS[:2], _sb("REFALPHA1", "CAPALPHA1", "T1107", "DR", "10.5", "CR", "0")])
    refused = _send(api, "/v1/settlements/paypal", bad, admin)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert (
        "line 7: Gross Transaction Amount '10.5' is not a whole number" in refused.json()["detail"]
    )
    assert not api.posted_to(admin, "platform:cash")
    run = _send(api, "/v1/reconciliation/runs", bad, admin, provider="paypal")
    assert run.status_code == 422
    assert "line 7" in run.json()["detail"]
    assert api.container.engine.registry_members("reconciliation-runs") == []


def test_a_report_in_another_media_type_is_a_415(api: Api, admin: dict[str, str]) -> None:
    sent = api.client.post(
        "/v1/settlements/paypal",
        content=report(ROWS).encode(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert sent.status_code == 415


def test_bound_and_read_only_keys_are_refused(api: Api, admin: dict[str, str]) -> None:
    m = _captures(api, admin)
    bound = api.key("finance:close", manufacturer=m)
    reader = api.key("finance:read")
    for auth in (bound, reader):
        settled = _send(api, "/v1/settlements/paypal", report(ROWS), auth)
        assert settled.status_code == 403, settled.text
        run = _send(api, "/v1/reconciliation/runs", report(ROWS), auth, provider="paypal")
        assert run.status_code == 403, run.text
    assert not api.posted_to(admin, "platform:cash")
    assert api.container.engine.registry_members("reconciliation-runs") == []


def test_a_paypal_reconciliation_run_through_the_api_is_recorded_once(
    api: Api, admin: dict[str, str]
) -> None:
    _captures(api, admin)
    finance = api.key("finance:close", "finance:read")
    started = _send(api, "/v1/reconciliation/runs", report(ROWS), finance, provider="paypal")
    assert started.status_code == 200, started.text
    run = started.json()
    assert set(run["breaks"]) == {"fee_mismatch"}
    assert [pair["provider"]["id"] for pair in run["matched"]] == ["CAPALPHA1", "REFALPHA1"]
    assert run["totals"]["payout"] == 11005
    again = _send(api, "/v1/reconciliation/runs", report(ROWS), finance, provider="paypal")
    assert again.json()["id"] == run["id"]
    read = api.get(f"/v1/reconciliation/runs/{run['id']}", finance)
    assert read.status_code == 200
    assert read.json()["totals"] == run["totals"]


def test_a_stripe_run_needs_a_payout_id_and_a_configured_stripe(
    api: Api, admin: dict[str, str]
) -> None:
    missing = api.client.post(
        "/v1/reconciliation/runs", headers=admin, params={"provider": "stripe"}
    )
    assert missing.status_code == 422
    assert "payout_id" in missing.json()["detail"]
    assert api.container.engine.registry_members("reconciliation-runs") == []
    unconfigured = api.client.post(
        "/v1/reconciliation/runs",
        headers=admin,
        params={"provider": "stripe", "payout_id": "po_x1"},
    )
    assert unconfigured.status_code == 422, unconfigured.text
    assert unconfigured.json()["type"] == "urn:ledger:problem:provider-not-configured"
    ach = api.client.post("/v1/reconciliation/runs", headers=admin, params={"provider": "ach"})
    assert ach.status_code == 422


def test_a_card_number_in_a_report_is_still_refused(api: Api, admin: dict[str, str]) -> None:
    pan = "4111 1111 1111 1111"
    text = report([_sb(pan, "", "T0006", "CR", "10000", "DR", "349"), *ROWS[1:]])
    for path, params in (
        ("/v1/settlements/paypal", {}),
        ("/v1/reconciliation/runs", {"provider": "paypal"}),
    ):
        refused = _send(api, path, text, admin, **params)
        assert refused.status_code == 422
        assert refused.json()["type"] == "urn:ledger:problem:card-number-rejected"
    assert not api.posted_to(admin, "platform:cash")


def test_a_card_number_split_across_two_lines_of_a_report_is_refused(
    api: Api, admin: dict[str, str]
) -> None:
    """A file is read whole: a line break is a separator like any other."""
    text = report(ROWS) + "\n4111 1111\n1111 1111\n"
    refused = _send(api, "/v1/settlements/paypal", text, admin)
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:ledger:problem:card-number-rejected"
    assert not api.posted_to(admin, "platform:cash")


def test_a_card_number_spelled_like_a_report_timestamp_is_refused(
    api: Api, admin: dict[str, str]
) -> None:
    """Only a real moment in PayPal's shape is set aside: 4111/11/11 is no date."""
    text = report(ROWS) + "\nnote 4111/11/11 11:11:11 +1111\n"
    refused = _send(api, "/v1/settlements/paypal", text, admin)
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:ledger:problem:card-number-rejected"


def test_a_payout_id_with_a_paypal_report_is_refused(api: Api, admin: dict[str, str]) -> None:
    sent = _send(
        api, "/v1/reconciliation/runs", report(ROWS), admin, provider="paypal", payout_id="po_x1"
    )
    assert sent.status_code == 422
    assert "payout_id is for Stripe runs only" in sent.json()["detail"]
    assert api.container.engine.registry_members("reconciliation-runs") == []


def test_the_document_declares_the_file_bodies(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/settlements/paypal", "/v1/reconciliation/runs"):
        body = paths[path]["post"]["requestBody"]
        assert set(body["content"]) == {"text/csv", "text/plain"}, path
        assert {"403", "415", "422"} <= set(paths[path]["post"]["responses"]), path
    assert paths["/v1/settlements/paypal"]["post"]["requestBody"]["required"] is True

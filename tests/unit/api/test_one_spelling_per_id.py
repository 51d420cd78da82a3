"""Every id has one spelling (issue 11, item 1): an upper-case manufacturer id used to create a
second payable account for the same manufacturer, so a payout could be made twice from one
balance. Any other spelling is now malformed: 422 in bodies, filters and cursors, 404 in paths."""

from __future__ import annotations

import base64
import json
import re

from tests.conftest import Api


def _upper(public_id: str) -> str:
    prefix, _, hex_id = public_id.partition("_")
    return f"{prefix}_{hex_id.upper()}"


def _events(api: Api) -> int:
    return len(api.container.engine.recorder.select_notifications(start=1, limit=100_000))


def test_a_split_to_another_spelling_of_a_manufacturer_is_refused(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    before = _events(api)
    body = {
        "amount": 10_000,
        "currency": "USD",
        "customer_id": "cus_1",
        "payment_method": "pm_tok_visa",
        "splits": [{"manufacturer_id": _upper(m), "amount": 10_000}],
    }
    refused = api.post("/v1/payments", body, admin)
    assert refused.status_code == 422, refused.text
    assert _events(api) == before  # nothing recorded


def test_a_payout_from_another_spelling_is_refused(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 5_000)])
    body = {"manufacturer_id": _upper(m), "amount": 5_000, "currency": "USD"}
    assert api.post("/v1/payouts", body, admin).status_code == 422
    # The one spelling still pays out, once: the balance was never split in two.
    body["manufacturer_id"] = m
    assert api.post("/v1/payouts", body, admin).status_code == 201
    assert api.post("/v1/payouts", body, admin).status_code == 409


def _not_served(api: Api, path: str, headers: dict[str, str]) -> None:
    """404; or, when the other spelling is no id of ours and holds a run of 13+ digits (about
    1 random id in 100), refused by the card-number guard before any route sees it."""
    answer = api.get(path, headers)
    if re.search(r"[0-9]{13}", path):
        assert answer.status_code in (404, 422), answer.text
        if answer.status_code == 422:
            assert answer.json()["type"] == "urn:ledger:problem:card-number-rejected"
    else:
        assert answer.status_code == 404, answer.text


def test_other_spellings_in_paths_are_not_found(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    payment = api.payment(admin, [(m, 1_000)])
    bound = api.key("payments:read", manufacturer=m)
    _not_served(api, f"/v1/manufacturers/{_upper(m)}", admin)
    _not_served(api, f"/v1/payments/{_upper(payment['id'])}", bound)
    assert api.get(f"/v1/payments/{payment['id']}", bound).status_code == 200


def test_other_spellings_in_filters_and_cursors_are_refused(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin)
    for _ in range(3):
        api.payment(admin, [(m, 100)])
    listed = api.get("/v1/payments", admin, manufacturer_id=_upper(m))
    assert listed.status_code == 422, listed.text
    page = api.get("/v1/payments", admin, limit=1).json()
    sort_value, row_id = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=="))
    forged = base64.urlsafe_b64encode(json.dumps([sort_value, _upper(row_id)]).encode()).decode()
    assert api.get("/v1/payments", admin, cursor=forged).status_code == 422
    assert api.get("/v1/payments", admin, cursor=page["next_cursor"]).status_code == 200
    refunds = api.get("/v1/refunds", admin, payment_id=_upper(page["data"][0]["id"]))
    assert refunds.status_code == 422


def test_a_key_cannot_be_bound_to_another_spelling(api: Api, admin: dict[str, str]) -> None:
    import pytest

    from ledger.application.errors import NotFound

    m = api.manufacturer(admin)
    with pytest.raises(NotFound):
        api.container.keys.create(["payments:read"], _upper(m))

"""Approval thresholds and payout minimums are per currency (issue 11 item 5): a map of ISO
4217 code to minor units; a currency with no threshold set needs approval for everything above
zero. Events stored with bare numbers still load, read as USD minor units (0: none set)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.domain.manufacturer import Manufacturer
from ledger.domain.manufacturer_settings import refund_approvals_needed
from ledger.domain.per_currency import LEGACY_CURRENCY, upcast
from tests.conftest import Api, ManualClock
from tests.unit.application.test_payout_workflows import (
    Rail,
    hours,
    install,
    payout,
    requested_payouts,
    settings,
)


def _old_event(event_class: Any, aggregate: Any | None, **fields: Any) -> Any:
    """An event as an earlier release stored it (no __init__, just its state)."""
    event = object.__new__(event_class)
    object.__setattr__(
        event,
        "__dict__",
        {
            "originator_id": aggregate.id if aggregate is not None else fields.pop("id"),
            "originator_version": aggregate.version + 1 if aggregate is not None else 1,
            "timestamp": datetime(2026, 3, 1, tzinfo=UTC),
            **fields,
        },
    )
    return event


def refund(api: Api, auth: dict[str, str], payment: dict[str, Any], amount: int) -> Any:
    response = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": amount}, auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_refund_thresholds_are_per_currency(api: Api, admin: dict[str, str]) -> None:
    """The issue's case: with one bare number, JPY 2,000 needed two approvals while USD 19.99
    needed none. Now each currency has its own threshold."""
    m = api.manufacturer(admin, fee_bps=0)
    policy = {
        "refund_approval_threshold": {"USD": 1000, "JPY": 10_000},
        "refund_approvals_required": 2,
    }
    assert api.patch(f"/v1/manufacturers/{m}/settings", policy, admin).status_code == 200
    usd = api.payment(admin, [(m, 5000)])
    jpy = api.payment(admin, [(m, 50_000)], currency="JPY")
    bhd = api.payment(admin, [(m, 5000)], currency="BHD")
    assert refund(api, admin, usd, 1999)["approvals_required"] == 2  # USD 19.99: above 10.00
    assert refund(api, admin, usd, 999)["approvals_required"] == 0
    assert refund(api, admin, jpy, 2000)["approvals_required"] == 0  # JPY 2,000: below 10,000
    assert refund(api, admin, jpy, 10_000)["approvals_required"] == 2
    # No BHD threshold set: every BHD refund needs the approvals.
    assert refund(api, admin, bhd, 1)["approvals_required"] == 2


def test_payout_thresholds_are_per_currency(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"JPY": 100_000}, payout_approvals_required=1
    )
    shown = api.get_json(f"/v1/manufacturers/{m}", admin)
    assert shown["payout_approval_threshold"] == {"JPY": 100_000}
    api.payment(admin, [(m, 200_000)], currency="JPY")
    api.payment(admin, [(m, 5000)])

    def payout_of(amount: int, currency: str) -> Any:
        body = {"manufacturer_id": m, "amount": amount, "currency": currency}
        response = api.post("/v1/payouts", body, admin)
        assert response.status_code == 201, response.text
        return response.json()

    assert payout_of(99_999, "JPY")["status"] != "pending_approval"
    assert payout_of(100_000, "JPY")["status"] == "pending_approval"
    assert payout_of(1, "USD")["status"] == "pending_approval"  # no USD threshold


@pytest.mark.parametrize(
    "bad",
    [500, "500", {"usd": 500}, {"USD": -1}, {"USD": 1.5}, {"USD": "5"}, {"XTS": 5}, {"ZZZ": 1}],
)
def test_bare_numbers_and_bad_maps_are_422(api: Api, admin: dict[str, str], bad: Any) -> None:
    m = api.manufacturer(admin)
    before = api.get_json(f"/v1/manufacturers/{m}", admin)
    for path, field in (
        ("", "payout_approval_threshold"),
        ("/settings", "refund_approval_threshold"),
        ("/settings", "payout_minimum"),
    ):
        response = api.patch(f"/v1/manufacturers/{m}{path}", {field: bad}, admin)
        assert response.status_code == 422, (field, bad, response.text)
    created = api.post(
        "/v1/manufacturers", {"name": "X", "fee_bps": 1, "payout_approval_threshold": bad}, admin
    )
    assert created.status_code == 422
    assert api.get_json(f"/v1/manufacturers/{m}", admin) == before


def test_payout_minimums_are_per_currency(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(admin, fee_bps=0)
    settings(api, admin, m, payout_interval="daily", payout_minimum={"USD": 500, "JPY": 50_000})
    api.payment(admin, [(m, 400)])  # below the USD minimum
    api.payment(admin, [(m, 60_000)], currency="JPY")  # above the JPY minimum
    api.payment(admin, [(m, 3)], currency="BHD")  # no BHD minimum
    api.settle()
    hours(api, clock, 1)
    paid = sorted(
        (p["currency"], p["amount"])
        for p in (payout(api, admin, i) for i in requested_payouts(api, m))
    )
    assert paid == [("BHD", 3), ("JPY", 60_000)]
    assert len(rail.paid) == 2


def test_bare_numbers_in_stored_events_are_read_as_usd() -> None:
    """Registered, TermsChanged and SettingsChanged as an earlier release stored them."""
    current = Manufacturer.register(name="A", fee_bps=0, refund_fee_policy="keep_fee")
    registered = _old_event(
        Manufacturer.Registered,
        None,
        id=current.id,
        originator_topic="ledger.domain.manufacturer:Manufacturer",
        name="A",
        fee_bps=100,
        refund_fee_policy="keep_fee",
        payout_approval_threshold=1000,
        payout_approvals_required=2,
    )
    manufacturer = registered.mutate(None)
    assert manufacturer.payout_approval_threshold == {LEGACY_CURRENCY: 1000}
    assert manufacturer.approvals_needed_for(999, "USD") == 0
    assert manufacturer.approvals_needed_for(1000, "USD") == 2
    assert manufacturer.approvals_needed_for(1, "JPY") == 2  # never fewer approvals than before

    changed = _old_event(
        Manufacturer.TermsChanged,
        manufacturer,
        name="A",
        fee_bps=100,
        refund_fee_policy="keep_fee",
        payout_approval_threshold=0,
        payout_approvals_required=1,
    )
    manufacturer = changed.mutate(manufacturer)
    assert manufacturer.payout_approval_threshold == {}
    assert manufacturer.approvals_needed_for(1, "USD") == 1  # 0 meant every payout, as now

    old_settings = {**manufacturer.settings, "payout_minimum": 700, "refund_approval_threshold": 0}
    old_settings["refund_approvals_required"] = 1
    settings_changed = _old_event(Manufacturer.SettingsChanged, manufacturer, settings=old_settings)
    manufacturer = settings_changed.mutate(manufacturer)
    assert manufacturer.settings["payout_minimum"] == {"USD": 700}
    assert manufacturer.settings["refund_approval_threshold"] == {}
    assert refund_approvals_needed(manufacturer.settings, 1, "USD") == 1
    # Later changes start from the upcast values and keep them valid.
    manufacturer.change_settings({"payout_interval": "daily"})
    assert manufacturer.settings["payout_minimum"] == {"USD": 700}


def test_upcast_reads_only_what_it_should() -> None:
    assert upcast(0) == {}
    assert upcast(250) == {"USD": 250}
    assert upcast({"JPY": 5}) == {"JPY": 5}
    assert upcast(None) == {}

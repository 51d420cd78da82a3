"""Payout workflows: execution on the manufacturer's rail, expiry of stale approvals and
automatic (scheduled) payouts, all driven by settle() and the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.adapters.sandbox import SandboxProvider
from ledger.application.commands import payouts as payout_commands
from ledger.application.ports import PayoutRequest, ProviderResult, ProviderUnavailable
from ledger.application.principal import SYSTEM
from ledger.application.processes.payout_sweep import EXPIRY, SCHEDULER
from ledger.domain import ids
from tests.conftest import Api, ManualClock
from tests.support.events import recorded_events


class LostAnswerRail:
    """Pays, then the answer is lost once (a timeout after the money left)."""

    def __init__(self) -> None:
        self.calls: list[PayoutRequest] = []

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        self.calls.append(request)
        if len(self.calls) == 1:
            raise ProviderUnavailable("timed out after sending")
        return SandboxProvider().pay_out(request)


class Rail:
    """A payout rail that refuses (status "failed") or is unavailable while told to be."""

    def __init__(self, *, refuse: str | None = None, unavailable: int = 0) -> None:
        self.refuse = refuse
        self.unavailable = unavailable
        self.paid: list[PayoutRequest] = []

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        self.paid.append(request)
        if self.unavailable > 0:
            self.unavailable -= 1
            raise ProviderUnavailable("the bank did not answer")
        if self.refuse is not None:
            return ProviderResult(status="failed", reference="", failure_reason=self.refuse)
        return SandboxProvider().pay_out(request)


def install(api: Api, rail: Rail) -> Rail:
    api.container.rails["sandbox"] = rail
    return rail


def settings(api: Api, admin: dict[str, str], manufacturer_id: str, **changes: Any) -> None:
    response = api.patch(f"/v1/manufacturers/{manufacturer_id}/settings", changes, admin)
    assert response.status_code == 200, response.text
    for name, value in changes.items():
        assert response.json()["settings"][name] == value


def request_payout(api: Api, auth: dict[str, str], manufacturer_id: str, amount: int) -> Any:
    return api.post(
        "/v1/payouts",
        {"manufacturer_id": manufacturer_id, "amount": amount, "currency": "USD"},
        auth,
    )


def payout(api: Api, admin: dict[str, str], payout_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get_json(f"/v1/payouts/{payout_id}", admin)
    return body


def requested_payouts(api: Api, manufacturer_id: str) -> list[str]:
    """Every payout requested for the manufacturer, oldest first (from the event log)."""
    return [
        ids.encode("payout", event.originator_id)
        for event in recorded_events(api.container.engine, "Payout.Requested")
        if event.manufacturer_id == manufacturer_id
    ]


def hours(api: Api, clock: ManualClock, count: int) -> None:
    """Let the embedded runtime run for count hours, settling as a server would (each hour)."""
    for _ in range(count):
        clock.advance(hours=1)
        api.settle()


# ----- execution ------------------------------------------------------------------------------
def test_an_approved_payout_is_paid_by_settle(api: Api, admin: dict[str, str]) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 600).json()
    assert requested["status"] == "approved"
    api.settle()
    assert [r.payout_id for r in rail.paid] == [requested["id"]]
    assert rail.paid[0].idempotency_key == requested["id"]
    assert rail.paid[0].amount == 600
    paid = payout(api, admin, requested["id"])
    assert paid["status"] == "paid"
    assert paid["provider_reference"].startswith("sbx_po_")
    assert api.payable(admin, m) == -400
    assert api.balance(admin, "platform:cash") == -600
    api.settle()
    assert len(rail.paid) == 1  # paid once
    # Nothing is reserved any more: the other 400 can be paid.
    assert request_payout(api, admin, m, 400).status_code == 201
    assert request_payout(api, admin, m, 1).status_code == 409


def test_a_refusing_rail_fails_the_payout_and_releases_its_reservation(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail(refuse="account_closed"))
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    assert request_payout(api, admin, m, 1).status_code == 409  # all reserved
    api.settle()
    failed = payout(api, admin, requested["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "account_closed"
    assert api.payable(admin, m) == -1000  # nothing left
    assert not api.posted_to(admin, "platform:cash")  # no money ever left
    clock.advance(hours=1)
    api.settle()
    assert len(rail.paid) == 1  # a refusal is never retried
    rail.refuse = None
    again = request_payout(api, admin, m, 1000)  # the reservation was released
    assert again.status_code == 201
    api.settle()
    assert payout(api, admin, again.json()["id"])["status"] == "paid"


def test_an_unavailable_rail_is_retried(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail(unavailable=1))
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 500).json()
    api.settle()
    assert len(rail.paid) == 1
    assert (
        payout(api, admin, requested["id"])["status"] == "executing"
    )  # started on its rail: no longer rejectable
    clock.advance(seconds=2)
    api.settle()
    assert len(rail.paid) == 2
    assert {r.idempotency_key for r in rail.paid} == {requested["id"]}
    assert payout(api, admin, requested["id"])["status"] == "paid"


def test_a_balance_lowered_since_the_request_fails_the_payout(
    api: Api, admin: dict[str, str]
) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    # A refund booked before the payout ran leaves less than the payout reserved.
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 300}, admin)
    assert refund.status_code == 201
    api.settle()
    failed = payout(api, admin, requested["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "insufficient_balance"
    assert rail.paid == []  # no money left
    assert api.payable(admin, m) == -700
    assert request_payout(api, admin, m, 700).status_code == 201


def test_a_payout_needing_approval_is_paid_once_approved(api: Api, admin: dict[str, str]) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"USD": 100}, payout_approvals_required=1
    )
    api.payment(admin, [(m, 1000)])
    requester = api.key("payments:write")
    requested = request_payout(api, requester, m, 500).json()
    assert requested["status"] == "pending_approval"
    api.settle()
    assert rail.paid == []
    approved = api.post(f"/v1/payouts/{requested['id']}/approve", None, api.key("payouts:approve"))
    assert approved.json()["status"] == "approved"
    api.settle()
    assert [r.payout_id for r in rail.paid] == [requested["id"]]
    assert payout(api, admin, requested["id"])["status"] == "paid"


# Regression (issue-4 review): a payout is marked executing before its rail is called, so it
# can no longer be rejected while the money may be leaving.
def test_a_payout_being_paid_can_no_longer_be_rejected(api: Api, admin: dict[str, str]) -> None:
    rail = LostAnswerRail()
    api.container.rails["sandbox"] = rail
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    api.settle()  # the rail was called; its answer was lost
    assert payout(api, admin, requested["id"])["status"] == "executing"
    approver = api.key("payouts:approve")
    refused = api.post(f"/v1/payouts/{requested['id']}/reject", {"reason": "stop"}, approver)
    assert refused.status_code == 409
    # ... so the reservation still holds the money: nothing else can be paid from it.
    assert request_payout(api, admin, m, 1).status_code == 409


# Regression (issue-4 review): a redelivered payout finishes on the rail it started on; it does
# not check the balance again and fail after the money has left.
def test_a_redelivered_payout_finishes_on_its_rail_instead_of_deciding_again(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = LostAnswerRail()
    api.container.rails["sandbox"] = rail
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    api.settle()
    # A refund lands while the payout's answer is outstanding: the money has left already.
    assert (
        api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 500}, admin).status_code == 201
    )
    clock.advance(minutes=10)
    api.settle()
    done = payout(api, admin, requested["id"])
    assert done["status"] == "paid"  # not "failed: insufficient_balance"
    assert {call.idempotency_key for call in rail.calls} == {requested["id"]}
    assert api.payable(admin, m) == 500  # owed back by the manufacturer: 1000 - 500 - 1000


# Regression (issue-4 review): an approved payout rejected before its execution starts is never
# paid, and its reservation is released.
def test_an_approved_payout_rejected_before_it_starts_is_never_paid(
    api: Api, admin: dict[str, str]
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, admin, m, 1000).json()
    service = api.container.engine
    service.execute(payout_commands.reject(SYSTEM, requested["id"], "changed our mind"))
    api.settle()
    assert payout(api, admin, requested["id"])["status"] == "rejected"
    assert api.payable(admin, m) == -1000


# ----- approval expiry ------------------------------------------------------------------------
def expiring(api: Api, admin: dict[str, str]) -> tuple[str, dict[str, Any]]:
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"USD": 100}, payout_approvals_required=1
    )
    settings(api, admin, m, payout_approval_expiry_hours=24)
    api.payment(admin, [(m, 1000)])
    requested = request_payout(api, api.key("payments:write"), m, 800).json()
    assert requested["status"] == "pending_approval"
    assert requested["approval_expires_at"] == "2026-03-11T12:00:00+00:00"
    return m, requested


def test_a_payout_not_approved_in_time_is_rejected_by_the_hourly_sweep(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail())
    m, requested = expiring(api, admin)
    api.settle()  # the scheduler's first tick arms the hourly sweep
    hours(api, clock, 23)
    assert payout(api, admin, requested["id"])["status"] == "pending_approval"  # 11:00 next day
    hours(api, clock, 1)  # the 12:00 sweep: the window has just closed
    rejected = payout(api, admin, requested["id"])
    assert rejected["status"] == "rejected"
    assert rejected["rejection"]["by"] == EXPIRY == "system:approval-expiry"
    assert rejected["rejection"]["reason"] == "the approval window expired"
    assert rail.paid == []
    # The reservation is released: the whole balance can be paid out.
    assert request_payout(api, admin, m, 1000).status_code == 201
    # Approving it now is refused.
    late = api.post(f"/v1/payouts/{requested['id']}/approve", None, api.key("payouts:approve"))
    assert late.status_code == 409


def test_expiry_after_the_server_was_down_for_a_day(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m, requested = expiring(api, admin)
    api.settle()  # arms the hourly sweep (next: 13:00)
    clock.advance(hours=25)  # nothing ran meanwhile; now 13:00 the next day
    api.settle()  # the sweep fires once for what it missed, as of now
    rejected = payout(api, admin, requested["id"])
    assert rejected["status"] == "rejected"
    assert rejected["rejection"]["by"] == EXPIRY
    assert request_payout(api, admin, m, 1000).status_code == 201


def test_approval_after_the_window_is_refused_even_before_the_sweep(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    _, requested = expiring(api, admin)
    clock.advance(hours=24)
    late = api.post(f"/v1/payouts/{requested['id']}/approve", None, api.key("payouts:approve"))
    assert late.status_code == 409
    assert payout(api, admin, requested["id"])["status"] == "pending_approval"


def test_a_payout_approved_in_time_does_not_expire(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail())
    _, requested = expiring(api, admin)
    api.settle()
    clock.advance(hours=23)
    approved = api.post(f"/v1/payouts/{requested['id']}/approve", None, api.key("payouts:approve"))
    assert approved.json()["status"] == "approved"
    api.settle()
    hours(api, clock, 3)
    assert payout(api, admin, requested["id"])["status"] == "paid"
    assert len(rail.paid) == 1


# ----- automatic payouts ----------------------------------------------------------------------
def test_daily_automatic_payouts(api: Api, admin: dict[str, str], clock: ManualClock) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(admin, fee_bps=0)
    settings(api, admin, m, payout_interval="daily", payout_minimum={"USD": 500})
    api.payment(admin, [(m, 700)])
    api.payment(admin, [(m, 300)])
    api.settle()  # arms the sweep (13:00)
    assert requested_payouts(api, m) == []

    hours(api, clock, 1)  # 13:00: the first sweep pays the available balance
    (first,) = requested_payouts(api, m)
    paid = payout(api, admin, first)
    assert paid["amount"] == 1000
    assert paid["status"] == "paid"
    assert paid["requested_by"] == SCHEDULER.key_id
    assert api.payable(admin, m) == 0
    assert [r.amount for r in rail.paid] == [1000]

    api.payment(admin, [(m, 600)])
    hours(api, clock, 10)  # later sweeps the same day pay nothing more
    assert requested_payouts(api, m) == [first]
    assert api.payable(admin, m) == -600

    hours(api, clock, 2)  # past midnight: 2026-03-11 00:00 and 01:00
    payouts = requested_payouts(api, m)
    assert len(payouts) == 2
    second = payout(api, admin, payouts[1])
    assert second["amount"] == 600
    assert second["status"] == "paid"
    assert datetime.fromisoformat(second["created_at"]) >= datetime(2026, 3, 11, tzinfo=UTC)
    assert api.payable(admin, m) == 0
    assert [r.amount for r in rail.paid] == [1000, 600]


def test_below_the_minimum_nothing_is_requested_until_it_is_reached(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    rail = install(api, Rail())
    m = api.manufacturer(admin, fee_bps=0)
    settings(api, admin, m, payout_interval="daily", payout_minimum={"USD": 500})
    api.payment(admin, [(m, 499)])
    api.settle()
    hours(api, clock, 3)
    assert requested_payouts(api, m) == []
    assert rail.paid == []
    api.payment(admin, [(m, 1)])  # now exactly the minimum, the same day
    hours(api, clock, 1)
    (only,) = requested_payouts(api, m)
    assert payout(api, admin, only)["amount"] == 500
    assert payout(api, admin, only)["status"] == "paid"


def test_manual_interval_never_pays_automatically(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    m = api.manufacturer(admin, fee_bps=0)
    settings(api, admin, m, payout_interval="daily")
    settings(api, admin, m, payout_interval="manual")
    api.payment(admin, [(m, 1000)])
    api.settle()
    hours(api, clock, 26)
    assert requested_payouts(api, m) == []
    assert api.payable(admin, m) == -1000


def test_automatic_payouts_leave_reserved_amounts_alone(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    install(api, Rail())
    m = api.manufacturer(
        admin, fee_bps=0, payout_approval_threshold={"USD": 300}, payout_approvals_required=1
    )
    api.payment(admin, [(m, 1000)])
    waiting = request_payout(api, api.key("payments:write"), m, 400).json()
    assert waiting["status"] == "pending_approval"
    settings(api, admin, m, payout_interval="daily")
    api.settle()
    hours(api, clock, 1)
    automatic = [p for p in requested_payouts(api, m) if p != waiting["id"]]
    assert len(automatic) == 1
    # 600 available; at or above the approval threshold, so it waits for approval too.
    assert payout(api, admin, automatic[0])["amount"] == 600
    assert payout(api, admin, automatic[0])["status"] == "pending_approval"

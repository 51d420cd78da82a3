"""Refund approvals: a manufacturer's policy makes large refunds wait for distinct approvers
before the refund workflow executes them; a rejection reverses the booking."""

from __future__ import annotations

from typing import Any

from ledger.adapters.sandbox import SandboxProvider
from ledger.application.ports import ProviderResult, RefundRequest
from ledger.domain import ids
from tests.conftest import Api, ManualClock


class CountingSandbox(SandboxProvider):
    def __init__(self) -> None:
        self.refunded: list[str] = []

    def refund(self, request: RefundRequest) -> ProviderResult:
        self.refunded.append(request.refund_id)
        return super().refund(request)


def key(api: Api, *scopes: str, label: str | None = None) -> tuple[dict[str, str], str]:
    """Headers for a new key, and the key's id (what approvals record)."""
    secret, record = api.container.keys.create(list(scopes), label=label)
    return {"Authorization": f"Bearer {secret}"}, ids.encode("api_key", record.id)


def patch_settings(
    api: Api, manufacturer_id: str, body: dict[str, Any], auth: dict[str, str]
) -> Any:
    return api.patch(f"/v1/manufacturers/{manufacturer_id}/settings", body, auth)


def policy(
    api: Api, admin: dict[str, str], manufacturer_id: str, threshold: int, required: int
) -> None:
    response = patch_settings(
        api,
        manufacturer_id,
        {"refund_approval_threshold": {"USD": threshold}, "refund_approvals_required": required},
        admin,
    )
    assert response.status_code == 200, response.text
    settings = response.json()["settings"]
    assert settings["refund_approval_threshold"] == {"USD": threshold}
    assert settings["refund_approvals_required"] == required


def get_refund(api: Api, admin: dict[str, str], refund_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get_json(f"/v1/refunds/{refund_id}", admin)
    return body


def setup(
    api: Api, *, threshold: int = 500, required: int = 2
) -> tuple[dict[str, str], str, Any, CountingSandbox]:
    admin = api.key("admin")
    provider = CountingSandbox()
    api.container.engine.register_provider("sandbox", provider)
    m = api.manufacturer(admin, fee_bps=0)
    policy(api, admin, m, threshold, required)
    payment = api.payment(admin, [(m, 1000)])
    return admin, m, payment, provider


def test_settings_validation_and_scope(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    assert patch_settings(api, m, {"refund_approvals_required": 11}, admin).status_code == 422
    for bad in (-1, "5", 500, {"USD": -1}, {"USD": "5"}, {"usd": 5}, {"XXX": 5}, {"USD": 5.0}):
        changes = {"refund_approval_threshold": bad}
        assert patch_settings(api, m, changes, admin).status_code == 422, bad
    assert patch_settings(api, m, {"no_such_setting": 1}, admin).status_code == 422
    writer = api.key("payments:write")
    assert patch_settings(api, m, {"refund_approvals_required": 1}, writer).status_code == 403
    unknown = patch_settings(api, "mfr_" + "0" * 32, {"refund_approvals_required": 1}, admin)
    assert unknown.status_code == 404
    settings = api.get(f"/v1/manufacturers/{m}", admin).json()["settings"]
    assert settings["refund_approvals_required"] == 0
    assert settings["refund_approval_threshold"] == {}


def test_a_refund_at_the_threshold_waits_for_two_distinct_approvers(
    api: Api, clock: ManualClock
) -> None:
    admin, _, payment, provider = setup(api)
    requester, requester_id = key(api, "payments:write", "payments:read", "refunds:approve")
    first, first_id = key(api, "refunds:approve", "payments:read", label="Ana (finance)")
    second, second_id = key(api, "refunds:approve")
    writer = api.key("payments:write", "payments:read")

    response = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 500}, requester)
    assert response.status_code == 201, response.text
    refund = response.json()
    assert refund["status"] == "pending_approval"
    assert refund["approvals_required"] == 2
    assert refund["approvals"] == []
    assert refund["requested_by"] == requester_id

    # Not executed while it waits, however often the workflows run.
    api.settle()
    clock.advance(hours=2)
    api.settle()
    assert provider.refunded == []
    assert get_refund(api, admin, refund["id"])["status"] == "pending_approval"

    # Its amount is reserved: only the other 500 can still be refunded.
    shown = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert shown["refundable_amount"] == 500
    assert shown["amount_refunded"] == 500
    over = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 501}, admin)
    assert over.status_code == 409
    assert over.json()["type"] == "urn:ledger:problem:exceeds-refundable"

    path = f"/v1/refunds/{refund['id']}/approve"
    lacking = api.post(path, None, writer)
    assert lacking.status_code == 403
    assert lacking.json()["type"] == "urn:ledger:problem:forbidden"
    own = api.post(path, None, requester)
    assert own.status_code == 409
    assert own.json()["type"] == "urn:ledger:problem:self-approval"

    clock.advance(minutes=5)
    one = api.post(path, None, first)
    assert one.status_code == 200, one.text
    assert one.json()["status"] == "pending_approval"
    assert [a["approver"] for a in one.json()["approvals"]] == [first_id]
    twice = api.post(path, None, first)
    assert twice.status_code == 409
    assert twice.json()["type"] == "urn:ledger:problem:duplicate-approval"
    api.settle()
    assert provider.refunded == []  # one approval of two: still waiting

    clock.advance(minutes=5)
    last = api.post(path, None, second)
    assert last.status_code == 200, last.text
    assert last.json()["status"] == "pending"
    assert api.settle() > 0
    assert provider.refunded == [refund["id"]]

    done = get_refund(api, admin, refund["id"])
    assert done["status"] == "succeeded"
    # Each approval records the approving key's label then (issue 11, item 13), if it had one.
    assert done["approvals"] == [
        {
            "approver": first_id,
            "at": "2026-03-10T14:05:00+00:00",
            "approver_label": "Ana (finance)",
        },
        {"approver": second_id, "at": "2026-03-10T14:10:00+00:00", "approver_label": None},
    ]
    late = api.post(path, None, api.key("refunds:approve"))
    assert late.status_code == 409  # nothing left to approve

    history = api.get(f"/v1/payments/{payment['id']}/events", admin).json()
    approvals = [e for e in history if e["type"] == "RefundApproved"]
    assert [(e["data"]["approver"], e["data"]["ready"]) for e in approvals] == [
        (first_id, False),
        (second_id, True),
    ]
    assert [e["data"]["refund_id"] for e in approvals] == [refund["id"]] * 2
    types = [e["type"] for e in history]
    assert types.index("RefundRequested") < types.index("RefundApproved")
    assert types[-1] == "RefundSucceeded"


def test_rejection_reverses_the_booking(api: Api) -> None:
    admin, m, payment, provider = setup(api)
    before = api.payable(admin, m)
    assert before == -1000
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 600}, admin).json()
    assert refund["status"] == "pending_approval"
    assert api.payable(admin, m) == -400  # booked at once

    path = f"/v1/refunds/{refund['id']}/reject"
    writer = api.key("payments:write")
    assert api.post(path, {"reason": "fraud"}, writer).status_code == 403
    approver, approver_id = key(api, "refunds:approve")
    rejected = api.post(path, {"reason": "looks like fraud"}, approver)
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["failure_reason"] == "looks like fraud"

    assert api.payable(admin, m) == before
    shown = api.get(f"/v1/payments/{payment['id']}", admin).json()
    assert shown["refundable_amount"] == 1000
    assert shown["amount_refunded"] == 0
    api.settle()
    assert provider.refunded == []
    assert get_refund(api, admin, refund["id"])["status"] == "rejected"

    assert api.post(path, None, approver).status_code == 409  # already rejected
    approve = api.post(f"/v1/refunds/{refund['id']}/approve", None, api.key("refunds:approve"))
    assert approve.status_code == 409
    history = api.get(f"/v1/payments/{payment['id']}/events", admin).json()
    (event,) = [e for e in history if e["type"] == "RefundRejected"]
    assert event["data"]["by"] == approver_id
    assert event["data"]["reason"] == "looks like fraud"

    # The whole amount can be refunded again.
    again = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 400}, admin)
    assert again.status_code == 201
    assert again.json()["status"] == "pending"  # below the threshold
    trial = api.get("/v1/ledger/trial-balance", admin).json()
    assert all(c["balanced"] for c in trial["currencies"])


def test_below_the_threshold_no_approval_is_needed(api: Api) -> None:
    admin, _, payment, provider = setup(api)
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 499}, admin).json()
    assert refund["status"] == "pending"
    assert refund["approvals_required"] == 0
    api.settle()
    assert provider.refunded == [refund["id"]]
    assert get_refund(api, admin, refund["id"])["status"] == "succeeded"
    approve = api.post(f"/v1/refunds/{refund['id']}/approve", None, api.key("refunds:approve"))
    assert approve.status_code == 409


def test_one_approval_required(api: Api) -> None:
    admin, _, payment, provider = setup(api, threshold=100, required=1)
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 100}, admin).json()
    assert refund["status"] == "pending_approval"
    approved = api.post(f"/v1/refunds/{refund['id']}/approve", None, api.key("refunds:approve"))
    assert approved.json()["status"] == "pending"
    api.settle()
    assert provider.refunded == [refund["id"]]


def test_no_policy_means_no_approvals_at_any_amount(api: Api) -> None:
    admin, _, payment, provider = setup(api, threshold=0, required=0)
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 1000}, admin).json()
    assert refund["status"] == "pending"
    api.settle()
    assert provider.refunded == [refund["id"]]


def test_a_shared_payment_needs_the_strictest_policy_of_its_manufacturers(api: Api) -> None:
    admin = api.key("admin")
    strict = api.manufacturer(admin, fee_bps=0)
    relaxed = api.manufacturer(admin, fee_bps=0)
    policy(api, admin, strict, 300, 2)
    payment = api.payment(admin, [(relaxed, 600), (strict, 400)])
    refund = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 300}, admin).json()
    assert refund["status"] == "pending_approval"
    assert refund["approvals_required"] == 2


def test_a_policy_change_applies_to_later_refunds_only(api: Api) -> None:
    admin, m, payment, provider = setup(api, threshold=500, required=1)
    waiting = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 500}, admin).json()
    policy(api, admin, m, 0, 0)
    assert get_refund(api, admin, waiting["id"])["status"] == "pending_approval"
    later = api.post(f"/v1/payments/{payment['id']}/refunds", {"amount": 500}, admin).json()
    assert later["status"] == "pending"
    api.settle()
    assert provider.refunded == [later["id"]]

"""Events recorded before this release's fields existed still load and project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.domain.payment import Payment
from ledger.domain.payout import Payout
from projections.logic import project


def _old(event_class: Any, aggregate: Any, **fields: Any) -> Any:
    """An event as the previous release stored it, without the fields added since, made the
    way the library's mapper makes a stored event (no __init__, just its state)."""
    event = object.__new__(event_class)
    object.__setattr__(
        event,
        "__dict__",
        {
            "originator_id": aggregate.id,
            "originator_version": aggregate.version + 1,
            "timestamp": datetime(2026, 3, 1, tzinfo=UTC),
            **fields,
        },
    )
    return event


def captured_payment(splits: Any) -> Payment:
    """A payment of 1000 USD over these splits, authorized and captured."""
    payment = Payment.initiate(
        amount=1000,
        currency_code="USD",
        customer_id="c",
        provider="sandbox",
        payment_method="pm",
        capture_method="automatic",
        splits=splits,
        metadata={},
    )
    payment.authorize("ref")
    payment.capture()
    return payment


def test_old_payout_approvals_count_without_ready() -> None:
    payout = Payout.request(
        manufacturer_id="mfr_x",
        amount=100,
        currency_code="USD",
        requested_by="k1",
        approvals_required=2,
    )
    first = _old(Payout.Approved, payout, approver="k2")
    payout = first.mutate(payout)
    assert payout.status == "pending_approval"
    second = _old(Payout.Approved, payout, approver="k3")
    payout = second.mutate(payout)
    assert payout.status == "approved"
    changes = project(second)  # projects too, leaving the status to Payout.Executing
    assert changes
    assert all("status" not in getattr(c, "values", {}) for c in changes)


def test_old_refund_events_load_without_approval_fields() -> None:
    payment = captured_payment(
        [
            {
                "manufacturer_id": "mfr_x",
                "amount": 1000,
                "fee_bps": 0,
                "refund_fee_policy": "keep_fee",
            }
        ]
    )
    refund_id = payment.request_refund(100)
    requested = payment.pending_events[-1]
    fields = {
        k: v
        for k, v in requested.__dict__.items()
        if k
        not in (
            "originator_id",
            "originator_version",
            "timestamp",
            "requested_by",
            "approvals_required",
        )
    }
    payment.collect_events()
    fresh = captured_payment(payment.splits)
    old_request = _old(Payment.RefundRequested, fresh, **fields)
    fresh = old_request.mutate(fresh)
    assert fresh.refunds[refund_id]["status"] == "pending"
    assert project(old_request)  # the projection reads it too
    old_success = _old(
        Payment.RefundSucceeded,
        fresh,
        refund_id=refund_id,
        entry=[],
    )
    fresh = old_success.mutate(fresh)
    assert fresh.refunds[refund_id]["status"] == "succeeded"

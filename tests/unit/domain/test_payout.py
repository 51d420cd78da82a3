from __future__ import annotations

import pytest

from ledger.domain.errors import (
    DuplicateApproval,
    IllegalTransition,
    InsufficientBalance,
    SelfApproval,
)
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payable import ManufacturerPayable, Payables
from ledger.domain.payout import Payout


def test_payout_needs_distinct_approvers_other_than_the_requester() -> None:
    payout = Payout.request(
        manufacturer_id="m",
        amount=500,
        currency_code="USD",
        requested_by="k1",
        approvals_required=2,
    )
    assert payout.status == "pending_approval"
    with pytest.raises(SelfApproval):
        payout.approve("k1")
    payout.approve("k2")
    with pytest.raises(DuplicateApproval):
        payout.approve("k2")
    assert payout.status == "pending_approval"
    payout.approve("k3")
    assert payout.status == "approved"
    with pytest.raises(IllegalTransition):
        payout.mark_paid("ref")  # only once started on a rail
    payout.start("sandbox")
    with pytest.raises(IllegalTransition):
        payout.reject("k2", "too late: the rail may be paying it")
    payout.mark_paid("ref")
    assert payout.status == "paid"
    with pytest.raises(IllegalTransition):
        payout.reject("k2", "late")


def test_payout_below_threshold_needs_no_approval() -> None:
    manufacturer = Manufacturer.register(
        name="A",
        fee_bps=0,
        refund_fee_policy="keep_fee",
        payout_approval_threshold={"USD": 1000, "JPY": 100_000},
        payout_approvals_required=2,
    )
    assert manufacturer.approvals_needed_for(999, "USD") == 0
    assert manufacturer.approvals_needed_for(1000, "USD") == 2
    assert manufacturer.approvals_needed_for(99_999, "JPY") == 0
    assert manufacturer.approvals_needed_for(100_000, "JPY") == 2
    # A currency with no threshold set: every payout above zero needs the approvals.
    assert manufacturer.approvals_needed_for(1, "EUR") == 2
    assert manufacturer.approvals_needed_for(1, "BHD") == 2


def test_payable_reserves_pending_payouts() -> None:
    shard = ManufacturerPayable("m", "USD")
    shard.post("cap", 1000)
    payable = Payables("m", "USD", [shard])
    payable.reserve("po1", 600)
    assert payable.available == 400
    with pytest.raises(InsufficientBalance):
        payable.reserve("po2", 401)
    payable.release("po1")
    assert payable.available == 1000


def test_rejected_payout_cannot_be_paid() -> None:
    payout = Payout.request(
        manufacturer_id="m", amount=5, currency_code="JPY", requested_by="k1", approvals_required=1
    )
    payout.reject("k2", "wrong account")
    assert payout.status == "rejected"
    with pytest.raises(IllegalTransition):
        payout.mark_paid("ref")
    with pytest.raises(IllegalTransition):
        payout.approve("k3")


def test_manufacturer_terms_change_as_events() -> None:
    manufacturer = Manufacturer.register(
        name="A",
        fee_bps=100,
        refund_fee_policy="keep_fee",
        payout_approval_threshold={},
        payout_approvals_required=0,
    )
    manufacturer.change_terms(fee_bps=300)
    assert manufacturer.fee_bps == 300
    assert [type(e).__name__ for e in manufacturer.pending_events] == ["Registered", "TermsChanged"]
    with pytest.raises(Exception, match="fee_bps"):
        manufacturer.change_terms(fee_bps=10_001)

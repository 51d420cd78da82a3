from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from ledger.domain.errors import (
    ExceedsCapturable,
    ExceedsRefundable,
    IllegalTransition,
    InvalidInput,
    SplitsMismatch,
    UnknownCurrency,
)
from ledger.domain.journal import assert_balanced
from ledger.domain.payment import Payment


def split(
    manufacturer: str, amount: int, bps: int = 250, policy: str = "refund_fee"
) -> dict[str, Any]:
    return {
        "manufacturer_id": manufacturer,
        "amount": amount,
        "fee_bps": bps,
        "refund_fee_policy": policy,
    }


def new_payment(*splits: dict[str, Any], capture: str = "manual", currency: str = "USD") -> Payment:
    payment = Payment.initiate(
        amount=sum(s["amount"] for s in splits),
        currency_code=currency,
        customer_id="cus_1",
        provider="sandbox",
        payment_method="pm_tok",
        capture_method=capture,
        splits=list(splits),
        metadata={},
    )
    payment.authorize("auth_1")
    return payment


def balances(payment: Payment) -> dict[str, int]:
    """Sum of postings per account over every event the payment raised."""
    totals: dict[str, int] = defaultdict(int)
    for event in payment.pending_events:
        for posting in getattr(event, "entry", None) or []:
            totals[posting["account"]] += posting["amount"]
    return dict(totals)


def test_capture_credits_each_manufacturer_split_minus_fee() -> None:
    payment = new_payment(split("a", 6000, 250), split("b", 4000, 100))
    payment.capture()
    b = balances(payment)
    assert b["manufacturer:a:payable"] == -(6000 - 150)
    assert b["manufacturer:b:payable"] == -(4000 - 40)
    assert b["platform:revenue:fees"] == -190
    assert b["provider:sandbox:receivable"] == 10_000
    assert sum(b.values()) == 0


def test_partial_capture_allocates_by_largest_remainder() -> None:
    payment = new_payment(split("a", 333), split("b", 333), split("c", 334))
    payment.capture(100)
    assert [s["amount"] for s in payment.captured_shares] == [33, 33, 34]
    assert payment.amount_captured == 100
    assert payment.status == "captured"


def test_capture_only_once_and_never_above_authorized() -> None:
    payment = new_payment(split("a", 100))
    with pytest.raises(ExceedsCapturable):
        payment.capture(101)
    payment.capture(50)
    with pytest.raises(IllegalTransition):
        payment.capture(10)


def test_void_then_capture_is_illegal() -> None:
    payment = new_payment(split("a", 100))
    payment.void()
    assert payment.status == "voided"
    with pytest.raises(IllegalTransition):
        payment.capture()
    with pytest.raises(IllegalTransition):
        payment.request_refund(1)


def test_refund_under_refund_fee_returns_the_fee_on_the_share() -> None:
    payment = new_payment(split("a", 10_000, 250, "refund_fee"))
    payment.capture()
    refund_id = payment.request_refund(2500)
    b = balances(payment)
    # manufacturer debited 2500 - 62 (fee on 2500 = 62.5 -> 62), platform returns 62
    assert b["manufacturer:a:payable"] == -(10_000 - 250) + (2500 - 62)
    assert b["platform:revenue:fees"] == -250 + 62
    assert b["provider:sandbox:refunds_pending"] == -2500
    payment.complete_refund(refund_id)
    b = balances(payment)
    assert b["provider:sandbox:refunds_pending"] == 0
    assert b["provider:sandbox:receivable"] == 10_000 - 2500
    assert payment.refunds[refund_id]["status"] == "succeeded"


def test_refund_under_keep_fee_debits_the_whole_share() -> None:
    payment = new_payment(split("a", 10_000, 250, "keep_fee"))
    payment.capture()
    payment.request_refund(2500)
    b = balances(payment)
    assert b["manufacturer:a:payable"] == -(10_000 - 250) + 2500
    assert b["platform:revenue:fees"] == -250


def test_full_refund_in_pieces_returns_exactly_the_fee_taken() -> None:
    # 10 at 25% -> fee 2 (2.5 to even); refunds of 3, 3, 4 would round to 1+1+1 = 3 > 2.
    payment = new_payment(split("a", 10, 2500, "refund_fee"))
    payment.capture()
    for amount in (3, 3, 4):
        payment.complete_refund(payment.request_refund(amount))
    b = balances(payment)
    assert b["platform:revenue:fees"] == 0
    assert b["manufacturer:a:payable"] == 0


def test_refunds_never_exceed_captured_minus_refunded() -> None:
    payment = new_payment(split("a", 1000))
    payment.capture(600)
    payment.request_refund(400)
    with pytest.raises(ExceedsRefundable):
        payment.request_refund(201)
    payment.request_refund(200)
    assert payment.refundable == 0


def test_failed_refund_releases_its_reservation_and_reverses_the_booking() -> None:
    payment = new_payment(split("a", 1000))
    payment.capture()
    refund_id = payment.request_refund(400)
    assert payment.refundable == 600
    payment.fail_refund(refund_id, "card closed")
    assert payment.refundable == 1000
    assert payment.amount_refunded == 0
    b = balances(payment)
    assert b["manufacturer:a:payable"] == -(1000 - 25)
    assert b["provider:sandbox:refunds_pending"] == 0
    with pytest.raises(IllegalTransition):
        payment.complete_refund(refund_id)


def test_refund_allocation_across_splits_uses_split_proportions() -> None:
    payment = new_payment(split("a", 333, 250), split("b", 667, 250, "keep_fee"))
    payment.capture()
    refund_id = payment.request_refund(100)
    shares = payment.refunds[refund_id]["shares"]
    assert [s["amount"] for s in shares] == [33, 67]
    assert [s["fee_returned"] for s in shares] == [1, 0]  # 0.825 -> 1; keep_fee returns none


def test_lost_dispute_is_booked_like_a_refund_and_won_moves_nothing() -> None:
    payment = new_payment(split("a", 10_000, 250, "refund_fee"))
    payment.capture()
    won = payment.open_dispute(3000)
    assert payment.refundable == 7000
    before = balances(payment)
    payment.close_dispute(won, "won")
    after = balances(payment)
    assert after["provider:sandbox:disputed"] == 0
    assert after["provider:sandbox:receivable"] == 10_000
    assert before["provider:sandbox:disputed"] == 3000
    lost = payment.open_dispute(2000)
    payment.close_dispute(lost, "lost")
    b = balances(payment)
    assert b["manufacturer:a:payable"] == -(10_000 - 250) + (2000 - 50)
    assert b["platform:revenue:fees"] == -250 + 50
    assert b["provider:sandbox:receivable"] == 8000
    assert b["provider:sandbox:disputed"] == 0
    assert payment.amount_dispute_lost == 2000
    with pytest.raises(IllegalTransition):
        payment.close_dispute(lost, "won")


def test_every_entry_balances() -> None:
    payment = new_payment(split("a", 701, 333), split("b", 299, 17, "keep_fee"))
    payment.capture(999)
    payment.complete_refund(payment.request_refund(123))
    payment.close_dispute(payment.open_dispute(77), "lost")
    for event in payment.pending_events:
        assert_balanced(getattr(event, "entry", None) or [])


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount": 0}, InvalidInput),
        ({"amount": 10.0}, InvalidInput),
        ({"currency_code": "ABC"}, UnknownCurrency),
        ({"splits": []}, SplitsMismatch),
        ({"splits": [split("a", 50), split("b", 40)]}, SplitsMismatch),
        ({"splits": [split("a", 50), split("a", 50)]}, SplitsMismatch),
        ({"capture_method": "later"}, InvalidInput),
        ({"provider": "Bad Provider"}, InvalidInput),
        ({"customer_id": " "}, InvalidInput),
    ],
)
def test_initiate_refuses_bad_input(changes: dict[str, Any], error: type[Exception]) -> None:
    fields: dict[str, Any] = {
        "amount": 100,
        "currency_code": "USD",
        "customer_id": "c",
        "provider": "sandbox",
        "payment_method": "pm",
        "capture_method": "manual",
        "splits": [split("a", 100)],
        "metadata": {},
        **changes,
    }
    with pytest.raises(error):
        Payment.initiate(**fields)


def test_reversals_never_take_more_from_a_split_than_it_was_captured_for() -> None:
    payment = new_payment(split("a", 1), split("b", 2))
    payment.capture()
    shares = [payment.refunds[payment.request_refund(1)]["shares"] for _ in range(3)]
    assert [[s["amount"] for s in refund] for refund in shares] == [[0, 1], [0, 1], [1, 0]]
    b = balances(payment)
    assert b.get("manufacturer:a:payable", 0) == 0
    assert b.get("manufacturer:b:payable", 0) == 0


def test_partial_capture_then_refunds_stay_within_each_share() -> None:
    payment = new_payment(split("a", 1), split("b", 2))
    payment.capture(2)
    assert [s["amount"] for s in payment.captured_shares] == [1, 1]
    first = payment.refunds[payment.request_refund(1)]["shares"]
    second = payment.refunds[payment.request_refund(1)]["shares"]
    assert [s["amount"] for s in first] == [0, 1]
    assert [s["amount"] for s in second] == [1, 0]

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import InvalidAmount, UnknownCurrency
from ledger.domain.money import allocate, currency, fee_for, require_amount


@pytest.mark.parametrize(("code", "exponent"), [("USD", 2), ("JPY", 0), ("BHD", 3), ("EUR", 2)])
def test_currency_exponents_come_from_iso_4217(code: str, exponent: int) -> None:
    assert currency(code).exponent == exponent


@pytest.mark.parametrize("code", ["usd", "XYZ", "US", "USDD", "XAU", "XTS", "", "12A"])
def test_unknown_or_non_tender_currencies_are_refused(code: str) -> None:
    with pytest.raises(UnknownCurrency):
        currency(code)


@pytest.mark.parametrize("value", [1.0, 10.5, True, "100", None, -1, 0])
def test_amounts_must_be_positive_integers(value: object) -> None:
    with pytest.raises(InvalidAmount):
        require_amount(value)


def test_zero_is_allowed_only_when_asked() -> None:
    assert require_amount(0, allow_zero=True) == 0


@pytest.mark.parametrize(
    ("amount", "bps", "fee"),
    [
        (10_000, 250, 250),
        (333, 250, 8),  # 8.325 -> 8
        (2500, 250, 62),  # 62.5 -> 62 (even)
        (2700, 250, 68),  # 67.5 -> 68 (even)
        (20, 2500, 5),
        (2, 2500, 0),  # 0.5 -> 0 (even)
        (6, 2500, 2),  # 1.5 -> 2 (even)
        (1, 10_000, 1),
        (12345, 0, 0),
    ],
)
def test_fee_rounds_half_to_even(amount: int, bps: int, fee: int) -> None:
    assert fee_for(amount, bps) == fee


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # tie -> earliest
        (100, [333, 667], [33, 67]),
        (1, [1, 1], [1, 0]),
        (10, [1, 2, 3, 4], [1, 2, 3, 4]),
        (7, [3000, 3000, 4000], [2, 2, 3]),  # remainders .1 .1 .8 -> last gets one
        (0, [5, 5], [0, 0]),
    ],
)
def test_allocate_largest_remainder(total: int, weights: list[int], parts: list[int]) -> None:
    assert allocate(total, weights) == parts


@given(
    total=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=20),
)
def test_allocation_sums_exactly_and_stays_within_one_unit(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact_floor = total * weight // weight_sum
        assert exact_floor <= part <= exact_floor + 1


@given(amount=st.integers(min_value=0, max_value=10**12), bps=st.integers(0, 10_000))
def test_fee_is_within_half_a_unit_of_the_exact_value(amount: int, bps: int) -> None:
    fee = fee_for(amount, bps)
    # |fee - amount*bps/10000| <= 1/2, in integers
    assert abs(fee * 10_000 - amount * bps) * 2 <= 10_000

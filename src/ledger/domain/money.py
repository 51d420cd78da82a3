"""Money as integer minor units of an ISO 4217 currency, and the two rounding rules we use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import iso4217

from ledger.domain.errors import InvalidAmount, UnknownCurrency

# ISO 4217 codes that are not money a marketplace can take (funds codes, metals, test code).
_NON_TENDER = frozenset(
    {"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX"}
)


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    exponent: int


@cache
def currency(code: str) -> Currency:
    """Look up an ISO 4217 currency by its alphabetic code; unknown codes are refused."""
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha() or not code.isupper():
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code")
    if code in _NON_TENDER:
        raise UnknownCurrency(f"'{code}' is not a currency payments can be made in")
    try:
        found = iso4217.Currency(code)
    except ValueError:
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code") from None
    if found.exponent is None:
        raise UnknownCurrency(f"'{code}' has no minor unit in ISO 4217")
    return Currency(code=code, exponent=int(found.exponent))


def require_amount(amount: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Amounts are plain integers of minor units: bools, floats and strings are refused."""
    if type(amount) is not int:
        raise InvalidAmount(f"{field} must be an integer number of minor units")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(f"{field} must be {'zero or ' if allow_zero else ''}positive")
    return amount


def fee_for(amount: int, fee_bps: int) -> int:
    """amount x fee_bps / 10000, rounded half-to-even to the minor unit, in integers only."""
    quotient, remainder = divmod(amount * fee_bps, 10_000)
    twice = 2 * remainder
    if twice > 10_000 or (twice == 10_000 and quotient % 2 == 1):
        quotient += 1
    return quotient


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split total in proportion to weights by the largest-remainder method.

    Parts always sum to total. Ties in remainder go to the earlier weight.
    """
    weight_sum = sum(weights)
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise InvalidAmount("allocation weights must be non-negative and not all zero")
    parts = []
    remainders = []
    for index, weight in enumerate(weights):
        part, remainder = divmod(total * weight, weight_sum)
        parts.append(part)
        remainders.append((-remainder, index))
    leftover = total - sum(parts)
    for _, index in sorted(remainders)[:leftover]:
        parts[index] += 1
    return parts

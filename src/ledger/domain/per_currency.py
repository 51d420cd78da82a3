"""Amounts set per currency: approval thresholds and payout minimums, as a map from ISO 4217
code to minor units ({"USD": 50000, "JPY": 50000}). A bare number would mean ten times more
money in BHD than in USD and a hundred times less in JPY, so thresholds are never currency-blind.

A currency with no threshold set needs approval for everything above zero (when approvals are
required at all); a currency with no payout minimum has none.

Stored events from before per-currency amounts hold bare numbers: they are read as amounts in
LEGACY_CURRENCY (USD, the currency every earlier deployment set them in), and 0 as nothing set
(which had the same effect). So USD keeps the behaviour it had, and any other currency now
needs approval for every amount until a threshold is set for it: never fewer approvals."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.domain.errors import InvalidInput
from ledger.domain.money import currency, require_amount
from ledger.domain.splits import MAX_AMOUNT

PerCurrency = dict[str, int]
LEGACY_CURRENCY = "USD"
MAX_CURRENCIES = 200


def per_currency(value: object, field: str) -> PerCurrency:
    """A validated map of currency codes to amounts (zero or more minor units)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(f'{field} must map currency codes to minor units, e.g. {{"USD": 50000}}')
    if len(value) > MAX_CURRENCIES:
        raise InvalidInput(f"{field} may name at most {MAX_CURRENCIES} currencies")
    result: PerCurrency = {}
    for code, amount in value.items():
        currency(code)
        require_amount(amount, field=f"{field}.{code}", allow_zero=True)
        if amount > MAX_AMOUNT:
            raise InvalidInput(f"{field}.{code} must be at most {MAX_AMOUNT}")
        result[code] = amount
    return dict(sorted(result.items()))


def upcast(value: object) -> PerCurrency:
    """What a stored value means now: a map as it is; a bare number from before per-currency
    amounts as LEGACY_CURRENCY minor units (0: nothing set)."""
    if isinstance(value, Mapping):
        return dict(value)
    if type(value) is int and value > 0:
        return {LEGACY_CURRENCY: value}
    return {}


def reaches_threshold(thresholds: Mapping[str, int], currency_code: str, amount: int) -> bool:
    """amount is at or above currency_code's threshold; with none set, anything above zero."""
    threshold = thresholds.get(currency_code)
    return amount > 0 if threshold is None else amount >= threshold


def minimum_for(minimums: Mapping[str, int], currency_code: str) -> int:
    return minimums.get(currency_code, 0)

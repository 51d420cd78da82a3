"""The ISO 4217 codes payments can be made in, for the OpenAPI document: what a currency field
or a per-currency map's keys may be, so a generated client (or schemathesis) sends real ones."""

from __future__ import annotations

import iso4217

from ledger.domain.errors import UnknownCurrency
from ledger.domain.money import currency


def _tender() -> tuple[str, ...]:
    codes = set()
    for entry in iso4217.Currency:
        try:
            codes.add(currency(entry.code).code)
        except UnknownCurrency:
            continue
    return tuple(sorted(codes))


CODES = _tender()
CURRENCY_SCHEMA = {"enum": list(CODES)}

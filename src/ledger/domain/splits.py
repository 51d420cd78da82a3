"""Splits: how one payment's or subscription's amount is shared between manufacturers. One
validator serves both, so the rules cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from ledger.domain.errors import InvalidInput, SplitsMismatch
from ledger.domain.money import require_amount

MAX_AMOUNT = 10**12
# One projected event must fit a DynamoDB transaction (100 items): 20 splits stay well under.
MAX_SPLITS = 20
MAX_ID_LENGTH = 255
_SPLIT_KEYS = frozenset({"manufacturer_id", "amount"})


class Split(TypedDict):
    """A payment's split carries the fee terms in force when the payment was created."""

    manufacturer_id: str
    amount: int
    fee_bps: int
    refund_fee_policy: str


class SplitRequest(TypedDict):
    manufacturer_id: str
    amount: int


def bounded_amount(amount: object, field: str) -> int:
    value = require_amount(amount, field=field)
    if value > MAX_AMOUNT:
        raise InvalidInput(f"{field} must not exceed {MAX_AMOUNT} minor units")
    return value


def checked_splits(
    splits: Sequence[Mapping[str, Any]],
    amount: int,
    *,
    what: str,
    terms: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Splits as clean dicts of manufacturer_id, amount and the term keys given: at least one,
    at most MAX_SPLITS, each manufacturer once, positive amounts summing to amount."""
    if not splits:
        raise SplitsMismatch(f"a {what} needs at least one split")
    if len(splits) > MAX_SPLITS:
        raise SplitsMismatch(f"a {what} may have at most {MAX_SPLITS} splits")
    keys = _SPLIT_KEYS | terms
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, split in enumerate(splits):
        if not isinstance(split, Mapping) or set(split) != keys:
            names = " and ".join(["manufacturer_id", "amount", *sorted(terms)])
            raise SplitsMismatch(f"splits[{index}] must have exactly {names}")
        manufacturer_id = split["manufacturer_id"]
        field = f"splits[{index}].manufacturer_id"
        if not isinstance(manufacturer_id, str) or not manufacturer_id.strip():
            raise InvalidInput(f"{field} must not be blank")
        if len(manufacturer_id) > MAX_ID_LENGTH:
            raise InvalidInput(f"{field} must be at most {MAX_ID_LENGTH} characters")
        if manufacturer_id in seen:
            raise SplitsMismatch("each manufacturer may appear in only one split")
        seen.add(manufacturer_id)
        share = bounded_amount(split["amount"], f"splits[{index}].amount")
        extra = {key: value for key, value in split.items() if key in terms}
        clean.append({"manufacturer_id": manufacturer_id, "amount": share, **extra})
    if sum(s["amount"] for s in clean) != amount:
        raise SplitsMismatch(f"split amounts must sum to the {what} amount")
    return clean

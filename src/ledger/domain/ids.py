"""Public identifiers: a short type prefix plus the aggregate's UUID in hex.

Refund and dispute ids embed their payment's id, so a refund can be found without an index.
"""

from __future__ import annotations

import re
from uuid import UUID

PREFIXES = {
    "manufacturer": "mfr",
    "payment": "pay",
    "payout": "po",
    "api_key": "key",
    "subscription": "sub",
}
_CHILD = re.compile(r"^(re|dp)_([0-9a-f]{32})_([1-9][0-9]{0,5})$")


class MalformedId(ValueError):
    pass


def encode(kind: str, aggregate_id: UUID) -> str:
    return f"{PREFIXES[kind]}_{aggregate_id.hex}"


def decode(kind: str, public_id: str) -> UUID:
    prefix = PREFIXES[kind] + "_"
    if not public_id.startswith(prefix) or len(public_id) != len(prefix) + 32:
        raise MalformedId(f"not a {kind} id")
    try:
        return UUID(hex=public_id[len(prefix) :])
    except ValueError:
        raise MalformedId(f"not a {kind} id") from None


def refund_id(payment_id: UUID, number: int) -> str:
    return f"re_{payment_id.hex}_{number}"


def dispute_id(payment_id: UUID, number: int) -> str:
    return f"dp_{payment_id.hex}_{number}"


def parent_payment(child_id: str, kind: str) -> UUID:
    """The payment a refund ('re') or dispute ('dp') id belongs to."""
    match = _CHILD.match(child_id)
    if match is None or match.group(1) != kind:
        raise MalformedId("malformed id")
    return UUID(hex=match.group(2))

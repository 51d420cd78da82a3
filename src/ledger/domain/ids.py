"""Public identifiers: a short type prefix plus the aggregate's UUID in lowercase hex.

Every id has exactly one spelling: anything else (upper-case hex, braces, dashes) is malformed,
never another name for the same aggregate (a second spelling of a manufacturer would be a second
payable account). Refund and dispute ids embed their payment's id, so a refund can be found
without an index.
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
    "attention": "att",
    "reconciliation": "rec",
}
_CHILD = re.compile(r"^(re|dp)_([0-9a-f]{32})_([1-9][0-9]{0,5})$")
_HEX = re.compile(r"^[0-9a-f]{32}$")


class MalformedId(ValueError):
    pass


def encode(kind: str, aggregate_id: UUID) -> str:
    return f"{PREFIXES[kind]}_{aggregate_id.hex}"


def decode(kind: str, public_id: str) -> UUID:
    prefix = PREFIXES[kind] + "_"
    if not public_id.startswith(prefix) or not _HEX.match(public_id[len(prefix) :]):
        raise MalformedId(f"not a {kind} id")
    return UUID(hex=public_id[len(prefix) :])


def is_canonical(kind: str, public_id: str) -> bool:
    try:
        decode(kind, public_id)
    except MalformedId:
        return False
    return True


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


def is_refund(child_id: str) -> bool:
    match = _CHILD.match(child_id)
    return match is not None and match.group(1) == "re"

"""Fresh Idempotency-Keys that the card-number guard can never refuse: a random UUID's hex with
its digits spelled as letters (a UUID's hex holds a Luhn-valid 13-digit run about one time in
250, which the guard refuses as a card number)."""

from __future__ import annotations

import uuid

_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def fresh_key(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex.translate(_LETTERS)}"

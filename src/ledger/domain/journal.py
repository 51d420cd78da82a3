"""Journal entries: sets of postings that balance to zero per currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from ledger.domain.errors import UnbalancedEntry


class Posting(TypedDict):
    account: str
    currency: str
    amount: int  # minor units; debit positive, credit negative


JournalEntry = list[Posting]


def entry(currency: str, lines: Iterable[tuple[str, int]]) -> JournalEntry:
    """Build a journal entry in one currency, merging lines per account and dropping zeros."""
    merged: dict[str, int] = defaultdict(int)
    order: list[str] = []
    for account, amount in lines:
        if account not in merged:
            order.append(account)
        merged[account] += amount
    postings: JournalEntry = [
        Posting(account=a, currency=currency, amount=merged[a]) for a in order if merged[a] != 0
    ]
    assert_balanced(postings)
    return postings


def reverse(postings: JournalEntry) -> JournalEntry:
    return [
        Posting(account=p["account"], currency=p["currency"], amount=-p["amount"]) for p in postings
    ]


def assert_balanced(postings: Iterable[Mapping[str, Any]]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for posting in postings:
        totals[posting["currency"]] += posting["amount"]
    unbalanced = {c: t for c, t in totals.items() if t != 0}
    if unbalanced:
        raise UnbalancedEntry(f"journal entry does not balance: {unbalanced}")

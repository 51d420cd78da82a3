"""A reconciliation run: a provider's transactions (a Stripe payout's balance transactions, a
PayPal settlement report, an ACH file) matched to the ledger's record of each, recorded as one
event. Its id derives from the provider and the input, so running the same input again finds
the same run and its result, never a second one."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:reconciliation-run")
BreakKind = Literal[
    "missing_in_ledger",
    "missing_at_provider",
    "amount_mismatch",
    "currency_mismatch",
    "fee_mismatch",
    "duplicate",
]
BREAK_KINDS: tuple[str, ...] = get_args(BreakKind)
# A run is one event (one DynamoDB item, compressed under 400 KB): the matched lines kept with it
# are capped; counts and totals always cover every line. Breaks are kept up to a cap too.
MATCHED_KEPT = 1000
BREAKS_KEPT = 2000


def input_digest(provider: str, source: str, lines: list[dict[str, Any]]) -> str:
    """What identifies a run: the provider, what was reconciled and every line of it."""
    canonical = json.dumps([provider, source, lines], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ReconciliationRun(LedgerAggregate):
    """matched: [{provider: {...}, ledger: {...}}] (the first MATCHED_KEPT); breaks: [{kind,
    provider, ledger}], a side None where it is missing (the first BREAKS_KEPT); the counts
    are of all. Totals in minor units of currency: payout (what the provider says it paid),
    provider_net (the sum of its lines, net of fees), matched_net (of the lines matched)."""

    @staticmethod
    def create_id(digest: str) -> UUID:
        return uuid5(_NAMESPACE, digest)

    @event("Completed")
    def __init__(
        self,
        *,
        provider: str,
        source: str,
        digest: str,
        currency: str,
        payout: int | None,
        provider_net: int,
        matched_net: int,
        matched: list[dict[str, Any]],
        breaks: list[dict[str, Any]],
        matched_count: int,
        breaks_count: dict[str, int],
    ) -> None:
        self.provider = provider
        self.source = source
        self.digest = digest
        self.currency = currency
        self.payout = payout
        self.provider_net = provider_net
        self.matched_net = matched_net
        self.matched = matched
        self.breaks = breaks
        self.matched_count = matched_count
        self.breaks_count = breaks_count

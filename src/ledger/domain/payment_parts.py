"""The child records a Payment keeps in its state: shares of a capture or reversal, refunds and
disputes. Plain dicts at run time (snapshots are JSON), typed here."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from ledger.domain.journal import JournalEntry


class CapturedShare(TypedDict):
    manufacturer_id: str
    amount: int
    fee: int


class ReversalShare(TypedDict):
    manufacturer_id: str
    amount: int
    fee_returned: int


class DisputedShare(TypedDict):
    manufacturer_id: str
    amount: int


class Approval(TypedDict):
    approver: str  # the key id
    at: str
    approver_label: NotRequired[str | None]  # the key's label then (absent in older events)


class Refund(TypedDict):
    amount: int
    status: str  # pending_approval, pending, succeeded, failed, rejected
    requested_by: str
    approvals_required: int
    approvals: list[Approval]
    provider_reference: str | None
    reason: str | None
    shares: list[ReversalShare]
    entry: JournalEntry
    failure_reason: str | None
    created_at: str
    updated_at: str
    rejected_by: NotRequired[str]


class Dispute(TypedDict):
    amount: int
    provider_reference: str | None
    status: str  # open, won, lost
    reason: str | None
    created_at: str
    updated_at: str
    shares: NotRequired[list[ReversalShare]]
    evidence_due_by: NotRequired[str | None]  # when the provider must have the evidence
    # Of a lost dispute: what the platform bore because nothing was left to take back from the
    # manufacturers (booked to platform:expense:dispute_losses).
    platform_share: NotRequired[int]

"""The changes a projection asks a read-model store to make. Plain data, so any store (SQLite,
DynamoDB) can apply them; each table's key and columns are fixed in `TABLES`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The columns of a statement line: what one event did, by kind (see projections.logic).
LINE_KINDS = (
    "sale",
    "platform_fee",
    "refund",
    "fee_returned",
    "dispute_lost",
    "payout",
    "other",
    "dispute_opened",
    "dispute_won",
    "fee_revenue",
    "fees_returned",
    "provider_fees",
    "dispute_losses",
)

# table -> (key columns, value columns)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payments": (
        ("payment_id",),
        (
            "status",
            "amount",
            "currency",
            "customer_id",
            "provider",
            "capture_method",
            "created_at",
            "updated_at",
            "amount_captured",
            "amount_refunded",
            "amount_disputed",
            "amount_dispute_lost",
            "manufacturer_ids",
        ),
    ),
    "payment_manufacturers": (
        ("payment_id", "manufacturer_id"),
        ("created_at", "amount", "shared"),
    ),
    "refunds": (
        ("refund_id",),
        (
            "payment_id",
            "amount",
            "currency",
            "status",
            "reason",
            "failure_reason",
            "created_at",
            "updated_at",
        ),
    ),
    "refund_manufacturers": (("refund_id", "manufacturer_id"), ("amount",)),
    "disputes": (
        ("dispute_id",),
        (
            "payment_id",
            "amount",
            "currency",
            "status",
            "reason",
            "evidence_due_by",
            "created_at",
            "updated_at",
        ),
    ),
    "report_days": (
        ("manufacturer_id", "currency", "day"),
        ("gross_captured", "fees", "refunds", "disputes_lost", "payouts"),
    ),
    "manufacturers": (
        ("manufacturer_id",),
        ("name", "fee_bps", "refund_fee_policy", "created_at", "updated_at"),
    ),
    "payouts": (
        ("payout_id",),
        (
            "manufacturer_id",
            "amount",
            "currency",
            "status",
            "approvals_required",
            "approvals",
            "requested_by",
            "created_at",
            "updated_at",
        ),
    ),
    "api_keys": (
        ("key_id",),
        (
            "scopes",
            "manufacturer_id",
            "created_at",
            "revoked",
            "label",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ),
    ),
    # who approved which payout: `awaiting_approval_by=me` leaves out what a key has approved
    "payout_approvals": (("payout_id", "approver"), ("at",)),
    "subscriptions": (
        ("subscription_id",),
        (
            "customer_id",
            "provider",
            "amount",
            "currency",
            "interval",
            # active | past_due from the invoices; `canceled` wins over it (a charge in flight
            # may still be recorded after a cancellation)
            "billing_status",
            "canceled",
            "manufacturer_ids",
            "created_at",
            "updated_at",
        ),
    ),
    "subscription_manufacturers": (
        ("subscription_id", "manufacturer_id"),
        ("created_at", "shared"),
    ),
    # What each money move did to a manufacturer's payable, or to the platform's revenue and
    # expenses (owner "platform"), line by line: the statements and the P&L (statements.py).
    "statement_lines": (
        ("owner", "line_id"),
        (
            "currency",
            "effective_at",
            "recorded_at",
            "source_type",
            "source_id",
            "payment_id",
            *LINE_KINDS,
        ),
    ),
    "period_closes": (("period",), ("closed_at", "closed_by")),
}


@dataclass(frozen=True, slots=True)
class Upsert:
    """Insert the row, or set these columns on the existing one."""

    table: str
    key: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Increment:
    """Add these integer deltas to the row's columns (a missing row starts at zero)."""

    table: str
    key: dict[str, Any]
    deltas: dict[str, int]


@dataclass(frozen=True, slots=True)
class Post:
    """One journal posting: moves the account's balance and joins its dated history."""

    account: str
    currency: str
    amount: int
    at: str
    entry_ref: str


Change = Upsert | Increment | Post

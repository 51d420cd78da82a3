"""Registry kinds: the exact member lists the scheduled workflows visit (see
ledger.domain.registry), updated in the same atomic save as the change that adds a member."""

PAYABLES = "payables"
SUBSCRIPTIONS = "subscriptions"
PAYOUTS_AWAITING_APPROVAL = "payouts-awaiting-approval"
SCHEDULED_PAYOUTS = "scheduled-payouts"
RECONCILIATION_RUNS = "reconciliation-runs"
NEEDS_ATTENTION = "needs-attention"  # provider events whose money could not be booked (open)


def pending_payouts(rail: str) -> str:
    """The payouts a batching rail (ACH) still has to send."""
    return f"{rail}:pending-payouts"


def pending_payments(provider: str) -> str:
    """The payments a batching provider (ACH debits) still has to collect."""
    return f"{provider}:pending-payments"

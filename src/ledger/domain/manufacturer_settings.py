"""Per-manufacturer workflow settings: provider routing, payout rail and schedule, and approval
policies for payouts and refunds. Kept whole in each SettingsChanged event, so the settings in
force at any time are in the history."""

from __future__ import annotations

import re
from typing import Any

from ledger.domain.errors import InvalidInput
from ledger.domain.money import require_amount

PAYOUT_INTERVALS = ("manual", "daily", "weekly", "monthly")
PAYOUT_RAILS = ("sandbox", "ach")
_PROVIDER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_APPROVERS = 10
MAX_EXPIRY_HOURS = 24 * 90

DEFAULTS: dict[str, Any] = {
    # Provider for this manufacturer's payments when a payment names none.
    "provider": "sandbox",
    "payout_rail": "sandbox",
    # Vault token of the bank account for ACH payouts (never the number itself) and its mask.
    "bank_account_token": None,
    "bank_account_masked": None,
    # Automatic payouts of the available payable balance at or above payout_minimum.
    "payout_interval": "manual",
    "payout_minimum": 0,
    # A payout still awaiting approval this many hours after its request is rejected (0: never).
    "payout_approval_expiry_hours": 0,
    # Refunds of at least this amount need refund_approvals_required distinct approvers.
    "refund_approval_threshold": 0,
    "refund_approvals_required": 0,
}


def _count(value: object, field: str, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise InvalidInput(f"{field} must be an integer from 0 to {high}")
    return value


def merged_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The settings after applying changes (None values are left as they were), validated."""
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise InvalidInput(f"unknown settings: {', '.join(sorted(unknown))}")
    result = {**DEFAULTS, **current}
    result.update({k: v for k, v in changes.items() if v is not None})
    if not isinstance(result["provider"], str) or not _PROVIDER.match(result["provider"]):
        raise InvalidInput("provider must be a lowercase provider name")
    if result["payout_rail"] not in PAYOUT_RAILS:
        raise InvalidInput(f"payout_rail must be one of {', '.join(PAYOUT_RAILS)}")
    if result["payout_rail"] == "ach" and not result["bank_account_token"]:
        raise InvalidInput("payout_rail 'ach' needs a bank account")
    if result["payout_interval"] not in PAYOUT_INTERVALS:
        raise InvalidInput(f"payout_interval must be one of {', '.join(PAYOUT_INTERVALS)}")
    require_amount(result["payout_minimum"], field="payout_minimum", allow_zero=True)
    _count(result["payout_approval_expiry_hours"], "payout_approval_expiry_hours", MAX_EXPIRY_HOURS)
    require_amount(
        result["refund_approval_threshold"], field="refund_approval_threshold", allow_zero=True
    )
    _count(result["refund_approvals_required"], "refund_approvals_required", MAX_APPROVERS)
    return result


def refund_approvals_needed(settings: dict[str, Any], amount: int) -> int:
    required: int = settings["refund_approvals_required"]
    if required and amount >= settings["refund_approval_threshold"]:
        return required
    return 0

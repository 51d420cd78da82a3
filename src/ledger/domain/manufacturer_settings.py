"""Per-manufacturer workflow settings: provider routing, payout rail and schedule, and approval
policies for payouts and refunds. Kept whole in each SettingsChanged event, so the settings in
force at any time are in the history."""

from __future__ import annotations

import copy
import re
from typing import Any

from ledger.domain.errors import InvalidInput
from ledger.domain.per_currency import per_currency, reaches_threshold, upcast

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
    # Automatic payouts of the available payable balance at or above payout_minimum, per
    # currency ({currency: minor units}; a currency not named has no minimum).
    "payout_interval": "manual",
    "payout_minimum": {},
    # A payout still awaiting approval this many hours after its request is rejected (0: never).
    "payout_approval_expiry_hours": 0,
    # Refunds of at least this amount in their currency ({currency: minor units}) need
    # refund_approvals_required distinct approvers; in a currency not named, every refund does.
    "refund_approval_threshold": {},
    "refund_approvals_required": 0,
}


PER_CURRENCY = ("payout_minimum", "refund_approval_threshold")


def default_settings() -> dict[str, Any]:
    return copy.deepcopy(DEFAULTS)


def upcast_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as recorded, with bare numbers from before per-currency amounts read as
    ledger.domain.per_currency.upcast reads them."""
    result = dict(settings)
    for field in PER_CURRENCY:
        if field in result:
            result[field] = upcast(result[field])
    return result


def _count(value: object, field: str, high: int) -> int:
    if type(value) is not int or not 0 <= value <= high:
        raise InvalidInput(f"{field} must be an integer from 0 to {high}")
    return value


def merged_settings(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The settings after applying changes (None values are left as they were), validated."""
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise InvalidInput(f"unknown settings: {', '.join(sorted(unknown))}")
    result = {**default_settings(), **upcast_settings(current)}
    result.update({k: v for k, v in changes.items() if v is not None})
    if not isinstance(result["provider"], str) or not _PROVIDER.match(result["provider"]):
        raise InvalidInput("provider must be a lowercase provider name")
    if result["payout_rail"] not in PAYOUT_RAILS:
        raise InvalidInput(f"payout_rail must be one of {', '.join(PAYOUT_RAILS)}")
    if result["payout_rail"] == "ach" and not result["bank_account_token"]:
        raise InvalidInput("payout_rail 'ach' needs a bank account")
    if result["payout_interval"] not in PAYOUT_INTERVALS:
        raise InvalidInput(f"payout_interval must be one of {', '.join(PAYOUT_INTERVALS)}")
    result["payout_minimum"] = per_currency(result["payout_minimum"], "payout_minimum")
    _count(result["payout_approval_expiry_hours"], "payout_approval_expiry_hours", MAX_EXPIRY_HOURS)
    result["refund_approval_threshold"] = per_currency(
        result["refund_approval_threshold"], "refund_approval_threshold"
    )
    _count(result["refund_approvals_required"], "refund_approvals_required", MAX_APPROVERS)
    return result


def refund_approvals_needed(settings: dict[str, Any], amount: int, currency: str) -> int:
    """Approvals a refund of amount in currency needs: all of them at or above the currency's
    threshold, or above zero in a currency with no threshold set."""
    required: int = settings["refund_approvals_required"]
    thresholds = upcast(settings["refund_approval_threshold"])
    if required and reaches_threshold(thresholds, currency, amount):
        return required
    return 0

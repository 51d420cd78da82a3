"""Manufacturer: fee terms and payout policy. Every change is an event, so history keeps the
policy that was in force at any time."""

from __future__ import annotations

from typing import Any, Literal, get_args

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InvalidInput, SelfApproval
from ledger.domain.manufacturer_settings import default_settings, merged_settings, upcast_settings
from ledger.domain.per_currency import PerCurrency, per_currency, reaches_threshold, upcast

RefundFeePolicy = Literal["refund_fee", "keep_fee"]
REFUND_FEE_POLICIES: tuple[str, ...] = get_args(RefundFeePolicy)
MAX_FEE_BPS = 10_000


def validate_terms(
    *,
    name: str,
    fee_bps: int,
    refund_fee_policy: str,
    payout_approval_threshold: object,
    payout_approvals_required: int,
) -> PerCurrency:
    """The terms' payout approval thresholds, validated (a map of currency to minor units)."""
    if not name.strip():
        raise InvalidInput("name must not be blank")
    if type(fee_bps) is not int or not 0 <= fee_bps <= MAX_FEE_BPS:
        raise InvalidInput("fee_bps must be an integer from 0 to 10000")
    if refund_fee_policy not in REFUND_FEE_POLICIES:
        raise InvalidInput(f"refund_fee_policy must be one of {', '.join(REFUND_FEE_POLICIES)}")
    thresholds = per_currency(payout_approval_threshold, "payout_approval_threshold")
    if type(payout_approvals_required) is not int or not 0 <= payout_approvals_required <= 10:
        raise InvalidInput("payout_approvals_required must be an integer from 0 to 10")
    return thresholds


class Manufacturer(LedgerAggregate):
    @event("Registered")
    def __init__(
        self,
        *,
        name: str,
        fee_bps: int,
        refund_fee_policy: str,
        payout_approval_threshold: PerCurrency | int,
        payout_approvals_required: int,
    ) -> None:
        """payout_approval_threshold: a bare number in events from before per-currency
        thresholds (see ledger.domain.per_currency for how it is read)."""
        self.name = name
        self.fee_bps = fee_bps
        self.refund_fee_policy = refund_fee_policy
        self.payout_approval_threshold: PerCurrency = upcast(payout_approval_threshold)
        self.payout_approvals_required = payout_approvals_required
        self.settings: dict[str, Any] = default_settings()
        # A payout bank account a key bound to this manufacturer proposed, until the platform
        # approves or rejects it: {token, masked, requested_by, requested_at}.
        self.pending_bank_account: dict[str, str] | None = None

    @classmethod
    def register(
        cls,
        *,
        name: str,
        fee_bps: int,
        refund_fee_policy: str,
        payout_approval_threshold: object = None,
        payout_approvals_required: int = 0,
    ) -> Manufacturer:
        """payout_approval_threshold: {currency: minor units}; None: none set."""
        thresholds = validate_terms(
            name=name,
            fee_bps=fee_bps,
            refund_fee_policy=refund_fee_policy,
            payout_approval_threshold={}
            if payout_approval_threshold is None
            else payout_approval_threshold,
            payout_approvals_required=payout_approvals_required,
        )
        return cls(
            name=name,
            fee_bps=fee_bps,
            refund_fee_policy=refund_fee_policy,
            payout_approval_threshold=thresholds,
            payout_approvals_required=payout_approvals_required,
        )

    def change_terms(
        self,
        *,
        name: str | None = None,
        fee_bps: int | None = None,
        refund_fee_policy: str | None = None,
        payout_approval_threshold: object = None,
        payout_approvals_required: int | None = None,
    ) -> None:
        new_name = self.name if name is None else name
        new_fee = self.fee_bps if fee_bps is None else fee_bps
        new_policy = self.refund_fee_policy if refund_fee_policy is None else refund_fee_policy
        asked_threshold = (
            self.payout_approval_threshold
            if payout_approval_threshold is None
            else payout_approval_threshold
        )
        new_required = (
            self.payout_approvals_required
            if payout_approvals_required is None
            else payout_approvals_required
        )
        new_threshold = validate_terms(
            name=new_name,
            fee_bps=new_fee,
            refund_fee_policy=new_policy,
            payout_approval_threshold=asked_threshold,
            payout_approvals_required=new_required,
        )
        self._terms_changed(
            name=new_name,
            fee_bps=new_fee,
            refund_fee_policy=new_policy,
            payout_approval_threshold=new_threshold,
            payout_approvals_required=new_required,
        )

    @event("TermsChanged")
    def _terms_changed(
        self,
        *,
        name: str,
        fee_bps: int,
        refund_fee_policy: str,
        payout_approval_threshold: PerCurrency | int,
        payout_approvals_required: int,
    ) -> None:
        self.name = name
        self.fee_bps = fee_bps
        self.refund_fee_policy = refund_fee_policy
        self.payout_approval_threshold = upcast(payout_approval_threshold)
        self.payout_approvals_required = payout_approvals_required

    def change_settings(self, changes: dict[str, Any]) -> None:
        settings = merged_settings(self.settings, changes)
        if settings != self.settings:
            self._settings_changed(settings=settings)

    @event("SettingsChanged")
    def _settings_changed(self, *, settings: dict[str, Any]) -> None:
        self.settings = upcast_settings(settings)

    # ----- bank account changes proposed by the manufacturer, approved by the platform ---------
    def propose_bank_account(self, token: str, masked: str, *, requested_by: str) -> None:
        merged_settings(self.settings, {"bank_account_token": token, "bank_account_masked": masked})
        self._bank_account_proposed(token=token, masked=masked, requested_by=requested_by)

    @event("BankAccountProposed")
    def _bank_account_proposed(self, *, token: str, masked: str, requested_by: str) -> None:
        self.pending_bank_account = {
            "token": token,
            "masked": masked,
            "requested_by": requested_by,
            "requested_at": self.event_time.isoformat(),
        }

    def _pending_bank_account(self) -> dict[str, str]:
        pending: dict[str, str] | None = getattr(self, "pending_bank_account", None)
        if pending is None:
            raise IllegalTransition("no bank account change awaits approval")
        return pending

    def approve_bank_account(self, approver: str) -> None:
        pending = self._pending_bank_account()
        if approver == pending["requested_by"]:
            raise SelfApproval("the requester of a bank account change cannot approve it")
        settings = merged_settings(
            self.settings,
            {"bank_account_token": pending["token"], "bank_account_masked": pending["masked"]},
        )
        self._bank_account_approved(approver=approver, settings=settings)

    @event("BankAccountApproved")
    def _bank_account_approved(self, *, approver: str, settings: dict[str, Any]) -> None:
        self.settings = upcast_settings(settings)
        self.pending_bank_account = None

    def reject_bank_account(self, by: str, reason: str | None) -> None:
        self._pending_bank_account()
        self._bank_account_rejected(by=by, reason=reason)

    @event("BankAccountRejected")
    def _bank_account_rejected(self, *, by: str, reason: str | None) -> None:
        self.pending_bank_account = None

    def approvals_needed_for(self, amount: int, currency: str) -> int:
        """Approvals a payout of amount in currency needs: all of them at or above the
        currency's threshold, or above zero in a currency with no threshold set."""
        thresholds = upcast(self.payout_approval_threshold)
        if self.payout_approvals_required and reaches_threshold(thresholds, currency, amount):
            return self.payout_approvals_required
        return 0

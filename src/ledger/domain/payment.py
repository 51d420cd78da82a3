"""Payment: authorization, capture, refunds and disputes, each money move with its journal entry."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate, seeded_id
from ledger.domain.errors import (
    DuplicateApproval,
    ExceedsCapturable,
    ExceedsRefundable,
    IllegalTransition,
    InvalidInput,
    SelfApproval,
    SplitsMismatch,
)
from ledger.domain.ids import dispute_id, refund_id
from ledger.domain.journal import JournalEntry, entry, reverse
from ledger.domain.money import allocate, currency, fee_for, require_amount

CaptureMethod = Literal["automatic", "manual"]
CAPTURE_METHODS: tuple[str, ...] = get_args(CaptureMethod)
MAX_AMOUNT = 10**12
# One projected event must fit a DynamoDB transaction (100 items): 20 splits stay well under.
MAX_SPLITS = 20
_PROVIDER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Refund states whose amount is free again (their booking was reversed).
REFUND_RELEASED = ("failed", "rejected")


def _bounded(amount: object, field: str) -> int:
    value = require_amount(amount, field=field)
    if value > MAX_AMOUNT:
        raise InvalidInput(f"{field} must not exceed {MAX_AMOUNT} minor units")
    return value


class Payment(LedgerAggregate):
    """States: pending -> authorized -> captured | voided; pending -> failed."""

    @staticmethod
    def create_id(id_seed: str | None = None) -> UUID:
        return seeded_id(id_seed)

    @event("Initiated")
    def __init__(
        self,
        *,
        amount: int,
        currency: str,
        customer_id: str,
        provider: str,
        payment_method: str,
        capture_method: str,
        splits: list[dict[str, Any]],
        metadata: dict[str, Any],
        id_seed: str | None = None,
    ) -> None:
        self.amount = amount
        self.currency = currency
        self.customer_id = customer_id
        self.provider = provider
        self.payment_method = payment_method
        self.capture_method = capture_method
        self.splits = splits
        self.metadata = metadata
        self.status = "pending"
        self.provider_reference: str | None = None
        self.capture_reference: str | None = None
        self.failure_reason: str | None = None
        self.amount_captured = 0
        self.captured_shares: list[dict[str, Any]] = []
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        # Fee already returned per split index, so returns never exceed the fee taken.
        self.fee_returned: list[int] = [0 for _ in splits]
        self.amount_reversed_per_split: list[int] = [0 for _ in splits]

    @classmethod
    def initiate(
        cls,
        *,
        amount: int,
        currency_code: str,
        customer_id: str,
        provider: str,
        payment_method: str,
        capture_method: str,
        splits: list[dict[str, Any]],
        metadata: dict[str, Any],
        id_seed: str | None = None,
    ) -> Payment:
        """splits: [{manufacturer_id, amount, fee_bps, refund_fee_policy}], terms in force now."""
        _bounded(amount, "amount")
        currency(currency_code)
        if not customer_id.strip():
            raise InvalidInput("customer_id must not be blank")
        if not _PROVIDER.match(provider):
            raise InvalidInput("provider must be a lowercase provider name")
        if not payment_method.strip():
            raise InvalidInput("payment_method must be a provider token")
        if capture_method not in CAPTURE_METHODS:
            raise InvalidInput(f"capture_method must be one of {', '.join(CAPTURE_METHODS)}")
        if not splits:
            raise SplitsMismatch("a payment needs at least one split")
        if len(splits) > MAX_SPLITS:
            raise SplitsMismatch(f"a payment may have at most {MAX_SPLITS} splits")
        seen = set()
        for index, split in enumerate(splits):
            _bounded(split["amount"], f"splits[{index}].amount")
            if split["manufacturer_id"] in seen:
                raise SplitsMismatch("each manufacturer may appear in only one split")
            seen.add(split["manufacturer_id"])
        if sum(s["amount"] for s in splits) != amount:
            raise SplitsMismatch("split amounts must sum to the payment amount")
        return cls(
            amount=amount,
            currency=currency_code,
            customer_id=customer_id,
            provider=provider,
            payment_method=payment_method,
            capture_method=capture_method,
            splits=splits,
            metadata=metadata,
            id_seed=id_seed,
        )

    # ----- derived amounts -------------------------------------------------------------------
    @property
    def amount_refunded(self) -> int:
        """Refunds awaiting approval, pending and succeeded: each reserves its amount at once."""
        return sum(r["amount"] for r in self.refunds.values() if r["status"] not in REFUND_RELEASED)

    @property
    def amount_disputed(self) -> int:
        """Open and lost disputes."""
        return sum(d["amount"] for d in self.disputes.values() if d["status"] != "won")

    @property
    def amount_dispute_lost(self) -> int:
        return sum(d["amount"] for d in self.disputes.values() if d["status"] == "lost")

    @property
    def refundable(self) -> int:
        if self.status != "captured":
            return 0
        return self.amount_captured - self.amount_refunded - self.amount_disputed

    @property
    def manufacturer_ids(self) -> list[str]:
        return [s["manufacturer_id"] for s in self.splits]

    # ----- authorization ---------------------------------------------------------------------
    def authorize(self, provider_reference: str) -> None:
        """From pending; or from failed when the provider reports a later success of the same
        payment (a failed payment has booked nothing, so nothing needs undoing)."""
        if self.status not in ("pending", "failed"):
            raise IllegalTransition(f"cannot authorize a payment that is {self.status}")
        self._authorized(provider_reference=provider_reference)

    @event("Authorized")
    def _authorized(self, *, provider_reference: str) -> None:
        self.status = "authorized"
        self.provider_reference = provider_reference

    def refund_by_reference(self, reference: str) -> str | None:
        for key, refund in self.refunds.items():
            if refund.get("provider_reference") == reference:
                return key
        return None

    def dispute_by_reference(self, reference: str) -> str | None:
        for key, dispute in self.disputes.items():
            if dispute.get("provider_reference") == reference:
                return key
        return None

    def fail(self, reason: str) -> None:
        self._require_status("pending", "fail")
        self._failed(reason=reason)

    @event("Failed")
    def _failed(self, *, reason: str) -> None:
        self.status = "failed"
        self.failure_reason = reason

    def void(self) -> None:
        self._require_status("authorized", "void")
        self._voided()

    @event("Voided")
    def _voided(self) -> None:
        self.status = "voided"

    # ----- capture ---------------------------------------------------------------------------
    def capture(
        self,
        amount: int | None = None,
        provider_fee: int | None = None,
        provider_reference: str | None = None,
    ) -> None:
        """provider_fee: what the provider kept for this capture, when it reports it; booked
        to the platform's provider-fee expense out of the provider receivable."""
        self._require_status("authorized", "capture")
        value = self.amount if amount is None else require_amount(amount)
        if value > self.amount:
            raise ExceedsCapturable(
                f"capture of {value} exceeds the authorized amount {self.amount}"
            )
        parts = allocate(value, [s["amount"] for s in self.splits])
        shares = [
            {
                "manufacturer_id": s["manufacturer_id"],
                "amount": part,
                "fee": fee_for(part, s["fee_bps"]),
            }
            for s, part in zip(self.splits, parts, strict=True)
        ]
        lines: list[tuple[str, int]] = [(accounts.provider_receivable(self.provider), value)]
        lines += [
            (accounts.manufacturer_payable(s["manufacturer_id"]), -(s["amount"] - s["fee"]))
            for s in shares
        ]
        lines.append((accounts.PLATFORM_FEES, -sum(s["fee"] for s in shares)))
        if provider_fee:
            if require_amount(provider_fee, field="provider_fee") > value:
                raise InvalidInput("provider_fee cannot exceed the captured amount")
            lines.append((accounts.PLATFORM_PROVIDER_FEES, provider_fee))
            lines.append((accounts.provider_receivable(self.provider), -provider_fee))
        self._captured(
            amount=value,
            shares=shares,
            entry=entry(self.currency, lines),
            provider_reference=provider_reference,
        )

    @event("Captured")
    def _captured(
        self,
        *,
        amount: int,
        shares: list[dict[str, Any]],
        entry: JournalEntry,
        provider_reference: str | None = None,
    ) -> None:
        """provider_reference: the provider's id of the capture when it has its own (PayPal
        captures an authorization under a new id, and refunds name the capture)."""
        self.status = "captured"
        self.amount_captured = amount
        self.captured_shares = shares
        self.capture_reference = provider_reference

    # ----- reversals (refunds and lost disputes share the booking rule) ---------------------
    def _reversal(
        self, amount: int, credit_account: str
    ) -> tuple[list[dict[str, Any]], JournalEntry]:
        """Allocate amount over the splits and book it back from each manufacturer.

        Under refund_fee the platform returns the fee on the share (never more than it took);
        under keep_fee the manufacturer bears the whole share.
        """
        parts = self._reversal_parts(amount)
        shares = []
        lines: list[tuple[str, int]] = []
        for index, (split, part) in enumerate(zip(self.splits, parts, strict=True)):
            fee_returned = 0
            if split["refund_fee_policy"] == "refund_fee" and self.captured_shares:
                charged = self.captured_shares[index]["fee"]
                left = charged - self.fee_returned[index]
                reversed_total = self.amount_reversed_per_split[index] + part
                if reversed_total >= self.captured_shares[index]["amount"]:
                    fee_returned = left
                else:
                    fee_returned = min(fee_for(part, split["fee_bps"]), left)
            shares.append(
                {
                    "manufacturer_id": split["manufacturer_id"],
                    "amount": part,
                    "fee_returned": fee_returned,
                }
            )
            lines.append(
                (accounts.manufacturer_payable(split["manufacturer_id"]), part - fee_returned)
            )
            lines.append((accounts.PLATFORM_FEES, fee_returned))
        lines.append((credit_account, -amount))
        return shares, entry(self.currency, lines)

    def _reversal_parts(self, amount: int) -> list[int]:
        """Split amount in proportion to the split amounts (largest remainder). Rounding over
        several reversals could otherwise take more from one split than it was captured for, so
        any part above what is left of its split moves to splits with room, in proportion to
        that room; with no such excess this is exactly the plain allocation."""
        parts = allocate(amount, [s["amount"] for s in self.splits])
        room = [
            share["amount"] - reversed_
            for share, reversed_ in zip(
                self.captured_shares, self.amount_reversed_per_split, strict=True
            )
        ]
        excess = sum(max(0, part - left) for part, left in zip(parts, room, strict=True))
        if excess == 0:
            return parts
        parts = [min(part, left) for part, left in zip(parts, room, strict=True)]
        spare = [left - part for part, left in zip(parts, room, strict=True)]
        extra = allocate(excess, spare)
        return [part + more for part, more in zip(parts, extra, strict=True)]

    def _apply_reversal_shares(self, shares: list[dict[str, Any]], sign: int) -> None:
        for index, share in enumerate(shares):
            self.fee_returned[index] += sign * share["fee_returned"]
            self.amount_reversed_per_split[index] += sign * share["amount"]

    # ----- refunds ---------------------------------------------------------------------------
    def request_refund(
        self,
        amount: int,
        reason: str | None = None,
        *,
        requested_by: str = "",
        approvals_required: int = 0,
    ) -> str:
        """Book the refund at once (the amount is reserved); it is executed at the provider
        when pending, after approvals_required distinct approvers when it needs approval."""
        require_amount(amount)
        if self.status != "captured":
            raise IllegalTransition(f"cannot refund a payment that is {self.status}")
        if amount > self.refundable:
            raise ExceedsRefundable(
                f"refund of {amount} exceeds the refundable amount {self.refundable}"
            )
        new_id = refund_id(self.id, len(self.refunds) + 1)
        shares, booking = self._reversal(amount, accounts.provider_refunds_pending(self.provider))
        self._refund_requested(
            refund_id=new_id,
            amount=amount,
            reason=reason,
            shares=shares,
            entry=booking,
            requested_by=requested_by,
            approvals_required=approvals_required,
        )
        return new_id

    @event("RefundRequested")
    def _refund_requested(
        self,
        *,
        refund_id: str,
        amount: int,
        reason: str | None,
        shares: list[dict[str, Any]],
        entry: JournalEntry,
        # Defaults: events recorded before refund approvals existed.
        requested_by: str = "",
        approvals_required: int = 0,
    ) -> None:
        self.refunds[refund_id] = {
            "amount": amount,
            "status": "pending_approval" if approvals_required else "pending",
            "requested_by": requested_by,
            "approvals_required": approvals_required,
            "approvals": [],
            "provider_reference": None,
            "reason": reason,
            "shares": shares,
            "entry": entry,
            "failure_reason": None,
            "created_at": self.event_time.isoformat(),
            "updated_at": self.event_time.isoformat(),
        }
        self._apply_reversal_shares(shares, 1)

    def _refund_in(self, refund_id: str, status: str) -> dict[str, Any]:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise IllegalTransition(f"unknown refund {refund_id}")
        if refund["status"] != status:
            raise IllegalTransition(f"refund {refund_id} is {refund['status']}, not {status}")
        return refund

    def _pending_refund(self, refund_id: str) -> dict[str, Any]:
        return self._refund_in(refund_id, "pending")

    def approve_refund(self, refund_id: str, approver: str) -> None:
        refund = self._refund_in(refund_id, "pending_approval")
        if approver == refund["requested_by"]:
            raise SelfApproval("the requester of a refund cannot approve it")
        if any(a["approver"] == approver for a in refund["approvals"]):
            raise DuplicateApproval("this approver has already approved the refund")
        ready = len(refund["approvals"]) + 1 >= refund["approvals_required"]
        self._refund_approved(refund_id=refund_id, approver=approver, ready=ready)

    @event("RefundApproved")
    def _refund_approved(self, *, refund_id: str, approver: str, ready: bool) -> None:
        """ready: this was the last approval needed; the refund goes to the provider."""
        refund = self.refunds[refund_id]
        refund["approvals"].append({"approver": approver, "at": self.event_time.isoformat()})
        if ready:
            refund["status"] = "pending"
        refund["updated_at"] = self.event_time.isoformat()

    def reject_refund(self, refund_id: str, by: str, reason: str | None) -> None:
        refund = self._refund_in(refund_id, "pending_approval")
        self._refund_rejected(
            refund_id=refund_id,
            by=by,
            reason=reason,
            shares=refund["shares"],
            entry=reverse(refund["entry"]),
        )

    @event("RefundRejected")
    def _refund_rejected(
        self,
        *,
        refund_id: str,
        by: str,
        reason: str | None,
        shares: list[dict[str, Any]],
        entry: JournalEntry,
    ) -> None:
        refund = self.refunds[refund_id]
        refund["status"] = "rejected"
        refund["failure_reason"] = reason
        refund["rejected_by"] = by
        refund["updated_at"] = self.event_time.isoformat()
        self._apply_reversal_shares(refund["shares"], -1)

    def submit_refund(self, refund_id: str, provider_reference: str) -> None:
        """The provider accepted the refund but has not settled it: keep its id, so its webhook
        finds the refund even without the ledger's metadata."""
        refund = self._pending_refund(refund_id)
        if provider_reference and refund.get("provider_reference") != provider_reference:
            self._refund_submitted(refund_id=refund_id, provider_reference=provider_reference)

    @event("RefundSubmitted")
    def _refund_submitted(self, *, refund_id: str, provider_reference: str) -> None:
        self.refunds[refund_id]["provider_reference"] = provider_reference
        self.refunds[refund_id]["updated_at"] = self.event_time.isoformat()

    def complete_refund(self, refund_id: str, provider_reference: str | None = None) -> None:
        refund = self._pending_refund(refund_id)
        booking = entry(
            self.currency,
            [
                (accounts.provider_refunds_pending(self.provider), refund["amount"]),
                (accounts.provider_receivable(self.provider), -refund["amount"]),
            ],
        )
        self._refund_succeeded(
            refund_id=refund_id, provider_reference=provider_reference, entry=booking
        )

    @event("RefundSucceeded")
    def _refund_succeeded(
        self, *, refund_id: str, entry: JournalEntry, provider_reference: str | None = None
    ) -> None:
        self.refunds[refund_id]["status"] = "succeeded"
        self.refunds[refund_id]["provider_reference"] = provider_reference
        self.refunds[refund_id]["updated_at"] = self.event_time.isoformat()

    def fail_refund(self, refund_id: str, reason: str) -> None:
        refund = self._pending_refund(refund_id)
        self._refund_failed(
            refund_id=refund_id,
            reason=reason,
            shares=refund["shares"],
            entry=reverse(refund["entry"]),
        )

    @event("RefundFailed")
    def _refund_failed(
        self, *, refund_id: str, reason: str, shares: list[dict[str, Any]], entry: JournalEntry
    ) -> None:
        refund = self.refunds[refund_id]
        refund["status"] = "failed"
        refund["failure_reason"] = reason
        refund["updated_at"] = self.event_time.isoformat()
        self._apply_reversal_shares(refund["shares"], -1)

    # ----- disputes --------------------------------------------------------------------------
    def open_dispute(
        self,
        amount: int,
        reason: str | None = None,
        provider_reference: str | None = None,
        provider_fee: int | None = None,
    ) -> str:
        """provider_fee: the provider's dispute fee, when it reports one (an expense of the
        platform whatever the outcome)."""
        require_amount(amount)
        if self.status != "captured":
            raise IllegalTransition(f"cannot dispute a payment that is {self.status}")
        if amount > self.refundable:
            raise ExceedsRefundable(
                f"dispute of {amount} exceeds the undisputed, unrefunded amount {self.refundable}"
            )
        new_id = dispute_id(self.id, len(self.disputes) + 1)
        lines = [
            (accounts.provider_disputed(self.provider), amount),
            (accounts.provider_receivable(self.provider), -amount),
        ]
        if provider_fee:
            require_amount(provider_fee, field="provider_fee")
            lines += [
                (accounts.PLATFORM_PROVIDER_FEES, provider_fee),
                (accounts.provider_receivable(self.provider), -provider_fee),
            ]
        booking = entry(self.currency, lines)
        self._dispute_opened(
            dispute_id=new_id,
            amount=amount,
            reason=reason,
            entry=booking,
            provider_reference=provider_reference,
        )
        return new_id

    @event("DisputeOpened")
    def _dispute_opened(
        self,
        *,
        dispute_id: str,
        amount: int,
        reason: str | None,
        entry: JournalEntry,
        provider_reference: str | None = None,
    ) -> None:
        self.disputes[dispute_id] = {
            "amount": amount,
            "provider_reference": provider_reference,
            "status": "open",
            "reason": reason,
            "created_at": self.event_time.isoformat(),
            "updated_at": self.event_time.isoformat(),
        }

    def close_dispute(self, dispute_id: str, outcome: str) -> None:
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise IllegalTransition(f"unknown dispute {dispute_id}")
        if dispute["status"] != "open":
            raise IllegalTransition(f"dispute {dispute_id} is already {dispute['status']}")
        amount = dispute["amount"]
        if outcome == "won":
            booking = entry(
                self.currency,
                [
                    (accounts.provider_receivable(self.provider), amount),
                    (accounts.provider_disputed(self.provider), -amount),
                ],
            )
            self._dispute_won(dispute_id=dispute_id, amount=amount, entry=booking)
        elif outcome == "lost":
            shares, booking = self._reversal(amount, accounts.provider_disputed(self.provider))
            self._dispute_lost(dispute_id=dispute_id, shares=shares, entry=booking)
        else:
            raise InvalidInput("outcome must be 'won' or 'lost'")

    @event("DisputeWon")
    def _dispute_won(self, *, dispute_id: str, amount: int, entry: JournalEntry) -> None:
        self.disputes[dispute_id]["status"] = "won"
        self.disputes[dispute_id]["updated_at"] = self.event_time.isoformat()

    @event("DisputeLost")
    def _dispute_lost(
        self, *, dispute_id: str, shares: list[dict[str, Any]], entry: JournalEntry
    ) -> None:
        self.disputes[dispute_id]["status"] = "lost"
        self.disputes[dispute_id]["shares"] = shares
        self.disputes[dispute_id]["updated_at"] = self.event_time.isoformat()
        self._apply_reversal_shares(shares, 1)

    def _require_status(self, expected: str, action: str) -> None:
        if self.status != expected:
            raise IllegalTransition(f"cannot {action} a payment that is {self.status}")

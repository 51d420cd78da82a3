"""Payment: authorization, capture, refunds and disputes, each money move with its journal entry."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate, now, seeded_id
from ledger.domain.errors import (
    DuplicateApproval,
    ExceedsCapturable,
    ExceedsRefundable,
    IllegalTransition,
    InvalidInput,
    SelfApproval,
)
from ledger.domain.ids import dispute_id, refund_id
from ledger.domain.journal import JournalEntry, entry, reverse
from ledger.domain.money import allocate, currency, fee_for, require_amount
from ledger.domain.payment_parts import (
    Approval,
    CapturedShare,
    Dispute,
    DisputedShare,
    Refund,
    ReversalShare,
)
from ledger.domain.splits import MAX_AMOUNT, MAX_SPLITS, Split, bounded_amount, checked_splits

__all__ = ["MAX_AMOUNT", "MAX_SPLITS", "Payment", "refundable_amount"]

CaptureMethod = Literal["automatic", "manual"]
CAPTURE_METHODS: tuple[str, ...] = get_args(CaptureMethod)
PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Refund states whose amount is free again (their booking was reversed).
REFUND_RELEASED = ("failed", "rejected")
_SPLIT_TERMS = frozenset({"fee_bps", "refund_fee_policy"})


def _effective(moment: datetime | None) -> str | None:
    """A moment before now that a provider says something happened at, as fixed-width UTC
    text (the read models' form); None for now."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidInput("effective times must carry a time zone")
    if moment > now():
        raise InvalidInput("an effective time cannot be in the future")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _due(moment: datetime | None) -> str | None:
    """A deadline (usually in the future), as the same fixed-width UTC text."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidInput("deadlines must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def refundable_amount(status: str, captured: int, refunded: int, disputed: int) -> int:
    """What may still be refunded or disputed: the payment's rule, also applied to read-model
    rows that carry these four figures."""
    if status != "captured":
        return 0
    # Never below zero: the provider may report a dispute larger than what was left (a
    # chargeback on a refunded payment), which is booked all the same.
    return max(0, captured - refunded - disputed)


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
        splits: list[Split],
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
        self.captured_shares: list[CapturedShare] = []
        self.refunds: dict[str, Refund] = {}
        self.disputes: dict[str, Dispute] = {}
        # Fee already returned per split index, so returns never exceed the fee taken.
        self.fee_returned: list[int] = [0 for _ in splits]
        self.amount_reversed_per_split: list[int] = [0 for _ in splits]
        # A bank debit sent in a file and not settled yet: what its origination booked.
        self.origination_entry: JournalEntry | None = None
        self.provider_fee_booked = 0  # the provider's fee booked at capture, when it reported one

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
        splits: list[Split],
        metadata: dict[str, Any],
        id_seed: str | None = None,
    ) -> Payment:
        """splits: [{manufacturer_id, amount, fee_bps, refund_fee_policy}], terms in force now."""
        bounded_amount(amount, "amount")
        currency(currency_code)
        if not customer_id.strip():
            raise InvalidInput("customer_id must not be blank")
        if not PROVIDER_NAME.match(provider):
            raise InvalidInput("provider must be a lowercase provider name")
        if not payment_method.strip():
            raise InvalidInput("payment_method must be a provider token")
        if capture_method not in CAPTURE_METHODS:
            raise InvalidInput(f"capture_method must be one of {', '.join(CAPTURE_METHODS)}")
        checked_splits(splits, amount, what="payment", terms=_SPLIT_TERMS)
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
        return refundable_amount(
            self.status, self.amount_captured, self.amount_refunded, self.amount_disputed
        )

    @property
    def manufacturer_ids(self) -> list[str]:
        return [s["manufacturer_id"] for s in self.splits]

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    @property
    def is_captured(self) -> bool:
        return self.status == "captured"

    @property
    def has_failed(self) -> bool:
        return self.status == "failed"

    def refund_awaits_provider(self, refund_id: str) -> bool:
        """Booked and approved, not yet settled by the provider."""
        refund = self.refunds.get(refund_id)
        return refund is not None and refund["status"] == "pending"

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

    def check_void(self) -> None:
        """Raises unless the payment may be voided (checked before the provider is asked)."""
        self._require_status("authorized", "void")

    def void(self) -> None:
        self.check_void()
        self._voided()

    @event("Voided")
    def _voided(self) -> None:
        self.status = "voided"

    # ----- capture ---------------------------------------------------------------------------
    def capture_amount(self, amount: int | None = None) -> int:
        """What a capture of amount (None: all of it) takes; raises unless it is allowed.
        Checked before the provider is asked, and again when the capture is recorded."""
        self._require_status("authorized", "capture")
        value = self.amount if amount is None else require_amount(amount)
        if value > self.amount:
            raise ExceedsCapturable(
                f"capture of {value} exceeds the authorized amount {self.amount}"
            )
        return value

    def capture(
        self,
        amount: int | None = None,
        provider_fee: int | None = None,
        provider_reference: str | None = None,
        *,
        debited_account: str | None = None,
    ) -> None:
        """provider_fee: what the provider kept for this capture, when it reports it; booked
        to the platform's provider-fee expense out of the provider receivable.
        debited_account: where the captured money is (default the provider receivable)."""
        value = self.capture_amount(amount)
        parts = allocate(value, [s["amount"] for s in self.splits])
        shares = [
            CapturedShare(
                manufacturer_id=s["manufacturer_id"], amount=part, fee=fee_for(part, s["fee_bps"])
            )
            for s, part in zip(self.splits, parts, strict=True)
        ]
        debited = debited_account or accounts.provider_receivable(self.provider)
        lines: list[tuple[str, int]] = [(debited, value)]
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
        shares: list[CapturedShare],
        entry: JournalEntry,
        provider_reference: str | None = None,
    ) -> None:
        """provider_reference: the provider's id of the capture when it has its own (PayPal
        captures an authorization under a new id, and refunds name the capture)."""
        self.status = "captured"
        self.amount_captured = amount
        self.captured_shares = shares
        self.provider_fee_booked = sum(
            p["amount"] for p in entry if p["account"] == accounts.PLATFORM_PROVIDER_FEES
        )
        self.capture_reference = provider_reference

    # ----- reversals (refunds and lost disputes share the booking rule) ---------------------
    def _reversal(
        self, amount: int, credit_account: str
    ) -> tuple[list[ReversalShare], JournalEntry]:
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
                ReversalShare(
                    manufacturer_id=split["manufacturer_id"], amount=part, fee_returned=fee_returned
                )
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

    def _apply_reversal_shares(self, shares: list[ReversalShare], sign: int) -> None:
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
        shares: list[ReversalShare],
        entry: JournalEntry,
        # Defaults: events recorded before refund approvals existed.
        requested_by: str = "",
        approvals_required: int = 0,
    ) -> None:
        self.refunds[refund_id] = Refund(
            amount=amount,
            status="pending_approval" if approvals_required else "pending",
            requested_by=requested_by,
            approvals_required=approvals_required,
            approvals=[],
            provider_reference=None,
            reason=reason,
            shares=shares,
            entry=entry,
            failure_reason=None,
            created_at=self.event_time.isoformat(),
            updated_at=self.event_time.isoformat(),
        )
        self._apply_reversal_shares(shares, 1)

    def _refund_in(self, refund_id: str, status: str) -> Refund:
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise IllegalTransition(f"unknown refund {refund_id}")
        if refund["status"] != status:
            raise IllegalTransition(f"refund {refund_id} is {refund['status']}, not {status}")
        return refund

    def _pending_refund(self, refund_id: str) -> Refund:
        return self._refund_in(refund_id, "pending")

    def approve_refund(self, refund_id: str, approver: str, label: str | None = None) -> None:
        refund = self._refund_in(refund_id, "pending_approval")
        if approver == refund["requested_by"]:
            raise SelfApproval("the requester of a refund cannot approve it")
        if any(a["approver"] == approver for a in refund["approvals"]):
            raise DuplicateApproval("this approver has already approved the refund")
        ready = len(refund["approvals"]) + 1 >= refund["approvals_required"]
        self._refund_approved(refund_id=refund_id, approver=approver, ready=ready, label=label)

    @event("RefundApproved")
    def _refund_approved(
        self, *, refund_id: str, approver: str, ready: bool, label: str | None = None
    ) -> None:
        """ready: this was the last approval needed; the refund goes to the provider."""
        refund = self.refunds[refund_id]
        refund["approvals"].append(
            Approval(approver=approver, at=self.event_time.isoformat(), approver_label=label)
        )
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
        shares: list[ReversalShare],
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
        self, *, refund_id: str, reason: str, shares: list[ReversalShare], entry: JournalEntry
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
        effective_at: datetime | None = None,
        *,
        beyond_refundable: bool = False,
        evidence_due_by: datetime | None = None,
    ) -> str:
        """provider_fee: the provider's dispute fee, when it reports one (an expense of the
        platform whatever the outcome). effective_at: when the provider opened it, if earlier
        than now (a late webhook); statements book it by that time. beyond_refundable: the
        provider reports the dispute, so its money has moved whatever is left to refund; if it
        is lost, what cannot be taken back from the manufacturers is the platform's loss.
        evidence_due_by: when the provider must have the evidence contesting it."""
        require_amount(amount)
        effective = _effective(effective_at)
        if self.status != "captured":
            raise IllegalTransition(f"cannot dispute a payment that is {self.status}")
        if amount > MAX_AMOUNT:
            raise InvalidInput(f"dispute of {amount} exceeds the largest amount {MAX_AMOUNT}")
        if amount > self.refundable and not beyond_refundable:
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
            shares=self._dispute_shares(amount),
            effective_at=effective,
            evidence_due_by=_due(evidence_due_by),
        )
        return new_id

    def _dispute_shares(self, amount: int) -> list[DisputedShare]:
        """Each manufacturer's part of a disputed amount (what a loss would take back: no more
        than is still captured and not taken back; the rest would be the platform's)."""
        room = self.amount_captured - sum(self.amount_reversed_per_split)
        amount = max(0, min(amount, room))
        if not amount:
            return []
        parts = self._reversal_parts(amount)
        return [
            DisputedShare(manufacturer_id=split["manufacturer_id"], amount=part)
            for split, part in zip(self.splits, parts, strict=True)
        ]

    @event("DisputeOpened")
    def _dispute_opened(
        self,
        *,
        dispute_id: str,
        amount: int,
        reason: str | None,
        entry: JournalEntry,
        provider_reference: str | None = None,
        shares: list[DisputedShare] | None = None,
        effective_at: str | None = None,
        evidence_due_by: str | None = None,
    ) -> None:
        self.disputes[dispute_id] = Dispute(
            amount=amount,
            provider_reference=provider_reference,
            status="open",
            reason=reason,
            created_at=self.event_time.isoformat(),
            updated_at=self.event_time.isoformat(),
            evidence_due_by=evidence_due_by,
        )

    def close_dispute(
        self, dispute_id: str, outcome: str, effective_at: datetime | None = None
    ) -> None:
        effective = _effective(effective_at)
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
            self._dispute_won(
                dispute_id=dispute_id,
                amount=amount,
                entry=booking,
                shares=self._dispute_shares(amount),
                effective_at=effective,
            )
        elif outcome == "lost":
            # What is still captured and not yet taken back is reversed from the manufacturers;
            # the rest (the payment was refunded meanwhile) is the platform's loss.
            room = self.amount_captured - sum(self.amount_reversed_per_split)
            covered = max(0, min(amount, room))
            disputed = accounts.provider_disputed(self.provider)
            shares: list[ReversalShare] = []
            lines: list[tuple[str, int]] = []
            if covered:
                shares, reversal = self._reversal(covered, disputed)
                lines = [(posting["account"], posting["amount"]) for posting in reversal]
            platform_share = amount - covered
            lines += [
                (accounts.PLATFORM_DISPUTE_LOSSES, platform_share),
                (disputed, -platform_share),
            ]
            self._dispute_lost(
                dispute_id=dispute_id,
                shares=shares,
                entry=entry(self.currency, lines),
                platform_share=platform_share,
                effective_at=effective,
            )
        else:
            raise InvalidInput("outcome must be 'won' or 'lost'")

    @event("DisputeWon")
    def _dispute_won(
        self,
        *,
        dispute_id: str,
        amount: int,
        entry: JournalEntry,
        shares: list[DisputedShare] | None = None,
        effective_at: str | None = None,
    ) -> None:
        self.disputes[dispute_id]["status"] = "won"
        self.disputes[dispute_id]["updated_at"] = self.event_time.isoformat()

    @event("DisputeLost")
    def _dispute_lost(
        self,
        *,
        dispute_id: str,
        shares: list[ReversalShare],
        entry: JournalEntry,
        platform_share: int = 0,  # default: events recorded before it existed
        effective_at: str | None = None,
    ) -> None:
        self.disputes[dispute_id]["status"] = "lost"
        self.disputes[dispute_id]["shares"] = shares
        self.disputes[dispute_id]["platform_share"] = platform_share
        self.disputes[dispute_id]["updated_at"] = self.event_time.isoformat()
        self._apply_reversal_shares(shares, 1)

    # ----- what providers report (webhooks, ACH returns) -----------------------------------
    # Reports may come late, twice or out of order: each says what it changed, or why nothing.
    def provider_succeeded(self, reference: str, fee: int | None) -> str:
        if self.status in ("pending", "failed"):
            # A failed attempt can be followed by a successful one on the same provider payment
            # (Stripe: a new confirmation after a failed 3-D Secure): the money decides.
            self.authorize(reference)
        if self.status == "authorized" and self.capture_method == "automatic":
            self.capture(provider_fee=fee)
            return "captured"
        return "authorized" if self.status == "authorized" else "already recorded"

    def provider_failed(self, reason: str | None) -> str:
        if self.status != "pending":
            return f"ignored: the payment is {self.status}"
        self.fail(reason or "failed at the provider")
        return "failed"

    def provider_refund(
        self,
        *,
        succeeded: bool,
        refund_id: str | None,
        reference: str | None,
        amount: int | None,
        reason: str | None,
    ) -> str:
        if refund_id is None and reference is not None:
            refund_id = self.refund_by_reference(reference)
        if refund_id is None or refund_id not in self.refunds:
            if not succeeded or not amount:
                return "ignored: unknown refund"
            # A refund made at the provider directly (its dashboard): book it as it happened.
            superseded = self._make_room_for_provider_refund(amount, reference)
            refund_id = self.request_refund(amount, "refunded at the provider")
            self.complete_refund(refund_id, reference)
            if superseded:
                return f"refund succeeded; superseded: {', '.join(superseded)}"
            return "refund succeeded"
        status = self.refunds[refund_id]["status"]
        if status == "succeeded" and not succeeded:
            # Rare (the customer's account closed after the refund was sent): the money came
            # back to the provider. Not reversed automatically; reported for an operator.
            return "needs attention: the refund failed after it had succeeded"
        if status != "pending":
            return f"already {status}"
        if succeeded:
            self.complete_refund(refund_id, reference)
            return "refund succeeded"
        self.fail_refund(refund_id, reason or "failed at the provider")
        return "refund failed"

    def _make_room_for_provider_refund(self, amount: int, reference: str | None) -> list[str]:
        """A refund made at the provider while ledger refunds await approval: the money has
        gone, so refunds still awaiting approval are rejected (newest first) until it fits,
        and can never be approved into a second refund. Returns the ids rejected."""
        superseded: list[str] = []
        waiting = [k for k, r in self.refunds.items() if r["status"] == "pending_approval"]
        for waiting_id in reversed(waiting):
            if amount <= self.refundable:
                break
            where = f" ({reference})" if reference else ""
            self.reject_refund(
                waiting_id, "provider", f"superseded by a refund made at the provider{where}"
            )
            superseded.append(waiting_id)
        return superseded

    def provider_dispute(
        self,
        *,
        closed: bool,
        reference: str,
        amount: int | None,
        reason: str | None,
        outcome: str | None,
        fee: int | None,
        evidence_due_by: datetime | None = None,
    ) -> str:
        dispute_id = self.dispute_by_reference(reference)
        if dispute_id is None:
            if not amount:
                return "ignored: dispute without an amount"
            dispute_id = self.open_dispute(
                amount,
                reason,
                reference,
                provider_fee=fee,
                beyond_refundable=True,
                evidence_due_by=evidence_due_by,
            )
            if not closed:
                return "dispute opened"
        status = self.disputes[dispute_id]["status"]
        if not closed or status != "open":
            return f"already {status}"
        self.close_dispute(dispute_id, outcome or "lost")
        return f"dispute {outcome or 'lost'}"

    # ----- bank debits (ACH): sent in a file, settled on its effective date ----------------
    def originate_debit(self, trace: str) -> None:
        """The debit went out in a file: the bank will collect it, but it can still be returned,
        so it is owed to no manufacturer yet (receivable against the unsettled clearing)."""
        self._require_status("pending", "originate")
        booking = entry(
            self.currency,
            [
                (accounts.provider_receivable(self.provider), self.amount),
                (accounts.provider_unsettled(self.provider), -self.amount),
            ],
        )
        self._debit_originated(provider_reference=trace, entry=booking)

    @event("DebitOriginated")
    def _debit_originated(self, *, provider_reference: str, entry: JournalEntry) -> None:
        self.status = "authorized"
        self.provider_reference = provider_reference
        self.origination_entry = entry

    @property
    def debit_unsettled(self) -> bool:
        return self.status == "authorized" and self.origination_entry is not None

    def settle_debit(self) -> None:
        """Its file settled: captured, so the manufacturers are owed their shares now."""
        if not self.debit_unsettled:
            raise IllegalTransition(f"cannot settle a debit that is {self.status}")
        self.capture(
            provider_reference=self.provider_reference,
            debited_account=accounts.provider_unsettled(self.provider),
        )

    @event("DebitReturned")
    def _debit_returned(self, *, reason: str, entry: JournalEntry) -> None:
        self.status = "failed"
        self.failure_reason = reason

    def debit_returned(self, public_id: str, reason: str) -> str:
        """A returned bank debit (ACH) never reached the platform. Before its file settled it
        was owed to no one: the origination is reversed and the payment fails. After, what is
        still held is taken back from the manufacturers like a lost chargeback (refunds
        already made stay)."""
        if self.status == "pending":
            self.fail(reason)
            return f"payment {public_id} failed"
        if self.debit_unsettled and self.origination_entry is not None:
            self._debit_returned(reason=reason, entry=reverse(self.origination_entry))
            return f"payment {public_id} returned before settlement"
        if self.status != "captured" or self.refundable == 0:
            return f"ignored: payment is {self.status} with nothing left to return"
        returned = self.refundable
        dispute_id = self.open_dispute(returned, reason, f"return:{public_id}")
        self.close_dispute(dispute_id, "lost")
        if self.origination_entry is not None:
            # Its file settled (platform:cash was booked): the bank takes the money back.
            receivable = accounts.provider_receivable(self.provider)
            self._debit_reclaimed(
                entry=entry(
                    self.currency, [(receivable, returned), (accounts.PLATFORM_CASH, -returned)]
                )
            )
        return f"payment {public_id} returned"

    @event("DebitReclaimed")
    def _debit_reclaimed(self, *, entry: JournalEntry) -> None:
        pass

    def _require_status(self, expected: str, action: str) -> None:
        if self.status != expected:
            raise IllegalTransition(f"cannot {action} a payment that is {self.status}")

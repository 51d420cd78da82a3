"""Payout: paying a manufacturer from its payable balance, with multi-party approval."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate, seeded_id
from ledger.domain.errors import DuplicateApproval, IllegalTransition, SelfApproval
from ledger.domain.journal import JournalEntry, entry
from ledger.domain.money import currency, require_amount
from ledger.domain.payment_parts import Approval


class Payout(LedgerAggregate):
    """States: pending_approval -> approved -> executing [-> submitted (in an ACH batch)] -> paid
    -> returned (an ACH return); approved | executing -> failed (the balance no longer covers it,
    or the rail refused it); pending_approval | approved -> rejected (by an approver, or on expiry
    of the approval window).

    Approval moves it to "approved"; the payout-execution worker then pays it on its rail."""

    @staticmethod
    def create_id(id_seed: str | None = None) -> UUID:
        return seeded_id(id_seed)

    @event("Requested")
    def __init__(
        self,
        *,
        manufacturer_id: str,
        amount: int,
        currency: str,
        requested_by: str,
        approvals_required: int,
        approval_expires_at: str | None = None,
        id_seed: str | None = None,
    ) -> None:
        self.manufacturer_id = manufacturer_id
        self.approval_expires_at = approval_expires_at
        self.provider_reference: str | None = None
        self.failure_reason: str | None = None
        self.rail: str | None = None
        self.amount = amount
        self.currency = currency
        self.requested_by = requested_by
        self.approvals_required = approvals_required
        self.approvals: list[Approval] = []
        self.status = "pending_approval" if approvals_required else "approved"
        self.rejection: dict[str, Any] | None = None

    @classmethod
    def request(
        cls,
        *,
        manufacturer_id: str,
        amount: int,
        currency_code: str,
        requested_by: str,
        approvals_required: int,
        approval_expires_at: datetime | None = None,
        id_seed: str | None = None,
    ) -> Payout:
        require_amount(amount)
        currency(currency_code)
        return cls(
            manufacturer_id=manufacturer_id,
            amount=amount,
            currency=currency_code,
            requested_by=requested_by,
            approvals_required=approvals_required,
            approval_expires_at=(
                approval_expires_at.isoformat()
                if approvals_required and approval_expires_at is not None
                else None
            ),
            id_seed=id_seed,
        )

    @property
    def awaiting_approval(self) -> bool:
        return self.status == "pending_approval"

    @property
    def is_approved(self) -> bool:
        """Approved and not yet started on a rail: the payout workflow may pay it."""
        return self.status == "approved"

    @property
    def is_executing(self) -> bool:
        return self.status == "executing"

    @property
    def is_submitted(self) -> bool:
        """Handed to a batching rail (ACH), waiting for its file."""
        return self.status == "submitted"

    @property
    def is_paid(self) -> bool:
        return self.status == "paid"

    @property
    def is_unsettled(self) -> bool:
        """Approved or executing: its money has neither left nor been refused yet."""
        return self.status in ("approved", "executing")

    def approval_expired(self, at: datetime) -> bool:
        return (
            self.status == "pending_approval"
            and self.approval_expires_at is not None
            and at >= datetime.fromisoformat(self.approval_expires_at)
        )

    def approve(self, approver: str, label: str | None = None) -> None:
        if self.status != "pending_approval":
            raise IllegalTransition(f"cannot approve a payout that is {self.status}")
        if approver == self.requested_by:
            raise SelfApproval("the requester of a payout cannot approve it")
        if any(a["approver"] == approver for a in self.approvals):
            raise DuplicateApproval("this approver has already approved the payout")
        ready = len(self.approvals) + 1 >= self.approvals_required
        self._approved(approver=approver, ready=ready, label=label)

    @event("Approved")
    def _approved(
        self, *, approver: str, ready: bool | None = None, label: str | None = None
    ) -> None:
        """ready: this was the last approval needed; the payout workflow pays it (None in
        events recorded before the field existed: then it is counted)."""
        if ready is None:
            ready = len(self.approvals) + 1 >= self.approvals_required
        self.approvals.append(
            Approval(approver=approver, at=self.event_time.isoformat(), approver_label=label)
        )
        if ready:
            self.status = "approved"

    def reject(self, by: str, reason: str | None) -> None:
        if self.status not in ("pending_approval", "approved"):
            raise IllegalTransition(f"cannot reject a payout that is {self.status}")
        self._rejected(by=by, reason=reason)

    @event("Rejected")
    def _rejected(self, *, by: str, reason: str | None) -> None:
        self.status = "rejected"
        self.rejection = {"by": by, "reason": reason, "at": self.event_time.isoformat()}

    def start(self, rail: str) -> None:
        """The payout workflow is about to ask the rail to pay: from here on it can no longer be
        rejected, and a redelivered message finishes this attempt on this rail."""
        if self.status != "approved":
            raise IllegalTransition(f"cannot pay a payout that is {self.status}")
        self._started(rail=rail)

    @event("Executing")
    def _started(self, *, rail: str) -> None:
        self.status = "executing"
        self.rail = rail

    def submit(self, reference: str) -> None:
        """Handed to a batching rail (ACH): still reserved, paid when its file goes out."""
        if self.status != "executing":
            raise IllegalTransition(f"cannot submit a payout that is {self.status}")
        self._submitted(reference=reference)

    @event("Submitted")
    def _submitted(self, *, reference: str) -> None:
        self.status = "submitted"
        self.provider_reference = reference or None

    def mark_paid(self, provider_reference: str) -> None:
        if self.status not in ("executing", "submitted"):
            raise IllegalTransition(f"cannot pay a payout that is {self.status}")
        booking = entry(
            self.currency,
            [
                (accounts.manufacturer_payable(self.manufacturer_id), self.amount),
                (accounts.PLATFORM_CASH, -self.amount),
            ],
        )
        self._paid(provider_reference=provider_reference, entry=booking)

    @event("Paid")
    def _paid(self, *, provider_reference: str, entry: JournalEntry) -> None:
        self.status = "paid"
        self.provider_reference = provider_reference

    def fail(self, reason: str) -> None:
        """The rail refused the payout (or the balance no longer covers it): nothing was paid."""
        if self.status not in ("approved", "executing", "submitted"):
            raise IllegalTransition(f"cannot fail a payout that is {self.status}")
        self._failed(reason=reason)

    @event("Failed")
    def _failed(self, *, reason: str) -> None:
        self.status = "failed"
        self.failure_reason = reason

    def mark_returned(self, reason: str) -> None:
        """The bank returned a paid payout (an ACH return): the money is owed again."""
        if self.status != "paid":
            raise IllegalTransition(f"cannot return a payout that is {self.status}")
        booking = entry(
            self.currency,
            [
                (accounts.PLATFORM_CASH, self.amount),
                (accounts.manufacturer_payable(self.manufacturer_id), -self.amount),
            ],
        )
        self._returned(reason=reason, entry=booking)

    @event("Returned")
    def _returned(self, *, reason: str, entry: JournalEntry) -> None:
        self.status = "returned"
        self.failure_reason = reason

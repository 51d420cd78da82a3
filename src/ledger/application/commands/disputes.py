"""Disputes (chargebacks) recorded by hand: opened on a captured payment, closed won or lost.
Provider-reported disputes arrive through ledger.application.processes.provider_events."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application.periods import effective_time
from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.payment import Payment

DisputeResult = tuple[Payment, str]


@requires("payments:write")
def open_(
    principal: Principal,
    payment_id: str,
    amount: int,
    reason: str | None,
    opened_at: str | None = None,
    evidence_due_by: str | None = None,
) -> Callable[[UnitOfWork], DisputeResult]:
    """opened_at: when the provider opened it, if before now (statements book it then).
    evidence_due_by: when the provider must have the evidence contesting it."""
    effective = effective_time(opened_at, "opened_at")
    due = effective_time(evidence_due_by, "evidence_due_by")

    def command(uow: UnitOfWork) -> DisputeResult:
        payment = uow.payments.for_write(principal, payment_id)
        dispute = payment.open_dispute(amount, reason, effective_at=effective, evidence_due_by=due)
        return payment, dispute

    return command


@requires("payments:write")
def close(
    principal: Principal, dispute_id: str, outcome: str, closed_at: str | None = None
) -> Callable[[UnitOfWork], DisputeResult]:
    effective = effective_time(closed_at, "closed_at")

    def command(uow: UnitOfWork) -> DisputeResult:
        payment = uow.payments.of_dispute(principal, dispute_id)
        payment.close_dispute(dispute_id, outcome, effective_at=effective)
        return payment, dispute_id

    return command

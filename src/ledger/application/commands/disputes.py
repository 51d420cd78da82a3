"""Disputes (chargebacks) recorded by hand: opened on a captured payment, closed won or lost.
Provider-reported disputes arrive through ledger.application.processes.provider_events."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.payment import Payment

DisputeResult = tuple[Payment, str]


@requires("payments:write")
def open_(
    principal: Principal, payment_id: str, amount: int, reason: str | None
) -> Callable[[UnitOfWork], DisputeResult]:

    def command(uow: UnitOfWork) -> DisputeResult:
        payment = uow.payments.for_write(principal, payment_id)
        return payment, payment.open_dispute(amount, reason)

    return command


@requires("payments:write")
def close(
    principal: Principal, dispute_id: str, outcome: str
) -> Callable[[UnitOfWork], DisputeResult]:

    def command(uow: UnitOfWork) -> DisputeResult:
        payment = uow.payments.of_dispute(principal, dispute_id)
        payment.close_dispute(dispute_id, outcome)
        return payment, dispute_id

    return command

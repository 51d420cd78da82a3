"""Refunds: booked at once (the amount reserved), approved or rejected when the manufacturers'
refund policy asks for approvals; the refund-execution workflow executes them at the provider."""

from __future__ import annotations

from collections.abc import Callable

from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.manufacturer_settings import refund_approvals_needed
from ledger.domain.payment import Payment

RefundResult = tuple[Payment, str]


@requires("payments:write")
def request(
    principal: Principal, payment_id: str, amount: int, reason: str | None
) -> Callable[[UnitOfWork], RefundResult]:

    def command(uow: UnitOfWork) -> RefundResult:
        payment = uow.payments.for_write(principal, payment_id)
        approvals = 0
        for manufacturer_id in payment.manufacturer_ids:
            manufacturer = uow.manufacturers.read(manufacturer_id)
            if manufacturer is not None:
                approvals = max(
                    approvals,
                    refund_approvals_needed(manufacturer.settings, amount, payment.currency),
                )
        refund_id = payment.request_refund(
            amount, reason, requested_by=principal.key_id, approvals_required=approvals
        )
        return payment, refund_id

    return command


@requires("refunds:approve")
def approve(principal: Principal, refund_id: str) -> Callable[[UnitOfWork], RefundResult]:

    def command(uow: UnitOfWork) -> RefundResult:
        payment = uow.payments.of_refund(principal, refund_id)
        payment.approve_refund(refund_id, principal.key_id, principal.label)
        return payment, refund_id

    return command


@requires("refunds:approve")
def reject(
    principal: Principal, refund_id: str, reason: str | None
) -> Callable[[UnitOfWork], RefundResult]:

    def command(uow: UnitOfWork) -> RefundResult:
        payment = uow.payments.of_refund(principal, refund_id)
        payment.reject_refund(refund_id, principal.key_id, reason)
        return payment, refund_id

    return command

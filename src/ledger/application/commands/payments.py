"""Creating payments (authorized, and captured at once when automatic), capturing and voiding
them. The provider is called inside the command, never holding up other commands, with
idempotency keys made of the payment's id, so a retried command never charges twice."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ledger.application.errors import ProviderRefused
from ledger.application.ports import AuthorizationRequest, CaptureRequest, VoidRequest
from ledger.application.principal import Principal, requires
from ledger.application.registries import pending_payments
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.errors import InvalidInput
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment
from ledger.domain.provider_records import ProviderLink
from ledger.domain.splits import Split


def split_manufacturers(
    uow: UnitOfWork, principal: Principal, splits: Sequence[dict[str, Any]]
) -> list[Manufacturer]:
    """The manufacturers of splits, in order, as they are now; 422 for any the key may not use."""
    found = []
    for split in splits:
        manufacturer = uow.manufacturers.usable_by(principal, split["manufacturer_id"])
        if manufacturer is None:
            raise InvalidInput(f"unknown manufacturer '{split['manufacturer_id']}' in splits")
        found.append(manufacturer)
    return found


def routed_provider(chosen: str | None, manufacturers: list[Manufacturer]) -> str:
    """The payment's own choice, else its first manufacturer's routing."""
    return chosen or (manufacturers[0].settings["provider"] if manufacturers else "sandbox")


def checked_method(uow: UnitOfWork, provider: str, payment_method: str) -> None:
    """422 now, before anything is recorded: a provider that is not configured, or a payment
    method it cannot take."""
    problem = uow.provider(provider).check_payment_method(payment_method)
    if problem:
        raise InvalidInput(problem)


@requires("payments:write")
def create(principal: Principal, fields: dict[str, Any]) -> Callable[[UnitOfWork], Payment]:

    def command(uow: UnitOfWork) -> Payment:
        manufacturers = split_manufacturers(uow, principal, fields["splits"])
        splits = [
            Split(
                manufacturer_id=split["manufacturer_id"],
                amount=split["amount"],
                fee_bps=manufacturer.fee_bps,
                refund_fee_policy=manufacturer.refund_fee_policy,
            )
            for split, manufacturer in zip(fields["splits"], manufacturers, strict=True)
        ]
        payment = Payment.initiate(
            amount=fields["amount"],
            currency_code=fields["currency"],
            customer_id=fields["customer_id"],
            provider=routed_provider(fields.get("provider"), manufacturers),
            payment_method=fields["payment_method"],
            capture_method=fields["capture_method"],
            splits=splits,
            metadata=fields.get("metadata") or {},
            id_seed=uow.seed("payment"),
        )
        checked_method(uow, payment.provider, payment.payment_method)
        _authorize(uow, payment)
        return uow.add(payment)

    return command


def _authorize(uow: UnitOfWork, payment: Payment) -> None:
    provider = uow.provider(payment.provider)
    public_id = ids.encode("payment", payment.id)
    automatic = payment.capture_method == "automatic"
    request = AuthorizationRequest(
        payment_id=public_id,
        amount=payment.amount,
        currency=payment.currency,
        payment_method=payment.payment_method,
        idempotency_key=f"{public_id}:authorize",
        capture=automatic,
        customer_id=payment.customer_id,
    )
    result = uow.call_provider(provider, provider.authorize, request)
    if result.status == "succeeded":
        payment.authorize(result.reference)
        if automatic:
            payment.capture(provider_fee=result.fee)
    elif result.status == "failed":
        payment.fail(result.failure_reason or "declined by the provider")
    # "pending": the provider decides later (3-D Secure: its webhook settles it; ACH debits:
    # collected by the next NACHA file, listed in the provider's pending-payments registry).
    if result.status == "pending" and provider.capabilities.batches:
        uow.registry(pending_payments(payment.provider), public_id).add(public_id)
    if result.reference and provider.capabilities.sends_webhooks:
        uow.add(ProviderLink(payment.provider, result.reference, public_id))


@requires("payments:write")
def capture(
    principal: Principal, public_id: str, amount: int | None
) -> Callable[[UnitOfWork], Payment]:

    def command(uow: UnitOfWork) -> Payment:
        payment = uow.payments.for_write(principal, public_id)
        value = payment.capture_amount(amount)
        provider = uow.provider(payment.provider)
        request = CaptureRequest(
            payment_id=public_id,
            provider_reference=payment.provider_reference or "",
            amount=value,
            currency=payment.currency,
            idempotency_key=f"{public_id}:capture",
        )
        result = uow.call_provider(provider, provider.capture, request)
        if result.status != "succeeded":
            raise ProviderRefused(
                f"the provider did not capture: {result.failure_reason or result.status}"
            )
        payment.capture(value, provider_fee=result.fee, provider_reference=result.reference)
        if (
            result.reference
            and result.reference != payment.provider_reference
            and provider.capabilities.sends_webhooks
        ):
            uow.add(ProviderLink(payment.provider, result.reference, public_id))
        return payment

    return command


@requires("payments:write")
def void(principal: Principal, public_id: str) -> Callable[[UnitOfWork], Payment]:

    def command(uow: UnitOfWork) -> Payment:
        payment = uow.payments.for_write(principal, public_id)
        payment.check_void()
        provider = uow.provider(payment.provider)
        request = VoidRequest(
            payment_id=public_id,
            provider_reference=payment.provider_reference or "",
            idempotency_key=f"{public_id}:void",
        )
        result = uow.call_provider(provider, provider.void, request)
        if result.status != "succeeded":
            raise ProviderRefused(
                f"the provider did not void: {result.failure_reason or result.status}"
            )
        payment.void()
        return payment

    return command

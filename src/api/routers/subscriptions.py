from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import (
    IdempotencyKeyHeader,
    PaymentsRead,
    PaymentsWrite,
    ServiceDep,
    run_command,
)
from api.schemas import CancelIn, InvoiceList, InvoiceOut, SubscriptionIn, SubscriptionOut
from ledger.application import billing
from ledger.domain import ids
from ledger.domain.subscription import Subscription

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    next_on = subscription.next_billing_on
    return SubscriptionOut(
        id=ids.encode("subscription", subscription.id),
        customer_id=subscription.customer_id,
        provider=subscription.provider,
        amount=subscription.amount,
        currency=subscription.currency,
        splits=subscription.splits,
        interval=subscription.interval,
        anchor_on=subscription.anchor_on,
        trial_ends_on=subscription.trial_ends_on,
        dunning=list(subscription.dunning),
        status=subscription.status,
        next_billing_on=next_on.isoformat() if next_on is not None else None,
        cancellation=subscription.cancellation,
        created_at=subscription.created_on.isoformat(),
        updated_at=subscription.modified_on.isoformat(),
    )


def _invoice_out(invoice: dict[str, Any]) -> InvoiceOut:
    fields = set(InvoiceOut.model_fields)
    return InvoiceOut(**{k: v for k, v in invoice.items() if k in fields})


@router.post("", status_code=201, response_model=SubscriptionOut)
def start_subscription(
    body: SubscriptionIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Bill a customer every interval from the anchor (start_on + trial_days), split across
    manufacturers; the billing run charges each period exactly once."""
    fields = body.model_dump(exclude_none=True)
    fields["splits"] = [split.model_dump() for split in body.splits]
    return run_command(
        request,
        service,
        principal,
        billing.start_subscription(service, principal, fields),
        subscription_out,
        status=201,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.get("/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(
    subscription_id: str, principal: PaymentsRead, service: ServiceDep
) -> SubscriptionOut:
    return subscription_out(billing.subscription(service, principal, subscription_id))


@router.post("/{subscription_id}/cancel", response_model=SubscriptionOut)
def cancel_subscription(
    subscription_id: str,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    body: CancelIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Cancel at once: no further charges; an invoice waiting for a retry is voided."""
    body = body or CancelIn()
    return run_command(
        request,
        service,
        principal,
        billing.cancel_subscription(principal, subscription_id, body.reason),
        subscription_out,
        status=200,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.get("/{subscription_id}/invoices", response_model=InvoiceList)
def list_invoices(
    subscription_id: str, principal: PaymentsRead, service: ServiceDep
) -> InvoiceList:
    """Invoices oldest first, with every attempt and its payment."""
    found = billing.subscription(service, principal, subscription_id)
    return InvoiceList(data=[_invoice_out(invoice) for invoice in found.invoice_list()])

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.render import invoice_out, subscription_out
from api.schemas import CancelIn, InvoiceList, SubscriptionIn, SubscriptionOut
from ledger.application.commands import subscriptions
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post(
    "", status_code=201, response_model=SubscriptionOut, dependencies=[needs(subscriptions.start)]
)
def start_subscription(body: SubscriptionIn, principal: Caller, send: Send) -> Response:
    """Bill a customer every interval from the anchor (start_on + trial_days), split across
    manufacturers; the billing run charges each period exactly once."""
    fields = body.model_dump(exclude_none=True)
    fields["splits"] = [split.model_dump() for split in body.splits]
    command = subscriptions.start(principal, fields)
    return send(command, subscription_out, status=201, body=body)


@router.get(
    "/{subscription_id}", response_model=SubscriptionOut, dependencies=[needs(Queries.subscription)]
)
def get_subscription(
    subscription_id: str, principal: Caller, queries: QueriesDep
) -> SubscriptionOut:
    return subscription_out(queries.subscription(principal, subscription_id))


@router.post(
    "/{subscription_id}/cancel",
    response_model=SubscriptionOut,
    dependencies=[needs(subscriptions.cancel)],
)
def cancel_subscription(
    subscription_id: str, principal: Caller, send: Send, body: CancelIn | None = None
) -> Response:
    """Cancel at once: no further charges; an invoice waiting for a retry is voided."""
    body = body or CancelIn()
    command = subscriptions.cancel(principal, subscription_id, body.reason)
    return send(command, subscription_out, body=body)


@router.get(
    "/{subscription_id}/invoices",
    response_model=InvoiceList,
    dependencies=[needs(Queries.subscription)],
)
def list_invoices(subscription_id: str, principal: Caller, queries: QueriesDep) -> InvoiceList:
    """Invoices oldest first, with every attempt and its payment."""
    found = queries.subscription(principal, subscription_id)
    return InvoiceList(data=[invoice_out(invoice) for invoice in found.invoice_list()])

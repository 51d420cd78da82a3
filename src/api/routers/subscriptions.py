from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Send, needs
from api.listings import (
    LIST_RESPONSES,
    Cursor,
    Limit,
    ManufacturerFilter,
    SubscriptionList,
    SubscriptionStatus,
    SubscriptionSummary,
    answer_list,
    rows_of,
)
from api.render import invoice_out, subscription_out
from api.request_rules import REQUEST_RULES
from api.schemas import CancelIn, InvoiceList, SubscriptionIn, SubscriptionOut
from ledger.application.commands import subscriptions
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], dependencies=REQUEST_RULES)


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


@router.get(
    "",
    response_model=SubscriptionList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.subscriptions_page)],
)
def list_subscriptions(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    status: SubscriptionStatus | None = None,
    manufacturer_id: ManufacturerFilter = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> SubscriptionList | Response:
    """Subscriptions newest first, from the read model; a bound key lists only those wholly its
    own (and sees only itself in `manufacturer_ids`). JSON, or CSV with `Accept: text/csv`."""
    page = queries.subscriptions_page(
        principal, manufacturer_id=manufacturer_id, status=status, cursor=cursor, limit=limit
    )
    data = rows_of(SubscriptionSummary, page, "subscription_id")
    for row in data:
        row.manufacturer_ids = [m for m in row.manufacturer_ids if principal.sees_manufacturer(m)]
    return answer_list(request, SubscriptionList, data, page.next_cursor, queries.freshness())

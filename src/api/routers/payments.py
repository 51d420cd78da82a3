from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Caller, QueriesDep, Sender, needs, sending
from api.listings import (
    LIST_RESPONSES,
    CreatedFrom,
    CreatedTo,
    Cursor,
    Limit,
    ManufacturerFilter,
    PaymentStatus,
    answer_list,
)
from api.render import dispute_out, payment_out, payment_summary, refund_out
from api.request_rules import REQUEST_RULES
from api.schemas import (
    CaptureIn,
    DisputeIn,
    DisputeOut,
    EventOut,
    PaymentIn,
    PaymentList,
    PaymentOut,
    RefundIn,
    RefundOut,
)
from ledger.application.commands import disputes, payments, refunds
from ledger.application.event_json import event_data
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/payments", tags=["payments"], dependencies=REQUEST_RULES)


@router.post("", status_code=201, response_model=PaymentOut)
async def create_payment(
    body: PaymentIn, send: Annotated[Sender, sending(payments.create)]
) -> Response:
    """Authorize (and, with capture_method=automatic, capture) a payment split across
    manufacturers. Needs `payments:write` and an Idempotency-Key."""
    principal = send.principal
    command = payments.create(principal, body.model_dump())
    return await send.run(
        command, lambda payment: payment_out(payment, principal), status=201, body=body
    )


@router.get(
    "",
    response_model=PaymentList,
    responses=LIST_RESPONSES,
    dependencies=[needs(Queries.payments_page)],
)
def list_payments(
    request: Request,
    principal: Caller,
    queries: QueriesDep,
    manufacturer_id: ManufacturerFilter = None,
    status: PaymentStatus | None = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    cursor: Cursor = None,
    limit: Limit = 25,
) -> PaymentList | Response:
    """Payments newest first, from the read model (see `freshness`). JSON, or CSV with
    `Accept: text/csv`."""
    page = queries.payments_page(
        principal,
        manufacturer_id=manufacturer_id,
        status=status,
        created_from=created_from,
        created_to=created_to,
        cursor=cursor,
        limit=limit,
    )
    data = [payment_summary(row, principal.manufacturer_id) for row in page.rows]
    return answer_list(request, PaymentList, data, page.next_cursor, queries.freshness())


@router.get("/{payment_id}", response_model=PaymentOut, dependencies=[needs(Queries.payment)])
def get_payment(payment_id: str, principal: Caller, queries: QueriesDep) -> PaymentOut:
    """Read straight from the event store: always current."""
    return payment_out(queries.payment(principal, payment_id), principal)


@router.get(
    "/{payment_id}/events",
    response_model=list[EventOut],
    dependencies=[needs(Queries.payment_history)],
)
def payment_events(payment_id: str, principal: Caller, queries: QueriesDep) -> list[EventOut]:
    """The payment's immutable history, oldest first."""
    history = []
    event: Any
    for event in queries.payment_history(principal, payment_id):
        history.append(
            EventOut(
                version=event.originator_version,
                type=type(event).__qualname__.split(".", 1)[-1],
                recorded_at=event.timestamp.isoformat(),
                data=event_data(event),
            )
        )
    return history


@router.post("/{payment_id}/capture", response_model=PaymentOut)
async def capture_payment(
    payment_id: str,
    send: Annotated[Sender, sending(payments.capture)],
    body: CaptureIn | None = None,
) -> Response:
    """Capture an authorized payment, fully or partially (once)."""
    principal = send.principal
    body = body or CaptureIn()
    command = payments.capture(principal, payment_id, body.amount)
    return await send.run(command, lambda payment: payment_out(payment, principal), body=body)


@router.post("/{payment_id}/void", response_model=PaymentOut)
async def void_payment(
    payment_id: str, send: Annotated[Sender, sending(payments.void)]
) -> Response:
    principal = send.principal
    command = payments.void(principal, payment_id)
    return await send.run(command, lambda payment: payment_out(payment, principal))


@router.post(
    "/{payment_id}/refunds",
    status_code=201,
    response_model=RefundOut,
)
async def refund_payment(
    payment_id: str, body: RefundIn, send: Annotated[Sender, sending(refunds.request)]
) -> Response:
    """Refund part or all of the captured amount; never more than what is still refundable.
    The refund is booked at once and executed at the provider by the refund-execution workflow
    (status `pending`), after approvals when the manufacturers' refund policy asks for them
    (status `pending_approval`)."""
    command = refunds.request(send.principal, payment_id, body.amount, body.reason)
    return await send.run(command, refund_out, status=201, body=body)


@router.post(
    "/{payment_id}/disputes",
    status_code=201,
    response_model=DisputeOut,
)
async def open_dispute(
    payment_id: str, body: DisputeIn, send: Annotated[Sender, sending(disputes.open_)]
) -> Response:
    """Record a chargeback: the provider holds the disputed funds until it is closed."""
    command = disputes.open_(
        send.principal, payment_id, body.amount, body.reason, body.opened_at, body.evidence_due_by
    )
    return await send.run(command, dispute_out, status=201, body=body)

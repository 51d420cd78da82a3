from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import (
    ApiError,
    ContainerDep,
    IdempotencyKeyHeader,
    PaymentsRead,
    PaymentsWrite,
    ReadModelsDep,
    ServiceDep,
    run_command,
)
from api.render import dispute_out, payment_out, refund_out
from api.schemas import (
    CaptureIn,
    DisputeIn,
    DisputeOut,
    EventOut,
    FreshnessOut,
    PaymentIn,
    PaymentList,
    PaymentOut,
    PaymentSummary,
    RefundIn,
    RefundOut,
)
from ledger.application import service as commands
from ledger.application.event_json import event_data
from ledger.domain.payment import Payment
from projections.cursor import BadCursor
from projections.logic import timestamp_text

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.post("", status_code=201, response_model=PaymentOut)
def create_payment(
    body: PaymentIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Authorize (and, with capture_method=automatic, capture) a payment split across
    manufacturers. Needs `payments:write` and an Idempotency-Key."""
    return run_command(
        request,
        service,
        principal,
        commands.create_payment(service, principal, body.model_dump()),
        lambda payment: payment_out(payment, principal),
        status=201,
        idempotency_key=idempotency_key,
        body=body,
    )


def parse_time(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, "invalid-query", f"{name} must be an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ApiError(422, "invalid-query", f"{name} must carry a time zone (e.g. Z)")
    if not 1900 <= moment.year <= 9000:
        raise ApiError(422, "invalid-query", f"{name} must be between the years 1900 and 9000")
    return timestamp_text(moment)


@router.get("", response_model=PaymentList)
def list_payments(
    principal: PaymentsRead,
    container: ContainerDep,
    read_models: ReadModelsDep,
    manufacturer_id: str | None = None,
    status: str | None = None,
    created_from: Annotated[str | None, Query(description="ISO 8601, inclusive")] = None,
    created_to: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> PaymentList:
    """Payments newest first, from the read model (see `freshness`)."""
    if principal.manufacturer_id is not None:
        if manufacturer_id not in (None, principal.manufacturer_id):
            raise ApiError(404, "not-found", "no such manufacturer")
        manufacturer_id = principal.manufacturer_id
    try:
        page = read_models.payments(
            manufacturer_id=manufacturer_id,
            status=status,
            created_from=parse_time(created_from, "created_from"),
            created_to=parse_time(created_to, "created_to"),
            cursor=cursor,
            limit=limit,
            exclusive=principal.manufacturer_id is not None,
        )
    except BadCursor:
        raise ApiError(422, "invalid-cursor", "cursor is not one this API returned") from None
    return PaymentList(
        data=[_summary(row, principal.manufacturer_id) for row in page.rows],
        next_cursor=page.next_cursor,
        freshness=FreshnessOut(**container.freshness()),
    )


def _summary(row: dict[str, Any], bound_to: str | None) -> PaymentSummary:
    refundable = 0
    if row["status"] == "captured":
        refundable = row["amount_captured"] - row["amount_refunded"] - row["amount_disputed"]
    return PaymentSummary(
        id=row["payment_id"],
        status=row["status"],
        amount=row["amount"],
        currency=row["currency"],
        amount_captured=row["amount_captured"],
        amount_refunded=row["amount_refunded"],
        amount_disputed=row["amount_disputed"],
        refundable_amount=refundable,
        customer_id=row["customer_id"],
        provider=row["provider"],
        manufacturer_ids=[m for m in row["manufacturer_ids"] if bound_to in (None, m)],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


@router.get("/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, principal: PaymentsRead, service: ServiceDep) -> PaymentOut:
    """Read straight from the event store: always current."""
    return payment_out(service.payment(principal, payment_id), principal)


@router.get("/{payment_id}/events", response_model=list[EventOut])
def payment_events(payment_id: str, principal: PaymentsRead, service: ServiceDep) -> list[EventOut]:
    """The payment's immutable history, oldest first."""
    history = []
    event: Any
    for event in service.payment_history(principal, payment_id):
        data = event_data(event)
        history.append(
            EventOut(
                version=event.originator_version,
                type=type(event).__qualname__.split(".", 1)[-1],
                recorded_at=event.timestamp.isoformat(),
                data=data,
            )
        )
    return history


@router.post("/{payment_id}/capture", response_model=PaymentOut)
def capture_payment(
    payment_id: str,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    body: CaptureIn | None = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Capture an authorized payment, fully or partially (once)."""
    body = body or CaptureIn()
    return run_command(
        request,
        service,
        principal,
        commands.capture_payment(service, principal, payment_id, body.amount),
        lambda payment: payment_out(payment, principal),
        status=200,
        idempotency_key=idempotency_key,
        body=body,
    )


@router.post("/{payment_id}/void", response_model=PaymentOut)
def void_payment(
    payment_id: str,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return run_command(
        request,
        service,
        principal,
        commands.void_payment(service, principal, payment_id),
        lambda payment: payment_out(payment, principal),
        status=200,
        idempotency_key=idempotency_key,
        body=None,
    )


def _refund(result: tuple[Payment, str]) -> RefundOut:
    payment, refund_id = result
    return refund_out(payment, refund_id, payment.refunds[refund_id])


@router.post("/{payment_id}/refunds", status_code=201, response_model=RefundOut)
def refund_payment(
    payment_id: str,
    body: RefundIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Refund part or all of the captured amount; never more than what is still refundable.
    The refund is booked at once and executed at the provider by the refund-execution workflow
    (status `pending`), after approvals when the manufacturers' refund policy asks for them
    (status `pending_approval`)."""
    return run_command(
        request,
        service,
        principal,
        commands.refund_payment(principal, payment_id, body.amount, body.reason),
        _refund,
        status=201,
        idempotency_key=idempotency_key,
        body=body,
    )


def _dispute(result: tuple[Payment, str]) -> DisputeOut:
    payment, dispute_id = result
    return dispute_out(payment, dispute_id, payment.disputes[dispute_id])


@router.post("/{payment_id}/disputes", status_code=201, response_model=DisputeOut)
def open_dispute(
    payment_id: str,
    body: DisputeIn,
    request: Request,
    principal: PaymentsWrite,
    service: ServiceDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Record a chargeback: the provider holds the disputed funds until it is closed."""
    return run_command(
        request,
        service,
        principal,
        commands.open_dispute(principal, payment_id, body.amount, body.reason),
        _dispute,
        status=201,
        idempotency_key=idempotency_key,
        body=body,
    )

"""Lists: their filters' allowed values, their rows, and one way to answer them.

Every list has the payments list's shape, `{data, next_cursor, freshness}`, newest first and
keyset-paginated (pass `next_cursor` back as `cursor`), and answers CSV instead with
`Accept: text/csv`: the row's fields, in the order below, as the header row (see docs/api.md).
A CSV page carries its next cursor in the `Ledger-Next-Cursor` header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from api.negotiation import CSV_ALTERNATIVE, csv_response, wants_csv
from api.schemas import MOMENT_SCHEMA, FreshnessOut
from ledger.domain import ids
from projections.store import Page

PaymentStatus = Literal["pending", "authorized", "captured", "failed", "voided"]
RefundStatus = Literal["pending_approval", "pending", "succeeded", "failed", "rejected"]
PayoutStatus = Literal[
    "pending_approval",
    "approved",
    "executing",
    "submitted",
    "paid",
    "failed",
    "rejected",
    "returned",
]
DisputeStatus = Literal["open", "won", "lost"]
SubscriptionStatus = Literal["active", "past_due", "canceled"]

Cursor = Annotated[
    str | None,
    Query(description="`next_cursor` of the previous page; omit for the first."),
]
Limit = Annotated[int, Query(ge=1, le=100, description="Rows per page.")]
ManufacturerFilter = Annotated[
    str | None,
    Query(json_schema_extra={"pattern": f"^{ids.PREFIXES['manufacturer']}_[0-9a-f]{{32}}$"}),
]
PaymentFilter = Annotated[
    str | None, Query(json_schema_extra={"pattern": f"^{ids.PREFIXES['payment']}_[0-9a-f]{{32}}$"})
]
CreatedFrom = Annotated[
    str | None, Query(description="ISO 8601, inclusive", json_schema_extra=MOMENT_SCHEMA)
]
CreatedTo = Annotated[
    str | None, Query(description="ISO 8601, exclusive", json_schema_extra=MOMENT_SCHEMA)
]
DueAfter = Annotated[
    str | None,
    Query(
        description="Evidence due at or after this (ISO 8601 with a zone).",
        json_schema_extra=MOMENT_SCHEMA,
    ),
]
DueBefore = Annotated[
    str | None,
    Query(
        description="Evidence due before this (ISO 8601 with a zone).",
        json_schema_extra=MOMENT_SCHEMA,
    ),
]

LIST_RESPONSES = CSV_ALTERNATIVE


class PayoutSummary(BaseModel):
    id: str
    manufacturer_id: str
    amount: int
    currency: str
    status: str
    approvals_required: int
    approvals: int
    requested_by: str | None
    created_at: str
    updated_at: str


class DisputeSummary(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    evidence_due_by: str | None
    created_at: str
    updated_at: str


class ManufacturerSummary(BaseModel):
    id: str
    name: str
    fee_bps: int
    refund_fee_policy: str
    created_at: str | None
    updated_at: str


class SubscriptionSummary(BaseModel):
    id: str
    customer_id: str
    provider: str
    amount: int
    currency: str
    interval: str
    status: str
    manufacturer_ids: list[str]
    created_at: str
    updated_at: str


class AccountSummary(BaseModel):
    account: str
    currency: str
    debits: int
    credits: int
    balance: int


class PayoutList(BaseModel):
    data: list[PayoutSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class DisputeList(BaseModel):
    data: list[DisputeSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class ManufacturerList(BaseModel):
    data: list[ManufacturerSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class SubscriptionList(BaseModel):
    data: list[SubscriptionSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class AccountList(BaseModel):
    data: list[AccountSummary]
    next_cursor: str | None
    freshness: FreshnessOut


Row = TypeVar("Row", bound=BaseModel)
Listing = TypeVar("Listing", bound=BaseModel)


def rows_of(model: type[Row], page: Page, id_column: str | None) -> list[Row]:
    """A read-model page's rows as `model` (its id column renamed `id`)."""
    found = []
    for row in page.rows:
        values = dict(row)
        if id_column is not None:
            values["id"] = values.pop(id_column)
        found.append(model(**{name: values.get(name) for name in model.model_fields}))
    return found


def columns(model: type[BaseModel]) -> Sequence[str]:
    return tuple(model.model_fields)


def answer_list(
    request: Request,
    listing: type[Listing],
    data: Sequence[BaseModel],
    next_cursor: str | None,
    freshness: dict[str, Any],
) -> Listing | Response:
    """The page as the list's JSON model, or CSV when the client prefers it."""
    fresh = FreshnessOut(**freshness)
    if wants_csv(request):
        headers = {"Ledger-Projection-Updated-At": fresh.updated_at or "never"}
        if next_cursor is not None:
            headers["Ledger-Next-Cursor"] = next_cursor
        rows = [row.model_dump() for row in data]
        return csv_response(columns(row_model(listing)), rows, headers=headers)
    return listing(data=list(data), next_cursor=next_cursor, freshness=fresh)


def row_model(listing: type[BaseModel]) -> type[BaseModel]:
    """The row model of a list model (its `data: list[Row]`)."""
    args: tuple[Any, ...] = getattr(listing.model_fields["data"].annotation, "__args__", ())
    (row,) = args
    assert isinstance(row, type)
    assert issubclass(row, BaseModel)
    return row

"""What needs attention: provider money the ledger could not book (the platform's keys only)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Caller, QueriesDep, SendKeyOptional, needs
from api.render import attention_out
from api.request_rules import REQUEST_RULES
from api.schemas import AttentionList, AttentionOut, ResolveIn
from ledger.application.commands import attention
from ledger.application.queries import Queries

router = APIRouter(prefix="/v1/attention", tags=["attention"], dependencies=REQUEST_RULES)


@router.get("", response_model=AttentionList, dependencies=[needs(Queries.attention_items)])
def list_attention(principal: Caller, queries: QueriesDep) -> AttentionList:
    """Every open item, oldest first: a provider event whose money could not be booked (needs
    `finance:read` on a platform key). Each stays open until an operator resolves it."""
    items = queries.attention_items(principal)
    return AttentionList(data=[attention_out(item) for item in items])


@router.get(
    "/{attention_id}", response_model=AttentionOut, dependencies=[needs(Queries.attention_item)]
)
def get_attention(attention_id: str, principal: Caller, queries: QueriesDep) -> AttentionOut:
    return attention_out(queries.attention_item(principal, attention_id))


@router.post(
    "/{attention_id}/resolve", response_model=AttentionOut, dependencies=[needs(attention.resolve)]
)
def resolve_attention(
    attention_id: str, body: ResolveIn, principal: Caller, send: SendKeyOptional
) -> Response:
    """Mark an item resolved with a note saying what was done (needs `admin` on a platform key)."""
    command = attention.resolve(principal, attention_id, body.note)
    return send(command, attention_out, body=body)

"""Who a key is, and the workflows' dead-letter queues (admin): what the console's Operations
view reads, public like every other route."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ApiError, Caller, needs
from api.operations_schemas import (
    DeadLetterList,
    DeadLetterOut,
    KeyIdentityOut,
    QueueStateList,
    QueueStateOut,
    RedriveIn,
    RedriveOut,
)
from api.request_rules import REQUEST_RULES
from ledger.application import operations
from ledger.application.operations import DeadLetterSource
from ledger.bootstrap import Container, dead_letters
from ledger.workflows import rules

router = APIRouter(prefix="/v1", tags=["operations"], dependencies=REQUEST_RULES)


def _source(request: Request) -> DeadLetterSource:
    container: Container = request.app.state.container
    try:
        return dead_letters(container)
    except ValueError as error:
        raise ApiError(503, "workflows-off", str(error)) from None


def _queues() -> list[str]:
    return sorted(rules.load().queues)


Source = Annotated[DeadLetterSource, Depends(_source)]


@router.get("/keys/me", response_model=KeyIdentityOut, dependencies=[needs(operations.whoami)])
def whoami(principal: Caller) -> KeyIdentityOut:
    """The calling key's id, scopes and manufacturer binding (any key; never the secret)."""
    me = operations.whoami(principal)
    return KeyIdentityOut(
        key_id=me.key_id, scopes=sorted(me.scopes), manufacturer_id=me.manufacturer_id
    )


@router.get(
    "/operations/queues",
    response_model=QueueStateList,
    dependencies=[needs(operations.queue_states)],
)
def queue_states(principal: Caller, source: Source) -> QueueStateList:
    """Every workflow queue with its dead-letter count and the newest dead letter's error
    (needs `admin`)."""
    states = operations.queue_states(principal, source, _queues())
    return QueueStateList(
        data=[
            QueueStateOut(queue=s.queue, dead_letters=s.dead_letters, last_error=s.last_error)
            for s in states
        ]
    )


@router.get(
    "/operations/queues/{queue}/dead-letters",
    response_model=DeadLetterList,
    dependencies=[needs(operations.dead_letters)],
)
def list_dead_letters(
    queue: str,
    principal: Caller,
    source: Source,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> DeadLetterList:
    """A queue's dead letters, oldest first, with the error each died of (needs `admin`)."""
    letters = operations.dead_letters(principal, source, _queues(), queue, limit)
    return DeadLetterList(
        data=[
            DeadLetterOut(
                message_id=letter.message_id,
                receive_count=letter.receive_count,
                error=letter.error,
                body=_body(letter.body),
            )
            for letter in letters
        ]
    )


@router.post(
    "/operations/queues/{queue}/redrive",
    response_model=RedriveOut,
    dependencies=[needs(operations.redrive)],
)
def redrive(
    queue: str, principal: Caller, source: Source, body: RedriveIn | None = None
) -> RedriveOut:
    """Move dead letters (all, or `message_ids`) back to their queue (needs `admin`)."""
    ids = body.message_ids if body is not None else None
    moved = operations.redrive(principal, source, _queues(), queue, ids or None)
    return RedriveOut(queue=queue, redriven=moved)


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text

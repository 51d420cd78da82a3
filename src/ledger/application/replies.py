"""Keyed requests and their replies: what the engine stores with the events a keyed command
recorded, and replays when the same key comes again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from uuid import UUID

from ledger.domain.idempotency import IdempotencyRecord


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A keyed request: account is whose keys these are (the platform or one manufacturer, never
    one API key), fingerprint what the request said.
    keep_refusals: a refused transition is stored and replayed as the answer (what API clients
    expect); internal callers that would rather try again later set it off."""

    account: str
    key: str
    fingerprint: str
    keep_refusals: bool = True
    # Where the same key was recorded before keys were scoped per account (per API key then):
    # a retry that straddles the upgrade still replays the reply recorded before it.
    legacy_account: str | None = None
    # Where a reply to this request may be stored: its own record, then a legacy one (computed
    # once: the hot path asks for them several times).
    record_ids: tuple[UUID, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        own = IdempotencyRecord.create_id(self.account, self.key)
        ids: tuple[UUID, ...] = (own,)
        if self.legacy_account is not None and self.legacy_account != self.account:
            ids = (own, IdempotencyRecord.create_id(self.legacy_account, self.key))
        object.__setattr__(self, "record_ids", ids)

    @property
    def record_id(self) -> UUID:
        return self.record_ids[0]


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's answer as stored for replays: the rendered body, or, when a rule refused the
    command, that rule's code (refusal) and message (body)."""

    body: str
    refusal: str | None = None
    replayed: bool = False


def stored_reply(record: IdempotencyRecord) -> Reply:
    status = getattr(record, "status_code", None)
    if status is not None and status >= 400:
        # Recorded before replies were kept apart from HTTP: the body is a problem document.
        problem = json.loads(record.body)
        return Reply(problem["detail"], problem["type"].rpartition(":")[2], replayed=True)
    return Reply(record.body, getattr(record, "refusal", None), replayed=True)

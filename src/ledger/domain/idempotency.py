"""Idempotency records: the first reply to a keyed request, saved in the same atomic save as the
events it guards. The id derives from (account, Idempotency-Key), so a second request with the
same key collides on version 1 exactly like any optimistic-concurrency conflict."""

from __future__ import annotations

from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:idempotency")


# Asked when a request arrives (positionally) and again when its record is made (by keyword,
# by the library): one cache entry for both.
@lru_cache(maxsize=4096)
def _record_id(api_key_id: str, key: str) -> UUID:
    return uuid5(_NAMESPACE, f"{api_key_id}\x00{key}")


class IdempotencyRecord(LedgerAggregate):
    @staticmethod
    def create_id(api_key_id: str, key: str) -> UUID:
        return _record_id(api_key_id, key)

    @event("Recorded")
    def __init__(
        self,
        api_key_id: str,
        key: str,
        fingerprint: str,
        body: str,
        refusal: str | None = None,
        status_code: int | None = None,
    ) -> None:
        """api_key_id: the account the key is scoped to ("platform", "manufacturer:<id>", or a
        system process); records made before keys were scoped per account hold the API key's id.
        body: the rendered reply, or the refusing rule's message when refusal (its code) is
        set. status_code: only in records made before replies were kept apart from HTTP, whose
        body is the HTTP body (a problem document when the status was 400 or more)."""
        self.api_key_id = api_key_id
        self.key = key
        self.fingerprint = fingerprint
        self.body = body
        self.refusal = refusal
        self.status_code = status_code

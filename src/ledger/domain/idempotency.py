"""Idempotency records: the first response to a keyed request, saved in the same atomic save as
the events it guards. The id derives from (API key, Idempotency-Key), so a second request with
the same key collides on version 1 exactly like any optimistic-concurrency conflict."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:idempotency")


class IdempotencyRecord(LedgerAggregate):
    @staticmethod
    def create_id(api_key_id: str, key: str) -> UUID:
        return uuid5(_NAMESPACE, f"{api_key_id}\x00{key}")

    @event("Recorded")
    def __init__(
        self, api_key_id: str, key: str, fingerprint: str, status_code: int, body: str
    ) -> None:
        self.api_key_id = api_key_id
        self.key = key
        self.fingerprint = fingerprint
        self.status_code = status_code
        self.body = body

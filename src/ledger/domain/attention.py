"""Provider money the ledger could not book: held in a visible "needs attention" queue until an
operator resolves it. One item per provider event, raised in the same atomic write as that
event's webhook receipt, so nothing a provider reports as moved is ever only a log line."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InvalidInput

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:attention")
MAX_NOTE = 500


class AttentionItem(LedgerAggregate):
    """States: open -> resolved (by an operator, with a note saying what was done)."""

    @staticmethod
    def create_id(provider: str, event_id: str) -> UUID:
        return uuid5(_NAMESPACE, f"{provider}:{event_id}")

    @event("Raised")
    def __init__(
        self,
        *,
        provider: str,
        event_id: str,
        kind: str,
        reason: str,
        payment_id: str | None,
        amount: int | None,
        currency: str | None,
        reference: str | None,
    ) -> None:
        """amount, currency: the money the provider reported, when it said; reference: the
        provider's id of the refund or dispute."""
        self.provider = provider
        self.event_id = event_id
        self.kind = kind
        self.reason = reason
        self.payment_id = payment_id
        self.amount = amount
        self.currency = currency
        self.reference = reference
        self.status = "open"
        self.resolved_by: str | None = None
        self.resolution: str | None = None
        self.resolved_at: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def resolve(self, by: str, note: str) -> None:
        if not self.is_open:
            raise IllegalTransition("this item is already resolved")
        if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
            raise InvalidInput(f"a resolution note (1-{MAX_NOTE} characters) says what was done")
        self._resolved(by=by, note=note)

    @event("Resolved")
    def _resolved(self, *, by: str, note: str) -> None:
        self.status = "resolved"
        self.resolved_by = by
        self.resolution = note
        self.resolved_at = self.event_time.isoformat()

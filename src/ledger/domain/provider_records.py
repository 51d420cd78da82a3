"""What the ledger remembers about providers' own ids: which payment a provider reference
belongs to (so a webhook that names only the provider's id finds its payment with one read),
and which provider events were already applied (so a redelivered webhook changes nothing)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate

_LINKS = uuid5(NAMESPACE_URL, "urn:ledger:provider-link")
_RECEIPTS = uuid5(NAMESPACE_URL, "urn:ledger:webhook-receipt")


class ProviderLink(LedgerAggregate):
    @staticmethod
    def create_id(provider: str, reference: str) -> UUID:
        return uuid5(_LINKS, f"{provider}:{reference}")

    @event("Linked")
    def __init__(self, provider: str, reference: str, target_id: str) -> None:
        """target_id: the ledger's public id of what the reference names (a payment, or a
        payout for an ACH trace number)."""
        self.provider = provider
        self.reference = reference
        self.target_id = target_id


class WebhookReceipt(LedgerAggregate):
    """One per provider event id; outcome says what applying it did."""

    @staticmethod
    def create_id(provider: str, event_id: str) -> UUID:
        return uuid5(_RECEIPTS, f"{provider}:{event_id}")

    @event("Received")
    def __init__(self, provider: str, event_id: str, kind: str, outcome: str) -> None:
        self.provider = provider
        self.event_id = event_id
        self.kind = kind
        self.outcome = outcome

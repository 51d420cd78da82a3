"""API keys: only a hash of the secret is ever recorded. The aggregate id derives from the hash,
so a presented key is found with one read and no index."""

from __future__ import annotations

from typing import Literal, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InvalidInput

Scope = Literal[
    "payments:write",
    "payments:read",
    "finance:read",
    "finance:close",
    "payouts:approve",
    "refunds:approve",
    "admin",
]
SCOPES: tuple[str, ...] = get_args(Scope)
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:api-key")


class ApiKey(LedgerAggregate):
    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return uuid5(_NAMESPACE, key_hash)

    @event("Issued")
    def __init__(self, key_hash: str, scopes: list[str], manufacturer_id: str | None) -> None:
        self.key_hash = key_hash
        self.scopes = scopes
        self.manufacturer_id = manufacturer_id
        self.revoked = False

    @classmethod
    def issue(cls, key_hash: str, scopes: list[str], manufacturer_id: str | None) -> ApiKey:
        if not scopes:
            raise InvalidInput("an API key needs at least one scope")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise InvalidInput(f"unknown scopes: {', '.join(unknown)}")
        return cls(key_hash=key_hash, scopes=sorted(set(scopes)), manufacturer_id=manufacturer_id)

    def revoke(self) -> None:
        if self.revoked:
            raise IllegalTransition("the key is already revoked")
        self._revoked()

    @event("Revoked")
    def _revoked(self) -> None:
        self.revoked = True

    def allows(self, scope: str) -> bool:
        return not self.revoked and ("admin" in self.scopes or scope in self.scopes)

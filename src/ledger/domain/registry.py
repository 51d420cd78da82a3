"""Registries: who the scheduled workflows must visit (active subscriptions, payouts awaiting
approval, manufacturers with automatic payouts, payable balances), kept in the event store
itself and updated in the same atomic save as the change that adds or removes a member. So a
billing run or payout sweep works from exact lists in every runtime, never from a lagging
read model. Each kind is spread over SHARDS aggregates so that concurrent writers rarely meet."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate

SHARDS = 64
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:registry")


@lru_cache(maxsize=4096)
def _registry_id(kind: str, shard: int) -> UUID:
    return uuid5(_NAMESPACE, f"{kind}:{shard}")


def shard_of(member: str) -> int:
    return int.from_bytes(hashlib.sha256(member.encode()).digest()[:4], "big") % SHARDS


class Registry(LedgerAggregate):
    @staticmethod
    def create_id(kind: str, shard: int) -> UUID:
        return _registry_id(kind, shard)

    @event("Opened")
    def __init__(self, kind: str, shard: int) -> None:
        self.kind = kind
        self.shard = shard
        # A dict, not a set: snapshots are JSON.
        self.members: dict[str, int] = {}

    def add(self, member: str) -> None:
        if member not in self.members:
            self._added(member=member)

    @event("Added")
    def _added(self, *, member: str) -> None:
        self.members[member] = 1

    def remove(self, member: str) -> None:
        if member in self.members:
            self._removed(member=member)

    @event("Removed")
    def _removed(self, *, member: str) -> None:
        self.members.pop(member, None)

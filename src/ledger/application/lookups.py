"""What commands and queries reach besides the unit of work: payment providers, the clock,
aggregates by id (cached for commands, current for queries) or by public id, and the members of
a registry kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, Repository

from ledger.application.errors import ProviderNotConfigured
from ledger.application.ports import PaymentProvider
from ledger.domain import ids
from ledger.domain.base import LedgerAggregate
from ledger.domain.registry import SHARDS, Registry

A = TypeVar("A", bound=LedgerAggregate)
NewestVersions = Callable[[Sequence[UUID]], dict[UUID, int]]


def newest_versions_of(recorder: Any) -> NewestVersions:
    """The newest recorded version of each of some ids that has events: the store's own
    one-statement lookup when it has one (the embedded SQLite store), else a read per id."""
    own: NewestVersions | None = getattr(recorder, "newest_versions", None)
    if own is not None:
        return own

    def one_by_one(originator_ids: Sequence[UUID]) -> dict[UUID, int]:
        found = {}
        for originator_id in originator_ids:
            newest = recorder.select_events(originator_id, desc=True, limit=1)
            if newest:
                found[originator_id] = newest[0].originator_version
        return found

    return one_by_one


class Lookups(Application[UUID]):
    """Set by the engine: its providers (and why others are off), clock, parallel reads, the
    uncached repository queries read, and the read cache (or None)."""

    _providers: dict[str, PaymentProvider]
    _providers_off: dict[str, str]
    _clock: Callable[[], datetime] | None
    _parallel_reads: int
    _current: Repository[UUID]
    _read_cache: LRUCache[UUID, Any] | None
    _newest_versions: NewestVersions

    def register_provider(self, name: str, provider: PaymentProvider) -> None:
        self._providers[name] = provider

    def provider(self, name: str) -> PaymentProvider:
        found = self._providers.get(name)
        if found is None:
            why = self._providers_off.get(name)
            detail = f": {why}" if why else ""
            raise ProviderNotConfigured(f"provider '{name}' is not configured{detail}")
        return found

    def now(self) -> datetime:
        return self._clock() if self._clock is not None else datetime.now(UTC)

    def load(self, aggregate_id: UUID) -> Any:
        """An aggregate for a command: from the cache when there (raises AggregateNotFoundError)."""
        return self.repository.get(aggregate_id)

    def current(self, aggregate_id: UUID) -> Any:
        """An aggregate as the event store has it now, for queries and what a command only
        reads. With a read cache, a copy from an earlier read is reused while the store's newest
        version of it is still the one it has (one indexed read instead of its history, which
        also sees what other processes wrote): shared, so never changed by its readers."""
        if self._read_cache is None:
            return self._current.get(aggregate_id)
        newest = self._newest_versions((aggregate_id,)).get(aggregate_id)
        if newest is None:
            raise AggregateNotFoundError(aggregate_id)
        try:
            kept = self._read_cache.get(aggregate_id)
        except KeyError:
            kept = None
        if kept is not None and kept.version == newest:
            return kept
        found: Any = self._current.get(aggregate_id)
        self._read_cache.put(aggregate_id, found)
        return found

    def fresh(self, aggregate_id: UUID) -> Any:
        """An aggregate read from the store now, a copy of its own (to change and drop)."""
        return self._current.get(aggregate_id)

    def fresh_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        """Aggregates that are never snapshotted (payments, provider links), read together: in
        one query per few hundred where the event store can (SQLite), else one by one,
        parallel_reads at a time. Ids with no events are left out."""
        wanted = list(dict.fromkeys(aggregate_ids))
        bulk = getattr(self.recorder, "select_events_of_many", None)
        if bulk is not None:
            found: dict[UUID, Any] = {}
            for stored in bulk(wanted):
                domain_event: Any = self.mapper.to_domain_event(stored)
                found[stored.originator_id] = domain_event.mutate(found.get(stored.originator_id))
            return found

        def one(aggregate_id: UUID) -> tuple[UUID, Any]:
            try:
                return aggregate_id, self.fresh(aggregate_id)
            except AggregateNotFoundError:
                return aggregate_id, None

        if self._parallel_reads <= 1:
            pairs = [one(aggregate_id) for aggregate_id in wanted]
        else:
            with ThreadPoolExecutor(max_workers=self._parallel_reads) as pool:
                pairs = list(pool.map(one, wanted))
        return {aggregate_id: found for aggregate_id, found in pairs if found is not None}

    def find(self, cls: type[A], kind: str, public_id: str) -> A | None:
        """An aggregate by public id, as the store has it now; None if unknown or malformed."""
        try:
            found = self.current(ids.decode(kind, public_id))
        except (ids.MalformedId, AggregateNotFoundError):
            return None
        return found if isinstance(found, cls) else None

    def registry_members(self, kind: str) -> list[str]:
        """Every member of a registry kind, its shards read parallel_reads at a time."""

        def shard(number: int) -> list[str]:
            try:
                found = self.current(Registry.create_id(kind, number))
            except AggregateNotFoundError:
                return []
            return list(found.members)

        if self._parallel_reads <= 1:
            return sorted(member for number in range(SHARDS) for member in shard(number))
        with ThreadPoolExecutor(max_workers=self._parallel_reads) as pool:
            return sorted(member for part in pool.map(shard, range(SHARDS)) for member in part)

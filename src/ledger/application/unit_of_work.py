"""A unit of work: the aggregates one command loads or creates, saved together atomically, and
the ports a command may call (payment providers, outside the command lock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.application.aggregates import Manufacturers, Payments, Payouts, Subscriptions
from ledger.application.errors import NotFound, ProviderNotConfigured
from ledger.application.ports import PaymentProvider
from ledger.application.registries import PAYABLES
from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate
from ledger.domain.payable import SHARDS, ManufacturerPayable, Payables, shard_for
from ledger.domain.registry import Registry, shard_of

A = TypeVar("A", bound=LedgerAggregate)
T = TypeVar("T")


R = TypeVar("R")


def _no_providers(name: str) -> PaymentProvider:
    raise ProviderNotConfigured(f"provider '{name}' is not configured")


class ProviderCall(Protocol):
    """How a command's provider call is made: at once outside the command lock (one command at
    a time per process), or, on the group-commit writer, from the answers kept while the command
    was prepared off the writer (see ledger.application.writer)."""

    def __call__(self, provider: PaymentProvider, call: Callable[[R], T], request: R) -> T: ...


class UnitOfWork:
    def __init__(
        self,
        load: Callable[[UUID], Any],
        current: Callable[[UUID], Any] | None = None,
        *,
        seed: str | None = None,
        providers: Callable[[str], PaymentProvider] = _no_providers,
        outside_lock: Callable[[Callable[[], Any]], Any] = lambda call: call(),
        provider_call: ProviderCall | None = None,
    ) -> None:
        self._load = load
        self._current = current or load
        self._seed = seed
        self._providers = providers
        self._outside_lock = outside_lock
        self._provider_call = provider_call
        self._aggregates: dict[UUID, LedgerAggregate] = {}
        self.payments = Payments(self.find, self.read)
        self.payouts = Payouts(self.find, self.read)
        self.manufacturers = Manufacturers(self.find, self.read)
        self.subscriptions = Subscriptions(self.find, self.read)

    def seed(self, purpose: str) -> str | None:
        """A stable seed for ids and provider idempotency keys of this request (from its
        Idempotency-Key), so every attempt and every retry of it derives the same ones."""
        return f"{self._seed}:{purpose}" if self._seed else None

    def provider(self, name: str) -> PaymentProvider:
        """A configured payment provider (ProviderNotConfigured, a 422, for any other)."""
        return self._providers(name)

    def call_provider(self, provider: PaymentProvider, call: Callable[[R], T], request: R) -> T:
        """Make a provider call (slow, remote) without holding up other commands of this
        process; request carries the idempotency key that makes a repeated call harmless."""
        if self._provider_call is not None:
            return self._provider_call(provider, call, request)
        result: T = self._outside_lock(lambda: call(request))
        return result

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id in self._aggregates:
            found = self._aggregates[aggregate_id]
        else:
            try:
                found = self._load(aggregate_id)
            except AggregateNotFoundError:
                return None
            self._aggregates[aggregate_id] = found
        return found if isinstance(found, cls) else None

    def read(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """An aggregate the command only reads (it will not be saved, so no version check would
        catch a stale cached copy): read from the store as it is now."""
        try:
            found = self._current(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, cls) else None

    def get(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        found = self.find(cls, aggregate_id)
        if found is None:
            raise NotFound(f"no such {what}")
        return found

    def loaded_ids(self) -> list[UUID]:
        return list(self._aggregates)

    def add(self, aggregate: A) -> A:
        self._aggregates[aggregate.id] = aggregate
        return aggregate

    def payable(self, manufacturer_id: str, currency: str) -> Payables:
        """The manufacturer's payable in currency over every shard that exists (a payout
        reserves and releases across them)."""
        shards = [
            found
            for shard in range(SHARDS)
            if (
                found := self.find(
                    ManufacturerPayable,
                    ManufacturerPayable.create_id(manufacturer_id, currency, shard),
                )
            )
            is not None
        ]
        return Payables(manufacturer_id, currency, shards)

    def payable_shard(
        self, manufacturer_id: str, currency: str, source: str
    ) -> ManufacturerPayable:
        """The shard a posting from source lands on, opened on its first posting."""
        shard = shard_for(source)
        payable_id = ManufacturerPayable.create_id(manufacturer_id, currency, shard)
        found = self.find(ManufacturerPayable, payable_id)
        if found is None:
            found = self.add(ManufacturerPayable(manufacturer_id, currency, shard))
            member = f"{manufacturer_id}:{currency}"
            self.registry(PAYABLES, member).add(member)
        return found

    def registry(self, kind: str, member: str) -> Registry:
        """The registry shard of kind that holds (or would hold) member."""
        shard = shard_of(member)
        found = self.find(Registry, Registry.create_id(kind, shard))
        if found is None:
            found = self.add(Registry(kind, shard))
        return found

    def collect(self) -> list[LedgerAggregate]:
        """Mirror every manufacturer-payable posting onto its ManufacturerPayable, then return
        everything with pending events, to be saved in one atomic write."""
        for aggregate in list(self._aggregates.values()):
            if isinstance(aggregate, ManufacturerPayable | Registry):
                continue
            for pending in list(aggregate.pending_events):
                booking: list[dict[str, Any]] | None = getattr(pending, "entry", None)
                for posting in booking or []:
                    if accounts.is_manufacturer_payable(posting["account"]):
                        self.payable_shard(
                            accounts.manufacturer_of(posting["account"]),
                            posting["currency"],
                            str(aggregate.id),
                        ).post(
                            source=f"{aggregate.id}:{pending.originator_version}",
                            owed_change=-posting["amount"],
                        )
        return [a for a in self._aggregates.values() if a.pending_events]

"""Base aggregate: event timestamps come from a clock that tests can replace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate


def _system_now() -> datetime:
    return datetime.now(UTC)


_clock: ContextVar[Callable[[], datetime]] = ContextVar("ledger_clock", default=_system_now)


def now() -> datetime:
    return _clock.get()()


@contextmanager
def using_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Stamp events raised inside this block with the given clock (tests, backfills)."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


_SEEDED = uuid5(NAMESPACE_URL, "urn:ledger:seeded-id")


def seeded_id(id_seed: str | None) -> UUID:
    """A new aggregate's id: derived from a seed when there is one (a retried request derives the
    same id, so the provider sees the same idempotency key), else random."""
    return uuid5(_SEEDED, id_seed) if id_seed else uuid4()


class LedgerAggregate(Aggregate):
    event_time: datetime

    class Event(Aggregate.Event):
        @staticmethod
        def create_timestamp() -> datetime:
            return now()

        def mutate(self, aggregate: Any) -> Any:
            # Event bodies run before the library sets modified_on; expose this event's time.
            if aggregate is not None:
                aggregate.event_time = self.timestamp
            return super().mutate(aggregate)

    class Created(Event, Aggregate.Created):
        pass

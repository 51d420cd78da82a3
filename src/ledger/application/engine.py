"""The command engine: runs a command in a unit of work and saves everything it changed in one
atomic write, retries when that write loses an optimistic-concurrency race, and, given an
idempotency key, runs it at most once and replays its stored reply.

A reply is what the command answered (its rendered body) or the rule that refused it (a code
and a message); what status or envelope a transport gives it is the transport's business.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import LRUCache, Repository
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from ledger.application.errors import (
    ConcurrencyExhausted,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)
from ledger.application.lookups import Lookups, newest_versions_of
from ledger.application.ports import PaymentProvider
from ledger.application.replies import Idempotency, Reply, stored_reply
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.base import LedgerAggregate, using_clock
from ledger.domain.errors import IllegalTransition
from ledger.domain.idempotency import IdempotencyRecord
from ledger.domain.payable import ManufacturerPayable
from ledger.domain.registry import Registry

if TYPE_CHECKING:
    from ledger.application.grouped import GroupedCommands

T = TypeVar("T")
A = TypeVar("A", bound=LedgerAggregate)
Command = Callable[[UnitOfWork], T]
log = logging.getLogger(__name__)
MAX_ATTEMPTS = 60
READ_CACHE_SIZE = 20_000


class Engine(Lookups):
    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        ManufacturerPayable: 100,
        Registry: 100,
    }
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        # Commands read cached aggregates as they are, without a query for newer events: a stale
        # copy cannot do harm, because its save then fails on the version check, the attempt's
        # aggregates are evicted and the command runs again on fresh ones.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        providers: Mapping[str, PaymentProvider],
        clock: Callable[[], datetime] | None = None,
        parallel_reads: int = 1,
        providers_off: Mapping[str, str] | None = None,
        group_commit: bool = False,
    ) -> None:
        """parallel_reads: how many aggregates to read at once where many are read (on a remote
        store each read is a round trip; local reads are faster one after another).
        providers_off: providers whose configuration is incomplete, and why.
        group_commit: every command of this process runs on one writer thread and is committed
        in groups (ledger.application.writer); the writer's cached aggregates are its own, so
        they are not copied for each command."""
        if group_commit:
            env = {**(env or {}), "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"}
        super().__init__(env)
        self._providers = dict(providers)
        self._providers_off = dict(providers_off or {})
        self._clock = clock
        self._parallel_reads = parallel_reads
        self._local = threading.local()
        # Queries read the event store itself, never the command cache, so they always see what
        # other processes have written.
        self._current = Repository(event_store=self.events, snapshot_store=self.snapshots)
        # Commands in one process take turns: they would only conflict on the same aggregates
        # (every capture touches its manufacturer's payable) and retry. Other processes are
        # still kept apart by optimistic concurrency.
        self._command_lock = threading.Lock()
        self._in_flight: set[UUID] = set()
        self._in_flight_lock = threading.Lock()
        self.after_save: list[Callable[[], object]] = []
        self._read_cache = LRUCache[UUID, Any](READ_CACHE_SIZE) if group_commit else None
        self._newest_versions = newest_versions_of(self.recorder)
        self._grouped: GroupedCommands | None = None
        if group_commit:
            from ledger.application.grouped import GroupedCommands

            self._grouped = GroupedCommands(self)

    def close(self) -> None:
        if self._grouped is not None:
            self._grouped.stop()
        super().close()

    def outside_command_lock(self, call: Callable[[], T]) -> T:
        """Run a provider call without holding up other commands of this process: the lock
        only spares them retries, correctness rests on optimistic concurrency."""
        if not getattr(self._local, "holding", False):
            return call()
        self._local.holding = False
        self._command_lock.release()
        try:
            return call()
        finally:
            self._command_lock.acquire()
            self._local.holding = True

    # ----- running commands ----------------------------------------------------------------
    def execute(self, command: Command[T]) -> T:
        """Run a command (with retries on conflicts) and return its result."""
        outcome: list[T] = []

        def keep(result: T) -> str:
            outcome.append(result)
            return ""

        self._run_once(command, keep, None)
        return outcome[-1]

    def _run_once(
        self, command: Command[T], reply: Callable[[T], str], idempotency: Idempotency | None
    ) -> Reply:
        grouped = self._grouped
        if grouped is None or grouped.on_writer():
            return self._attempts(command, reply, idempotency)
        return grouped.run(grouped.job(command, reply, idempotency))

    async def run_async(
        self, command: Command[T], reply: Callable[[T], str], idempotency: Idempotency | None
    ) -> Reply:
        """run() for an event loop: with group commit the loop only waits for the writer."""
        grouped = self._grouped
        if grouped is None:
            return await asyncio.to_thread(self.run, command, reply, idempotency)
        if idempotency is None:
            return await grouped.run_async(grouped.job(command, reply, None))
        with self._keyed(idempotency):
            stored = self.replay(idempotency)
            if stored is not None:
                return stored
            return await grouped.run_async(grouped.job(command, reply, idempotency))

    def run(
        self, command: Command[T], reply: Callable[[T], str], idempotency: Idempotency | None
    ) -> Reply:
        """Run a command and render its reply; with an idempotency key, at most once."""
        if idempotency is None:
            return self._run_once(command, reply, None)
        with self._keyed(idempotency):
            return self.replay(idempotency) or self._run_once(command, reply, idempotency)

    @contextmanager
    def _keyed(self, idempotency: Idempotency) -> Iterator[None]:
        """One request per key at a time in this process (a second one is told to wait)."""
        record_id = idempotency.record_id
        with self._in_flight_lock:
            if record_id in self._in_flight:
                raise IdempotencyKeyInFlight(
                    "a request with this Idempotency-Key is still in progress"
                )
            self._in_flight.add(record_id)
        try:
            yield
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(record_id)

    def replay(self, idempotency: Idempotency) -> Reply | None:
        recorded = self._newest_versions(idempotency.record_ids)
        found = next((at for at in idempotency.record_ids if at in recorded), None)
        if found is None:
            return None  # the common case: one cheap indexed read, no aggregate machinery
        record = self.current(found)
        assert isinstance(record, IdempotencyRecord)
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        return stored_reply(record)

    def _attempts(
        self, command: Command[T], reply: Callable[[T], str], idempotency: Idempotency | None
    ) -> Reply:
        for attempt in range(MAX_ATTEMPTS):
            with self._command_lock:
                self._local.holding = True
                try:
                    outcome = self._attempt(command, reply, idempotency, first=attempt == 0)
                finally:
                    self._local.holding = False
            if outcome is not None:
                return outcome
            if idempotency is not None:
                stored = self.replay(idempotency)
                if stored is not None:
                    return stored
            time.sleep(random.uniform(0, min(0.1, 0.001 * 2**attempt)))  # noqa: S311
        raise ConcurrencyExhausted("too many concurrent changes to the same records; retry")

    def _attempt(
        self,
        command: Command[T],
        reply: Callable[[T], str],
        idempotency: Idempotency | None,
        *,
        first: bool,
    ) -> Reply | None:
        """One try: None when the save lost an optimistic-concurrency race."""
        uow = UnitOfWork(
            self.load,
            self.current,
            seed=str(idempotency.record_id) if idempotency is not None else None,
            providers=self.provider,
            outside_lock=self.outside_command_lock,
        )
        try:
            return self._attempt_in(uow, command, reply, idempotency, first)
        except BaseException:
            self.evict(uow.loaded_ids())
            raise

    def _attempt_in(
        self,
        uow: UnitOfWork,
        command: Command[T],
        reply: Callable[[T], str],
        idempotency: Idempotency | None,
        first: bool,
    ) -> Reply | None:
        try:
            with self.clocked():
                answer = Reply(reply(command(uow)))
                to_save: list[Any] = uow.collect()
                if idempotency is not None:
                    to_save.append(self.idempotency_record(idempotency, answer))
        except IllegalTransition as error:
            if first:
                # The cached aggregates may be behind another process's writes: refuse only
                # after checking against the store.
                self.evict(uow.loaded_ids())
                return None
            if idempotency is None or not idempotency.keep_refusals:
                raise
            # A refused transition is an outcome: replays of this key give the same answer.
            answer = Reply(error.message, refusal=error.code)
            with self.clocked():
                record = self.idempotency_record(idempotency, answer)
            try:
                self._save([record])
            except IntegrityError:
                return self._after_conflict(idempotency)
            return answer
        try:
            self._save(to_save)
        except IntegrityError:
            self.evict(uow.loaded_ids())
            return None
        return answer

    def _after_conflict(self, idempotency: Idempotency) -> Reply:
        stored = self.replay(idempotency)
        if stored is None:  # only the record was being saved, so it exists now
            raise ConcurrencyExhausted("conflict while recording the response; retry")
        return stored

    @staticmethod
    def idempotency_record(idempotency: Idempotency, answer: Reply) -> IdempotencyRecord:
        return IdempotencyRecord(
            api_key_id=idempotency.account,
            key=idempotency.key,
            fingerprint=idempotency.fingerprint,
            body=answer.body,
            refusal=answer.refusal,
        )

    # ----- persistence ----------------------------------------------------------------------
    @contextmanager
    def clocked(self) -> Iterator[None]:
        if self._clock is None:
            yield
        else:
            with using_clock(self._clock):
                yield

    def evict(self, aggregate_ids: list[UUID]) -> None:
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in aggregate_ids:
            with suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def _take_snapshots(self, processing_event: Any) -> None:
        # Snapshots are an optimisation taken after the events are durably recorded: a failure
        # here must never look like a failed save, or the command would be run twice.
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            log.exception("taking a snapshot failed; the events are saved")

    def _save(self, aggregates: list[Any]) -> None:
        if aggregates:
            self.save(*aggregates)
            for hook in self.after_save:
                try:
                    hook()
                except Exception:  # the save is durable; followers retry on their own
                    log.exception("after-save hook failed")

    def save_new(self, aggregate: LedgerAggregate) -> None:
        """Save an aggregate made outside a command (an API key): nothing to retry."""
        if self._grouped is not None and not self._grouped.on_writer():

            def saving(uow: UnitOfWork) -> None:
                uow.add(aggregate)

            self.execute(saving)
            return
        self._save([aggregate])

"""Commands run by the group-commit writer (ledger.application.writer): the engine's rules for
one command (idempotency, refusals kept as replies, a refusal on cached state checked against
the store, retries after a lost race) applied to a command staged into a group instead of saved
on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from ledger.application.errors import ConcurrencyExhausted
from ledger.application.group_records import after_group, record_group
from ledger.application.ports import PaymentProvider
from ledger.application.replies import Idempotency, Reply
from ledger.application.unit_of_work import UnitOfWork
from ledger.application.writer import Job, NeedsProvider, Outcome, ProviderAnswers, Writer
from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition

if TYPE_CHECKING:
    from ledger.application.engine import Command, Engine

T = TypeVar("T")
R = TypeVar("R")
MAX_ATTEMPTS = 60
MAX_PREPARES = 3  # a command whose state keeps moving under its provider call gives up (409)


def _from_answers(answers: ProviderAnswers) -> Any:
    def call(provider: PaymentProvider, fn: Callable[[R], T], request: R) -> T:
        if not provider.capabilities.remote:
            return fn(request)
        found, answer = answers.answer_for(request)  # type: ignore[arg-type]
        if not found:
            raise NeedsProvider
        if isinstance(answer, BaseException):
            raise answer
        result: T = answer  # type: ignore[assignment]
        return result

    return call


def _keeping(answers: ProviderAnswers) -> Any:
    def call(provider: PaymentProvider, fn: Callable[[R], T], request: R) -> T:
        try:
            result = fn(request)
        except Exception as error:
            answers.keep(request, error)  # type: ignore[arg-type]
            raise
        answers.keep(request, result)  # type: ignore[arg-type]
        return result

    return call


def _copy_outcome(done: Future[Any], waiter: asyncio.Future[Any]) -> None:
    """A job's outcome onto the event loop's future (one hop; the request cannot cancel a
    command the writer already runs)."""
    if waiter.cancelled():
        return
    error = done.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(done.result())


class GroupedCommands:
    """The engine's commands through one writer thread (GroupStore for the Writer)."""

    def __init__(self, engine: Engine, *, preparers: int = 8) -> None:
        self._engine = engine
        self._preparers = ThreadPoolExecutor(preparers, thread_name_prefix="ledger-prepare")
        # What the group's commands only read (a split's manufacturer), as the store had it
        # when the group first read it: every request of a group arrived before the group began,
        # and the store changes under a group only by another process (a write of this one
        # lands when the group commits), so one read serves all of them. Dropped with every new
        # group and every eviction (a command that failed or runs again reads afresh).
        self._reads: dict[UUID, Any] = {}
        self._writer = Writer(self)

    def on_writer(self) -> bool:
        return self._writer.on_writer()

    def stop(self) -> None:
        self._writer.stop()
        self._preparers.shutdown(wait=True)

    # ----- submitting -------------------------------------------------------------------------
    def job(
        self, command: Command[T], reply: Callable[[T], str], idempotency: Idempotency | None
    ) -> Job:
        run = partial(self._run, command, reply, idempotency)
        seed = str(idempotency.record_id) if idempotency is not None else f"job:{uuid4()}"
        return Job(run=lambda job, group, first: run(job, group, first), command=command, seed=seed)

    def run(self, job: Job) -> Reply:
        reply: Reply = self._writer.submit(job).result()
        return reply

    async def run_async(self, job: Job) -> Reply:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Reply] = loop.create_future()

        def settled(done: Future[Any]) -> None:  # on the writer thread
            loop.call_soon_threadsafe(_copy_outcome, done, waiter)

        job.future.add_done_callback(settled)
        self._writer.submit(job)
        return await waiter

    # ----- one command, staged into the group --------------------------------------------------
    def _run(
        self,
        command: Command[T],
        reply: Callable[[T], str],
        idempotency: Idempotency | None,
        job: Job,
        group: ProcessingEvent[Any],
        first: bool,
    ) -> Outcome:
        engine = self._engine
        if job.attempts > MAX_ATTEMPTS:
            return Outcome("failed", ConcurrencyExhausted("too many concurrent changes; retry"))
        if not first and idempotency is not None:
            try:
                stored = engine.replay(idempotency)
            except Exception as error:
                return Outcome("failed", error)
            if stored is not None:
                return Outcome("done", stored)
        uow = UnitOfWork(
            engine.load,
            self._read,
            seed=job.seed,
            providers=engine.provider,
            provider_call=_from_answers(job.answers),
        )
        try:
            with engine.clocked():
                answer = Reply(reply(command(uow)))
                to_save: list[Any] = uow.collect()
                if idempotency is not None:
                    to_save.append(engine.idempotency_record(idempotency, answer))
        except NeedsProvider:
            if job.prepared >= MAX_PREPARES:
                moved = ConcurrencyExhausted("the payment changed while its provider was called")
                return Outcome("failed", moved, tuple(uow.loaded_ids()))
            return Outcome("prepare", loaded=tuple(uow.loaded_ids()))
        except IllegalTransition as error:
            loaded = tuple(uow.loaded_ids())
            if first:  # refused on cached state: check against the store first
                return Outcome("again", loaded=loaded)
            if idempotency is None or not idempotency.keep_refusals:
                return Outcome("failed", error, loaded)
            answer = Reply(error.message, refusal=error.code)
            with engine.clocked():
                record = engine.idempotency_record(idempotency, answer)
            return Outcome("refused", answer, loaded, (record,))
        except BaseException as error:
            return Outcome("failed", error, tuple(uow.loaded_ids()))
        self.add(group, to_save)
        return Outcome("staged", answer)

    def _read(self, aggregate_id: UUID) -> Any:
        """engine.current, once per group for each aggregate (on the writer only)."""
        reads = self._reads
        found = reads.get(aggregate_id)
        if found is None:
            found = reads[aggregate_id] = self._engine.current(aggregate_id)
        return found

    # ----- GroupStore ---------------------------------------------------------------------------
    def new_group(self) -> ProcessingEvent[Any]:
        self._reads.clear()
        return ProcessingEvent()

    def add(self, group: ProcessingEvent[Any], aggregates: Any) -> None:
        """Stage aggregates' pending events; the cache holds them at once, so the next command
        of the group sees them (evicted again if the group fails)."""
        # What ProcessingEvent.collect_events does, without its runtime-Protocol isinstance
        # checks (a tenth of the writer's time): everything staged here is a LedgerAggregate.
        cache = self._engine.repository.cache
        for aggregate in aggregates:
            assert isinstance(aggregate, LedgerAggregate)
            group.events.extend(aggregate.collect_events())
            group.aggregates[aggregate.id] = aggregate
            if cache is not None:
                cache.put(aggregate.id, aggregate)

    def commit_group(self, group: ProcessingEvent[Any]) -> None:
        if group.events:
            record_group(self._engine, group)

    def after_group(self, group: ProcessingEvent[Any]) -> None:
        after_group(self._engine, group)

    def evict(self, aggregate_ids: list[Any]) -> None:
        self._reads.clear()
        self._engine.evict(aggregate_ids)

    def group_ids(self, group: ProcessingEvent[Any]) -> list[Any]:
        return list(group.aggregates)

    def is_conflict(self, error: BaseException) -> bool:
        return isinstance(error, IntegrityError)

    def prepare(self, job: Job) -> None:
        self._preparers.submit(self._prepare, job)

    def _prepare(self, job: Job) -> None:
        """Run the command on the store's current state with real provider calls, keeping each
        answer; its changes are dropped, the writer runs it again with those answers."""
        job.prepared += 1
        engine = self._engine
        uow = UnitOfWork(
            engine.fresh,
            engine.current,
            seed=job.seed,
            providers=engine.provider,
            provider_call=_keeping(job.answers),
        )
        command = job.command
        try:
            with engine.clocked():
                command(uow)
        except Exception:  # noqa: S110 - the writer's run meets the same state and decides
            pass
        try:
            self._writer.submit(job)
        except RuntimeError as error:  # the writer stopped meanwhile
            job.future.set_exception(error)

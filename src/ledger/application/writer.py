"""One writer thread per process for commands, committed in groups.

Requests hand their commands to the writer and wait. The writer runs them one after another on
its cached aggregates (no lock to take, nothing to copy: it is the only thread that changes
them), collects what each recorded, and writes a whole group in one transaction; every request
in the group is answered only after that COMMIT returned. While one group commits, the next one
queues, so the cost of a durable commit is shared by everyone who arrived meanwhile.

Rules that keep this safe:
- A command that fails (or must run again on fresh state) first has the group before it
  committed, then the aggregates it loaded evicted: whatever it changed in memory is dropped,
  and nothing earlier is lost with it.
- A group whose write fails evicts every aggregate it touched. When it lost an optimistic-
  concurrency race with another process, each of its commands runs again on its own; any other
  failure fails every request in it (none was acknowledged).
- Provider calls that leave the process (Stripe, PayPal) never run on the writer: the command is
  prepared on another thread (provider called with the request's idempotency key, its answer
  kept), then run on the writer with that answer; see `ProviderAnswers`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)
MAX_GROUP = 64  # commands per transaction at most: one group's latency stays a few ms


class NeedsProvider(Exception):
    """Raised inside a command on the writer when it reaches a provider call whose answer it
    does not have yet: the command is prepared off the writer and comes back."""


class _Keyed(Protocol):
    @property
    def idempotency_key(self) -> str: ...


@dataclass
class ProviderAnswers:
    """A command's provider calls as answered while it was prepared, by each request's
    idempotency key: the writer's run gets the same answer for the same request (a request that
    differs, because the state moved on meanwhile, is prepared again; providers answer a repeated
    idempotency key with the first answer, so a second call can never charge twice)."""

    answers: dict[str, tuple[object, object]] = field(default_factory=dict)

    def keep(self, request: _Keyed, answer: object) -> None:
        self.answers[request.idempotency_key] = (request, answer)

    def answer_for(self, request: _Keyed) -> tuple[bool, object]:
        found = self.answers.get(request.idempotency_key)
        if found is None or found[0] != request:
            return False, None
        return True, found[1]


@dataclass(eq=False)
class Job:
    """One command on its way through the writer. `run` is the engine's: it stages the command
    into the group, or says what must happen first."""

    run: Callable[[Job, Any, bool], Outcome]
    command: Any = None
    future: Future[Any] = field(default_factory=Future)
    answers: ProviderAnswers = field(default_factory=ProviderAnswers)
    seed: str | None = None
    prepared: int = 0
    attempts: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one run of a job came to.
    staged: its events are in the group; answer `value` once the group commits.
    failed: it raised `value`; answered once what came before it is committed.
    again: run it again on fresh state, after the group so far commits and what it loaded is
    evicted. prepare: run its provider calls off the writer, then again.
    done: answer `value` now (a replayed reply).
    refused: a refusal kept as its reply; `records` staged once what it loaded is evicted.
    loaded: what it loaded, evicted on anything but staged."""

    kind: str
    value: Any = None
    loaded: tuple[Any, ...] = ()
    records: tuple[Any, ...] = ()


class GroupStore(Protocol):
    """What the writer needs from the engine."""

    def new_group(self) -> Any: ...

    def add(self, group: Any, aggregates: Any) -> None:
        """Stage aggregates' pending events into group."""

    def commit_group(self, group: Any) -> None:
        """Record the group in one transaction (raises what the store raised)."""

    def after_group(self, group: Any) -> None:
        """Snapshots and after-save hooks, once the group is durable."""

    def evict(self, aggregate_ids: list[Any]) -> None: ...

    def group_ids(self, group: Any) -> list[Any]: ...

    def is_conflict(self, error: BaseException) -> bool: ...

    def prepare(self, job: Job) -> None:
        """Run the job's provider calls off the writer, then hand it back (resubmit)."""


class Writer:
    def __init__(self, store: GroupStore, *, name: str = "ledger-writer") -> None:
        self._store = store
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._stopped = False
        self._thread.start()

    def on_writer(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, job: Job) -> Future[Any]:
        if self._stopped:
            raise RuntimeError("the ledger writer is stopped")
        self._queue.put(job)
        return job.future

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._queue.put(None)
            self._thread.join(timeout=10)

    # ----- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            while len(jobs) < MAX_GROUP:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this group
                    break
                jobs.append(more)
            try:
                self._group(jobs)
            except BaseException as error:  # never leave a request waiting forever
                log.exception("the ledger writer failed a group")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(error)

    def _group(self, jobs: list[Job]) -> None:
        group = self._store.new_group()
        staged: list[tuple[Job, Any]] = []
        for job in jobs:
            group = self._stage(job, group, staged)
        self._commit(group, staged)

    def _stage(self, job: Job, group: Any, staged: list[tuple[Job, Any]]) -> Any:
        """Stage job into group (committing the group first when the job needs that); returns
        the group to go on with."""
        while True:
            first = job.attempts == 0
            job.attempts += 1
            outcome = job.run(job, group, first)
            if outcome.kind == "staged":
                staged.append((job, outcome.value))
                return group
            if outcome.kind == "done":
                job.future.set_result(outcome.value)
                return group
            group = self._flush(group, staged)
            self._store.evict(list(outcome.loaded))
            if outcome.kind == "failed":
                job.future.set_exception(outcome.value)
                return group
            if outcome.kind == "refused":
                self._store.add(group, outcome.records)
                staged.append((job, outcome.value))
                return group
            if outcome.kind == "prepare":
                self._store.prepare(job)
                return group
            # "again": run it on fresh state, now that everything before it is in the store

    def _flush(self, group: Any, staged: list[tuple[Job, Any]]) -> Any:
        if staged or self._store.group_ids(group):
            self._commit(group, staged)
            staged.clear()
            return self._store.new_group()
        return group

    def _commit(self, group: Any, staged: list[tuple[Job, Any]]) -> None:
        if not staged and not self._store.group_ids(group):
            return
        try:
            self._store.commit_group(group)
        except BaseException as error:
            self._store.evict(self._store.group_ids(group))
            if self._store.is_conflict(error) and staged:
                # Another process wrote one of these aggregates: each command on its own again.
                # Each one's attempts go on counting, so a command that keeps losing ends.
                for job, _ in staged:
                    single: list[tuple[Job, Any]] = []
                    self._commit(self._stage(job, self._store.new_group(), single), single)
                return
            for job, _ in staged:
                job.future.set_exception(error)
            return
        try:
            self._store.after_group(group)
        finally:
            for job, value in staged:
                job.future.set_result(value)

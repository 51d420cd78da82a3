"""Operating the ledger through the API: who a key is, and the workflows' dead-letter queues
(listed with their last error, redriven by an admin)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.application.errors import NotFound
from ledger.application.principal import Principal, requires
from ledger.domain.api_key import SCOPES


class DeadLetter(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def receive_count(self) -> int: ...
    @property
    def error(self) -> str | None: ...


class DeadLetterSource(Protocol):
    def dead_letters(self, queue: str, limit: int = 100) -> Sequence[DeadLetter]: ...

    def redrive(self, queue: str, message_ids: Sequence[str] | None = None) -> int: ...


@dataclass(frozen=True, slots=True)
class QueueState:
    queue: str
    dead_letters: int
    last_error: str | None


@requires(*SCOPES)
def whoami(principal: Principal) -> Principal:
    """Any key may ask who it is: its id, scopes and manufacturer binding (never the secret)."""
    return principal


def _known(queue: str, queues: Sequence[str]) -> None:
    if queue not in queues:
        raise NotFound(f"no queue {queue!r}; queues: {', '.join(sorted(queues))}")


@requires("admin")
def queue_states(
    principal: Principal, source: DeadLetterSource, queues: Sequence[str], limit: int = 100
) -> list[QueueState]:
    """Each workflow queue's dead letters (up to limit counted) and the newest one's error."""
    states = []
    for queue in sorted(queues):
        letters = source.dead_letters(queue, limit)
        last = letters[-1].error if letters else None
        states.append(QueueState(queue, len(letters), last))
    return states


@requires("admin")
def dead_letters(
    principal: Principal, source: DeadLetterSource, queues: Sequence[str], queue: str, limit: int
) -> Sequence[DeadLetter]:
    _known(queue, queues)
    return source.dead_letters(queue, limit)


@requires("admin")
def redrive(
    principal: Principal,
    source: DeadLetterSource,
    queues: Sequence[str],
    queue: str,
    message_ids: Sequence[str] | None,
) -> int:
    """Move a queue's dead letters (all, or those named) back to the queue; how many moved."""
    _known(queue, queues)
    return source.redrive(queue, message_ids)

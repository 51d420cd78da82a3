"""What the workflows need from a queue (SQS on AWS, SQLite when embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Message:
    message_id: str
    body: str
    receive_count: int  # 1 on the first delivery
    receipt: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    body: str
    receive_count: int
    error: str | None


class WorkQueue(Protocol):
    def send(self, queue: str, body: str, *, dedupe_id: str | None = None) -> None: ...


class DeadLetters(Protocol):
    def dead_letters(self, queue: str, limit: int = 100) -> list[DeadLetter]: ...

    def redrive(self, queue: str, message_ids: Sequence[str] | None = None) -> int:
        """Move dead letters (all, or those listed) back to their queue; returns how many."""
        ...

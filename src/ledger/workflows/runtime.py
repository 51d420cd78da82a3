"""Running one queue message through its handler, the same way on AWS and embedded.

A handler that returns has done its work (or found it done: handlers are idempotent); the
message is deleted. One that raises is retried after an exponential backoff with jitter, and
after the queue's max_receive_count deliveries the message goes to the dead-letter queue.
Permanent provider refusals never raise: the handler records them in the ledger."""

from __future__ import annotations

import importlib
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ledger.application.engine import Engine
from ledger.application.ports import PayoutRail
from ledger.workflows.queue import Message, WorkQueue
from ledger.workflows.rules import QueueSpec

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    engine: Engine
    rails: Mapping[str, PayoutRail]
    queue: WorkQueue
    clock: Callable[[], datetime]


Handler = Callable[[dict[str, Any], WorkerContext], object]


@dataclass(frozen=True, slots=True)
class Outcome:
    action: Literal["delete", "retry", "dead"]
    delay_seconds: int = 0
    error: str | None = None


def handler_for(spec: QueueSpec) -> Handler:
    module = importlib.import_module(spec.handler_module)
    handle: Handler = module.handle
    return handle


def backoff_seconds(spec: QueueSpec, receive_count: int, rng: random.Random | None = None) -> int:
    """Exponential in the deliveries so far, capped, with jitter over its upper half so retries
    of many messages spread out."""
    exponent = min(max(receive_count - 1, 0), 30)
    ceiling = min(spec.backoff_max_seconds, spec.backoff_base_seconds * 2**exponent)
    return (rng or random.SystemRandom()).randint(max(ceiling // 2, 1), max(ceiling, 1))


def process(spec: QueueSpec, handler: Handler, context: WorkerContext, message: Message) -> Outcome:
    try:
        envelope = json.loads(message.body)
        if not isinstance(envelope, dict):
            raise ValueError("a workflow message is a JSON object")
    except ValueError as error:
        log.error("unreadable message %s on %s: %s", message.message_id, spec.name, error)
        return Outcome("dead", error=f"unreadable: {error}")
    try:
        handler(envelope, context)
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        if message.receive_count >= spec.max_receive_count:
            log.error("message %s on %s failed for good: %s", message.message_id, spec.name, text)
            return Outcome("dead", error=text)
        delay = backoff_seconds(spec, message.receive_count)
        log.warning(
            "message %s on %s failed (delivery %d), retrying in %d s: %s",
            message.message_id,
            spec.name,
            message.receive_count,
            delay,
            text,
        )
        return Outcome("retry", delay_seconds=delay, error=text)
    return Outcome("delete")

"""Workflows without AWS: the in-process bus, scheduler and workers of the embedded runtime.

The bus reads the event store's notification log from its saved position and puts an
EventBridge-shaped envelope on every queue whose rule matches, saving the new position in the
same transaction; the scheduler fires the schedules of the same rules file; the workers drain
the queues with the handlers, retries and dead-letter handling of ledger.workflows.runtime.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application

from ledger.adapters.sqlite_queue import SqliteQueue
from ledger.application.event_json import (
    SCHEDULER_SOURCE,
    SOURCE,
    detail_type,
    event_detail,
    is_published_topic,
)
from ledger.workflows.rules import Schedule, WorkflowRules
from ledger.workflows.runtime import Handler, WorkerContext, handler_for, process

log = logging.getLogger(__name__)
BUS_POSITION = "bus"
BATCH = 200
# The bus saves its position with the messages it sends; notifications no rule routes (most of
# them: payments, captures) move it in memory only, saved at least every SAVE_EVERY of them. A
# restart then reads at most that many again, which routes nothing again.
SAVE_EVERY = 2000
ROUND_SECONDS = 0.1
_ENVELOPE_IDS = uuid5(NAMESPACE_URL, "urn:ledger:bus-envelope")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def envelope(event: Any) -> dict[str, Any]:
    """The event as EventBridge delivers it to an SQS target."""
    detail = event_detail(event)
    return {
        "version": "0",
        "id": str(uuid5(_ENVELOPE_IDS, detail["id"])),
        "detail-type": detail_type(event),
        "source": SOURCE,
        "account": "embedded",
        "time": event.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "local",
        "resources": [],
        "detail": detail,
    }


def schedule_message(schedule: Schedule, fired_at: datetime) -> dict[str, Any]:
    """What a schedule puts on its queue (Terraform gives EventBridge Scheduler the same)."""
    return {
        "detail-type": schedule.detail_type,
        "source": SCHEDULER_SOURCE,
        "detail": {
            "schedule": schedule.name,
            "scheduled_time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }


class InProcessBus:
    def __init__(self, app: Application[UUID], queue: SqliteQueue, rules: WorkflowRules) -> None:
        self._app = app
        self._queue = queue
        self._rules = rules
        self._lock = threading.Lock()
        # Only events some rule can match are decoded (a topic ends with its detail-type).
        self._types = rules.routed_detail_types()
        self._scanned = 0

    def _may_route(self, topic: str) -> bool:
        if not is_published_topic(topic):
            return False
        return self._types is None or topic.rpartition(":")[2] in self._types

    def pump(self) -> int:
        """Route every event recorded since the saved position; returns messages sent."""
        sent = 0
        with self._lock:
            saved = self._queue.position(BUS_POSITION)
            position = max(saved, self._scanned)
            while True:
                notifications = self._app.recorder.select_notifications(
                    start=position + 1, limit=BATCH
                )
                if not notifications:
                    return sent
                messages: list[tuple[str, str, str | None]] = []
                for notification in notifications:
                    if not self._may_route(notification.topic):
                        continue
                    body = envelope(self._app.mapper.to_domain_event(notification))
                    for rule, queue in self._rules.route(body):
                        dedupe = f"{rule.name}:{body['detail']['id']}"
                        messages.append((queue, json.dumps(body, separators=(",", ":")), dedupe))
                position = notifications[-1].id
                if messages or position - saved >= SAVE_EVERY:
                    self._queue.send_batch(messages, position=(BUS_POSITION, position))
                    saved = position
                self._scanned = position
                sent += len(messages)


class EmbeddedScheduler:
    def __init__(self, queue: SqliteQueue, rules: WorkflowRules, clock: Callable[[], datetime]):
        self._queue = queue
        self._schedules = rules.schedules
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_at: datetime | None = None

    def tick(self) -> int:
        """Fire every schedule whose time has come (once each, however late); returns how many
        fired. The first tick only arms the schedules."""
        with self._lock:
            return self._tick()

    def _tick(self) -> int:
        now = self._clock()
        fired = 0
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
            self._pruned_at = now
            self._queue.prune()
        for schedule in self._schedules:
            key = f"schedule:{schedule.name}"
            armed = self._queue.position(key)
            if not armed:
                first = schedule.next_after(now)
                self._queue.send_batch([], position=(key, _ms(first)))
                continue
            due = _EPOCH + timedelta(milliseconds=armed)
            if due > now:
                continue
            # Late (the process was down): one firing, as of the latest missed time, not a
            # backlog of them and not as of the oldest.
            latest = schedule.latest_at_or_before(now, due)
            body = json.dumps(schedule_message(schedule, latest), separators=(",", ":"))
            self._queue.send_batch(
                [(schedule.queue, body, f"{key}:{armed}")],
                position=(key, _ms(schedule.next_after(latest))),
            )
            fired += 1
        return fired


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


class EmbeddedWorkers:
    def __init__(self, queue: SqliteQueue, rules: WorkflowRules, context: WorkerContext) -> None:
        self._queue = queue
        self._rules = rules
        self._context = context
        self._handlers: dict[str, Handler] = {
            name: handler_for(spec) for name, spec in rules.queues.items()
        }
        self._lock = threading.Lock()

    def run_due(self) -> int:
        """Process every message visible now, on every queue; returns how many were handled."""
        handled = 0
        with self._lock:
            while True:
                round_handled = 0
                for name, spec in self._rules.queues.items():
                    for message in self._queue.receive(
                        name, visibility_seconds=spec.visibility_timeout_seconds
                    ):
                        outcome = process(spec, self._handlers[name], self._context, message)
                        if outcome.action == "delete":
                            self._queue.delete(message.receipt)
                        elif outcome.action == "retry":
                            self._queue.retry_later(
                                message.receipt, outcome.delay_seconds, outcome.error
                            )
                        else:
                            self._queue.dead_letter(message.receipt, outcome.error)
                        round_handled += 1
                if not round_handled:
                    return handled
                handled += round_handled


class WorkflowRunner:
    """Bus, scheduler and workers together; settle() runs them until nothing is left to do now
    (tests and the CLI), start() runs them in the background (the server)."""

    def __init__(
        self,
        bus: InProcessBus,
        scheduler: EmbeddedScheduler,
        workers: EmbeddedWorkers,
        queue: SqliteQueue,
    ) -> None:
        self.bus = bus
        self.scheduler = scheduler
        self.workers = workers
        self.queue = queue
        self._stop = threading.Event()
        self._prompted = threading.Event()
        self._thread: threading.Thread | None = None

    def settle(self) -> int:
        total = 0
        while True:
            done = self.scheduler.tick() + self.bus.pump() + self.workers.run_due()
            if not done:
                return total
            total += done

    def prompt(self) -> None:
        self._prompted.set()

    def start(self, interval: float = 0.5) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.settle()
                except Exception:
                    log.exception("workflow round failed; retrying")
                self._prompted.wait(interval)
                # Rounds at most every ROUND_SECONDS: under load one round serves many saves
                # instead of every save waking the runner.
                self._stop.wait(ROUND_SECONDS)
                self._prompted.clear()

        self._thread = threading.Thread(target=loop, name="workflows", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._prompted.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

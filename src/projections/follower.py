"""Keeps read models current from the event store's notification log (embedded runtime).

Per-aggregate version tracking in the store makes every apply idempotent, so catching up twice,
or from two threads, or after a crash between batches, never double-counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from projections.logic import is_projected_topic, project
from projections.store import Freshness, ReadModelStore, TrackedChanges

log = logging.getLogger(__name__)
BATCH = 500
# Background catch-up waits DEBOUNCE after being prompted, so one pass takes many payments'
# events (a read model row touched by many of them is written once per slice), then works in
# slices with a pause between them, so the interpreter returns to requests in between. (A
# 0.1 s debounce or 500-notification slices cost no measurably less per payment under load
# and double the lag: 2026-12-03, issue 14.)
SLICE = 250
SLICE_PAUSE_SECONDS = 0.001
DEBOUNCE_SECONDS = 0.05


class Follower:
    def __init__(self, app: Application[UUID], store: ReadModelStore) -> None:
        self._app = app
        self._store = store
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._prompted = threading.Event()
        self._thread: threading.Thread | None = None
        self._projected: dict[str, bool] = {}  # topic -> is_projected_topic(topic)
        # Told of every projected event as it is read (API keys drop a revoked key's cache).
        self.observers: list[Callable[[Any], object]] = []

    def _batches(self, after: int, size: int = BATCH) -> Iterator[tuple[list[TrackedChanges], int]]:
        position = after
        while True:
            taken = self._slice(position, size)
            if taken is None:
                return
            batch, position, read = taken
            yield batch, position
            if read < size:  # the head was reached: no need to ask again
                return

    def _slice(self, after: int, size: int) -> tuple[list[TrackedChanges], int, int] | None:
        """The changes of the projected events among the next `size` notifications after
        `after`, the last notification's id and how many were read (None: none were)."""
        notifications = self._app.recorder.select_notifications(start=after + 1, limit=size)
        if not notifications:
            return None
        batch = []
        projected = self._projected
        decode = self._app.mapper.to_domain_event
        observers = self.observers
        for notification in notifications:
            topic = notification.topic
            wanted = projected.get(topic)
            if wanted is None:
                wanted = projected[topic] = is_projected_topic(topic)
            if wanted:
                event: Any = decode(notification)
                for observe in observers:
                    observe(event)
                batch.append(
                    TrackedChanges(
                        aggregate_id=str(notification.originator_id),
                        version=notification.originator_version,
                        changes=project(event),
                    )
                )
        return batch, notifications[-1].id, len(notifications)

    def prompt(self) -> None:
        """New events were recorded: wake the background follower."""
        self._prompted.set()

    def catch_up(self) -> int:
        """Apply every event recorded since the last position; returns how many were new."""
        with self._lock:
            applied = 0
            for batch, position in self._batches(self._store.position()[0]):
                applied += self._store.apply(batch, position)
            return applied

    def _catch_up_in_slices(self) -> None:
        """Background catch-up in small slices with a pause between them, so a request never
        waits long behind it for the interpreter (a reader that needs everything catches up in
        full itself)."""
        while not self._stop.is_set():
            with self._lock:
                taken = self._slice(self._store.position()[0], SLICE)
                if taken is None:
                    return
                batch, position, read = taken
                self._store.apply(batch, position)
            if read < SLICE:  # caught up: what is recorded from now on prompts the next pass
                return
            time.sleep(SLICE_PAUSE_SECONDS)

    def rebuild(self) -> int:
        """Recompute every read model from the full event history."""
        with self._lock:
            return self._store.replace_all(self._batches(0))

    def freshness(self) -> Freshness:
        position, updated_at = self._store.position()
        head = self._app.recorder.max_notification_id() or 0
        return Freshness(position=position, head=head, updated_at=updated_at)

    def oldest_pending_at(self) -> datetime | None:
        """When the oldest event not yet applied was recorded (None when none is waiting)."""
        position, _ = self._store.position()
        pending = self._app.recorder.select_notifications(start=position + 1, limit=1)
        if not pending:
            return None
        event: Any = self._app.mapper.to_domain_event(pending[0])
        timestamp: datetime = event.timestamp
        return timestamp

    def start(self, interval: float = 0.5) -> None:
        """Poll in the background too, for events written by other processes (the CLI)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                if self._prompted.wait(interval):
                    self._stop.wait(DEBOUNCE_SECONDS)
                self._prompted.clear()
                if self._stop.is_set():
                    return
                try:
                    self._catch_up_in_slices()
                except Exception:  # keep following; the next poll retries the same batch
                    log.exception("projection catch-up failed; will retry")

        self._thread = threading.Thread(target=loop, name="projection-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._prompted.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

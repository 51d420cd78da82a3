"""How the group-commit writer (ledger.application.grouped) records a group on the engine's
store, and what follows once it is durable: the library's Application.save steps, without the
parts the writer never uses.

- Recording: the library's EventStore.put also makes a Recording (and a Notification) of each
  event for notify() hooks, which a group never calls; a recorder that can insert without them
  (the embedded SQLite one: one executemany in one transaction, same rows, same order, same
  errors) is asked to, any other takes the library's own path. Either way the aggregates are in
  the command cache already (put there as they were staged).
- Snapshots: the library's rule (one whenever an aggregate of a snapshotted type reaches a
  multiple of its interval) rebuilds the aggregate from the store. The aggregate the group just
  recorded is that same state when it has nothing pending and is at the group's last version of
  it, so the snapshot is taken from it (at that version, possibly past the multiple: as good a
  snapshot); otherwise it is rebuilt as the library does. A failure here never fails the group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent

if TYPE_CHECKING:
    from ledger.application.engine import Engine

log = logging.getLogger(__name__)


def record_group(engine: Engine, group: ProcessingEvent[UUID]) -> None:
    """The group's events in one transaction (raises what the store raised)."""
    quiet: Callable[[list[Any]], None] | None = getattr(
        engine.recorder, "insert_events_quietly", None
    )
    if quiet is None or group.tracking is not None or group.saved_kwargs:
        engine._record(group)
        return
    quiet(list(map(engine.mapper.to_stored_event, group.events)))
    # The library's _record would now put the group's aggregates in the cache: the writer put
    # each one there as it was staged (GroupedCommands.add), and evicts them if the group fails.


def after_group(engine: Engine, group: ProcessingEvent[UUID]) -> None:
    """Snapshots and after-save hooks, once the group is durable."""
    snapshot_group(engine, group)
    for hook in engine.after_save:
        try:
            hook()
        except Exception:  # the save is durable; followers retry on their own
            log.exception("after-save hook failed")


def snapshot_group(engine: Engine, group: ProcessingEvent[UUID]) -> None:
    snapshots = engine.snapshots
    intervals = engine.snapshotting_intervals
    if snapshots is None or not intervals:
        return
    due: dict[UUID, int] = {}
    newest: dict[UUID, int] = {}
    aggregates = group.aggregates
    for event in group.events:
        originator_id = event.originator_id
        aggregate = aggregates.get(originator_id)
        if aggregate is None:
            continue
        interval = intervals.get(type(aggregate))
        if interval is None:
            continue
        version = event.originator_version
        newest[originator_id] = version
        if version % interval == 0:
            due[originator_id] = version
    for aggregate_id, version in due.items():
        recorded: Any = aggregates[aggregate_id]
        try:
            if not recorded.pending_events and recorded.version == newest[aggregate_id]:
                snapshot_class: Any = getattr(type(recorded), "Snapshot", engine.snapshot_class)
                snapshots.put([snapshot_class.take(recorded)])
            else:
                engine.take_snapshot(aggregate_id, version=version)
        except Exception:
            log.exception("taking a snapshot failed; the events are saved")

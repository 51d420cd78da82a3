"""What the event store recorded, read back as the projections read it: through the recorder's
notification log and the application's mapper."""

from __future__ import annotations

from typing import Any

from ledger.application.engine import Engine
from projections.logic import home_row, is_projected_topic, project
from projections.store import TrackedChanges


def recorded_events(engine: Engine, kind: str | None = None) -> list[Any]:
    """Every domain event recorded so far, oldest first; with kind ("Payment.Initiated"), only
    the events of that kind."""
    return [
        engine.mapper.to_domain_event(notification)
        for notification in engine.recorder.select_notifications(start=1, limit=1_000_000)
        if kind is None or notification.topic.endswith(f":{kind}")
    ]


def tracked_changes(engine: Engine) -> list[TrackedChanges]:
    """The read-model changes of every projected event recorded so far, as the follower makes
    them: projections.logic.project() of each event, with its aggregate and version."""
    return [
        TrackedChanges(
            str(event.originator_id), event.originator_version, project(event), home_row(event)
        )
        for notification in engine.recorder.select_notifications(start=1, limit=1_000_000)
        if is_projected_topic(notification.topic)
        for event in [engine.mapper.to_domain_event(notification)]
    ]

"""DynamoDB Stream records of the events table, back to the library's stored events."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent


def stored_event_from_image(image: dict[str, Any]) -> StoredEvent:
    """An events-table item (from a Scan, or a stream record's NewImage) as a StoredEvent.
    Stream records carry binary attributes base64-encoded; boto3 Scans give bytes."""
    state = image["state"]["B"]
    if isinstance(state, str):
        state = base64.b64decode(state)
    return StoredEvent(
        originator_id=UUID(image["aggregate_id"]["S"]),
        originator_version=int(image["version"]["N"]),
        topic=image["topic"]["S"],
        state=bytes(state),
    )

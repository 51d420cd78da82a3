"""The books: which accounting periods (calendar months, UTC) are closed.

Closing a period closes it and every period before it (the books are closed *through* a month),
so the first open period is always the month after the last close. A closed period's statements
are frozen as issued; an event that arrives later with an effective time in a closed period is
booked into the first open period, as an adjustment that names the original."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, now
from ledger.domain.errors import IllegalTransition, InvalidInput

_ID = uuid5(NAMESPACE_URL, "urn:ledger:books")
PERIOD = re.compile(r"^(19|[2-8][0-9])\d{2}-(0[1-9]|1[0-2])$")


def next_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + (month == 12):04d}-{month % 12 + 1:02d}"


def period_end(period: str) -> datetime:
    """The first moment after the period (UTC)."""
    year, month = (int(part) for part in next_period(period).split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


class Books(LedgerAggregate):
    @staticmethod
    def create_id() -> UUID:
        return _ID

    @event("Opened")
    def __init__(self) -> None:
        self.closed_through: str | None = None
        self.closes: list[dict[str, str]] = []

    def close(self, period: str, closed_by: str) -> None:
        if not PERIOD.match(period):
            raise InvalidInput("period must be YYYY-MM, from 1900 to 8999")
        if self.closed_through is not None and period <= self.closed_through:
            raise IllegalTransition(f"the books are already closed through {self.closed_through}")
        if period_end(period) > now():
            raise IllegalTransition(f"{period} has not ended yet")
        self._closed(period=period, closed_by=closed_by)

    @event("PeriodClosed")
    def _closed(self, *, period: str, closed_by: str) -> None:
        self.closed_through = period
        self.closes.append(
            {"period": period, "closed_by": closed_by, "closed_at": self.event_time.isoformat()}
        )

"""The read-model store port: what the follower writes and what the API reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from projections.changes import Change
from projections.cursor import encode_cursor


class ProjectionGap(Exception):
    """An aggregate's event arrived before its predecessor: retry later, never skip."""


@dataclass(frozen=True, slots=True)
class TrackedChanges:
    aggregate_id: str
    version: int
    changes: list[Change]
    # The read-model row that stands for the aggregate (projections.logic.home_row): the
    # DynamoDB store keeps the aggregate's last applied version on it. None: a row of its own.
    home: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class Freshness:
    position: int  # last event applied, in the event store's notification order
    head: int  # last event recorded
    updated_at: str | None

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": "notification-log",
            "position": self.position,
            "head": self.head,
            "lag_events": self.lag,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None


def page_of(rows: list[dict[str, Any]], limit: int, sort: str, key: str) -> Page:
    """A page of `limit` rows fetched as limit + 1: the extra row says whether a next page exists,
    and the cursor points at the last row returned."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode_cursor(rows[-1][sort], rows[-1][key]))
    return Page(rows, None)


class ReadModelStore(Protocol):
    def apply(self, batch: Sequence[TrackedChanges], position: int | None) -> int:
        """Apply changes with per-aggregate version tracking in one transaction; returns how
        many events were new. Seen versions are skipped; a gap raises ProjectionGap."""
        ...

    def replace_all(self, batches: Iterator[tuple[list[TrackedChanges], int]]) -> int:
        """Empty the read models, then apply every (batch, position); returns events applied."""
        ...

    def position(self) -> tuple[int, str | None]: ...

    def reset(self) -> None: ...

    def balance(self, account: str, currency: str, as_of: str | None) -> tuple[int, int]: ...

    def posted_to(self, account: str, currency: str) -> bool:
        """Whether the account has ever had a posting in the currency."""
        ...

    def trial_balance(self, account_prefix: str | None) -> list[dict[str, Any]]: ...

    def payments(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page: ...

    def refunds(
        self,
        *,
        manufacturer_id: str | None,
        payment_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page: ...

    def payouts(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        awaiting_approval_by: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        """awaiting_approval_by: a key id; only payouts pending approval that this key neither
        requested nor has approved."""
        ...

    def disputes(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
        due_after: str | None = None,
        due_before: str | None = None,
    ) -> Page:
        """due_after (inclusive) / due_before (exclusive): on the evidence due date; a dispute
        without one is left out when either is given."""
        ...

    def manufacturers(
        self, *, manufacturer_id: str | None, cursor: str | None, limit: int
    ) -> Page: ...

    def subscriptions(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page:
        """Rows carry `status` (active, past_due, canceled) and `manufacturer_ids` (a list)."""
        ...

    def report_days(
        self, manufacturer_id: str, day_from: str, day_to: str
    ) -> list[dict[str, Any]]: ...

    def currencies_of(self, manufacturer_id: str) -> list[str]: ...

    def statement_lines(self, owner: str) -> list[dict[str, Any]]:
        """Every statement line of a manufacturer (or "platform"), in line_id (time) order,
        each with its key columns (owner, line_id)."""
        ...

    def statement_lines_from(
        self, owner: str, recorded_from: str, effective_before: str
    ) -> list[dict[str, Any]]:
        """The lines of statement_lines(owner) recorded at or after recorded_from and effective
        before effective_before: all a period's statement needs line by line."""
        ...

    def statement_opening(self, owner: str, recorded_before: str) -> dict[str, int]:
        """Per currency the owner has lines in before recorded_before, what those lines moved
        its payable by (the sum of projections.logic.MOVEMENT_KINDS)."""
        ...

    def period_closes(self) -> list[dict[str, Any]]:
        """Every close of the books: period, closed_at, closed_by; by period."""
        ...

    def count_api_keys(self) -> int: ...

    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key row, oldest first."""
        ...

    def freshness(self) -> dict[str, Any]:
        """How current the read models are, in the terms the store can tell."""
        ...

    def close(self) -> None: ...

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every read-model row, in a stable order (rebuild == incremental checks)."""
        ...

"""ACH origination records: the originator's counters (file numbers, trace sequences) and each
NACHA file's contents as the ledger booked them. A file is recorded, with the payouts it pays
and the debits it collects, in one atomic save before its text is written; the text can always
be rendered again from this record, so a crash never sends money twice or loses a file."""

from __future__ import annotations

import string
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain import accounts
from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition
from ledger.domain.journal import JournalEntry, entry

_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:ach")
MODIFIERS = string.ascii_uppercase + string.digits
MAX_SEQUENCE = 9_999_999


class AchOriginator(LedgerAggregate):
    @staticmethod
    def create_id() -> UUID:
        return uuid5(_NAMESPACE, "originator")

    @event("Opened")
    def __init__(self) -> None:
        self.next_sequence = 1
        self.files = 0
        self.day = ""
        self.files_today = 0

    def allocate(self, entries: int, day: str) -> tuple[int, int, str]:
        """(file number, first trace sequence, file id modifier) for a new file of entries."""
        today = self.files_today if day == self.day else 0
        if today >= len(MODIFIERS):
            raise IllegalTransition("36 ACH files a day is the most a file id modifier allows")
        first = self.next_sequence if self.next_sequence + entries <= MAX_SEQUENCE else 1
        self._allocated(entries=entries, day=day, first_sequence=first)
        return self.files, first, MODIFIERS[today]

    @event("Allocated")
    def _allocated(self, *, entries: int, day: str, first_sequence: int) -> None:
        self.files_today = (self.files_today if day == self.day else 0) + 1
        self.day = day
        self.files += 1
        self.next_sequence = first_sequence + entries


class AchFile(LedgerAggregate):
    """entries: [{kind: "payout"|"payment", id, amount, trace, token, name, sec_code,
    credit: bool}] in file order; token is the sealed bank account, never the number."""

    @staticmethod
    def create_id(file_number: int) -> UUID:
        return uuid5(_NAMESPACE, f"file:{file_number}")

    @event("Created")
    def __init__(
        self,
        *,
        file_number: int,
        file_id_modifier: str,
        first_sequence: int,
        effective_date: str,
        entries: list[dict[str, Any]],
    ) -> None:
        self.file_number = file_number
        self.file_id_modifier = file_id_modifier
        self.first_sequence = first_sequence
        self.effective_date = effective_date
        self.entries = entries
        self.settled_on: str | None = None

    @property
    def debit_ids(self) -> list[str]:
        return [item["id"] for item in self.entries if not item["credit"]]

    def settle(self, on: str, collected: list[tuple[str, int]]) -> None:
        """The bank settled the file on its effective date: the debits it still collected
        (not returned by then) arrive in the platform's bank. Once per file."""
        if self.settled_on is not None:
            raise IllegalTransition(f"ACH file {self.file_number} settled on {self.settled_on}")
        if on < self.effective_date:
            raise IllegalTransition(
                f"ACH file {self.file_number} settles on {self.effective_date}, not before"
            )
        total = sum(amount for _, amount in collected)
        booking = entry(
            "USD",
            [(accounts.PLATFORM_CASH, total), (accounts.provider_receivable("ach"), -total)],
        )
        self._settled(
            settled_on=on, collected=[{"id": i, "amount": a} for i, a in collected], entry=booking
        )

    @event("Settled")
    def _settled(
        self, *, settled_on: str, collected: list[dict[str, Any]], entry: JournalEntry
    ) -> None:
        self.settled_on = settled_on

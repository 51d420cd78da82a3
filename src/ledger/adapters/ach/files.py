"""NACHA files for the ACH use cases (the AchFiles port): entry names and references in the
format's terms, the text of a recorded file (bank accounts opened from the vault only to write
it), and returns files parsed."""

from __future__ import annotations

import json
import re
from datetime import date

from ledger.adapters.ach.nacha import (
    MAX_ENTRY_AMOUNT,
    Batch,
    Entry,
    NachaError,
    Origin,
    TransactionCode,
    parse_file,
    parse_returns,
    trace_number,
    write_file,
)
from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import VaultError
from ledger.application.ports import AchFileUnwritable, OriginatedFile, ReturnedEntry
from ledger.domain.ach_file import AchFile

_NAME = re.compile(r"[^A-Z0-9 .,&'/-]")


def origin_from_json(text: str) -> Origin:
    return Origin(**json.loads(text))


def _reference(public_id: str) -> str:
    prefix, _, hex_id = public_id.partition("_")
    return f"{prefix}{hex_id}"[:15].upper()


class NachaFiles:
    def __init__(self, origin: Origin, sealer: VaultSealer) -> None:
        self.origin = origin
        self.sealer = sealer

    def entry_name(self, text: str) -> str:
        cleaned = _NAME.sub("", text.upper().encode("ascii", "ignore").decode())
        return cleaned[:22].strip() or "LEDGER"

    def unusable(self, amount: int, token: str | None) -> str | None:
        if amount > MAX_ENTRY_AMOUNT:
            return "ach_amount_over_entry_limit"
        try:
            self.sealer.open(token or "")
        except VaultError:
            return "invalid_bank_account"
        return None

    def trace_number(self, sequence: int) -> str:
        return trace_number(self.origin.odfi_id, sequence)

    def render(self, ach_file: AchFile) -> OriginatedFile:
        try:
            text = self._text(ach_file)
        except (NachaError, VaultError) as error:
            raise AchFileUnwritable(str(error)) from error
        payouts = sum(1 for item in ach_file.entries if item["credit"])
        return OriginatedFile(ach_file.file_number, text, payouts, len(ach_file.entries) - payouts)

    def _text(self, ach_file: AchFile) -> str:
        effective = date.fromisoformat(ach_file.effective_date)
        batches = []
        for credit, sec, description in ((True, "CCD", "PAYOUT"), (False, "PPD", "PAYMENT")):
            entries = []
            for item in ach_file.entries:
                if item["credit"] != credit:
                    continue
                account = self.sealer.open(item["token"])
                savings = account.account_type == "savings"
                if credit:
                    code = TransactionCode(32 if savings else 22)
                else:
                    code = TransactionCode(37 if savings else 27)
                entries.append(
                    Entry(
                        transaction_code=code,
                        routing_number=account.routing_number,
                        account_number=account.account_number,
                        amount_cents=item["amount"],
                        name=item["name"],
                        identification_number=_reference(item["id"]),
                    )
                )
            if entries:
                batches.append(Batch(sec, description, effective, tuple(entries)))  # type: ignore[arg-type]
        return write_file(
            self.origin,
            batches,
            created_at=ach_file.created_on.replace(tzinfo=None),
            file_id_modifier=ach_file.file_id_modifier,
            first_trace_sequence=ach_file.first_sequence,
        )

    def returns(self, text: str) -> list[ReturnedEntry]:
        return [
            ReturnedEntry(
                original_trace_number=returned.original_trace_number,
                reason=f"{returned.return_reason_code}: {returned.reason.description}",
            )
            for returned in parse_returns(text)
        ]


def file_entries(text: str) -> list[tuple[str, int, bool, int]]:
    """A NACHA file's entries as (trace number, amount in cents, credit?, line), for
    reconciliation (NachaError, a ValueError, when it is not one)."""
    entries = []
    for batch in parse_file(text).batches:
        for entry, trace in zip(batch.batch.entries, batch.trace_numbers, strict=True):
            credit = int(entry.transaction_code) in (22, 32)
            entries.append((trace, entry.amount_cents, credit, 0))
    return entries

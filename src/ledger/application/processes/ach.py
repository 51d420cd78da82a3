"""ACH on the ledger: batching pending payouts and debits into NACHA files, and a returns file
turned back into ledger events. The file format and the sealed bank accounts are behind the
AchFiles port; what is paid, collected and returned is decided here.

- originate(): records one file (AchFile) with everything it pays and collects in one atomic
  save, then renders its text from that record (a file that cannot be written is never
  recorded) and hands it to deliver.
- apply_returns(): each returned entry, once (by its original trace number): a returned payout
  is booked back as owed; a returned debit fails if its file has not settled yet, else it
  reverses the payment like a lost chargeback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ledger.application.engine import Engine
from ledger.application.ports import AchFiles, AchFileUnwritable, OriginatedFile
from ledger.application.processes.provider_events import applied_once
from ledger.application.registries import pending_payments, pending_payouts
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.ach_file import AchFile, AchOriginator
from ledger.domain.errors import IllegalTransition
from ledger.domain.provider_records import ProviderLink

PROVIDER = "ach"
# One file's entries are saved in one atomic write with the aggregates they settle; DynamoDB
# transactions hold 100 items, and each entry touches up to four.
MAX_ENTRIES_PER_FILE = 20
Candidate = tuple[Literal["payout", "payment"], str]


def originate(
    engine: Engine,
    files: AchFiles,
    at: datetime,
    *,
    max_entries: int = MAX_ENTRIES_PER_FILE,
    deliver: Callable[[OriginatedFile], object] = lambda file: None,
) -> list[OriginatedFile]:
    """Every pending ACH payout and debit into files of at most max_entries."""
    candidates: list[Candidate] = [
        ("payout", p) for p in engine.registry_members(pending_payouts(PROVIDER))
    ] + [("payment", p) for p in engine.registry_members(pending_payments(PROVIDER))]
    recorded_files = []
    for start in range(0, len(candidates), max_entries):
        chunk = candidates[start : start + max_entries]
        recorded = engine.execute(_record_file(chunk, files, at))
        if recorded is not None:
            deliver(recorded)
            recorded_files.append(recorded)
    return recorded_files


def rerender(engine: Engine, files: AchFiles, file_number: int) -> OriginatedFile:
    """The text of a file recorded earlier (say, the process died before writing it)."""
    found = engine.current(AchFile.create_id(file_number))
    assert isinstance(found, AchFile)
    return files.render(found)


def effective_date(at: datetime) -> date:
    day = at.date() + timedelta(days=1)
    while day.weekday() >= 5:  # banks settle on business days
        day += timedelta(days=1)
    return day


def _entries(uow: UnitOfWork, chunk: list[Candidate], files: AchFiles) -> list[dict[str, Any]]:
    """The chunk's entries still to send (credits first, then debits), off their registries."""
    credits: list[dict[str, Any]] = []
    debits: list[dict[str, Any]] = []
    for kind, public_id in chunk:
        if kind == "payout":
            uow.registry(pending_payouts(PROVIDER), public_id).remove(public_id)
            payout = uow.payouts.get(public_id)
            manufacturer = uow.manufacturers.read(payout.manufacturer_id)
            if not payout.is_submitted or manufacturer is None:
                continue
            token = manufacturer.settings["bank_account_token"]
            name, amount, credit = manufacturer.name, payout.amount, True
        else:
            uow.registry(pending_payments(PROVIDER), public_id).remove(public_id)
            payment = uow.payments.get(public_id)
            if not payment.is_pending:
                continue
            token, name = payment.payment_method, payment.customer_id
            amount, credit = payment.amount, False
        (credits if credit else debits).append(
            {
                "kind": kind,
                "id": public_id,
                "amount": amount,
                "token": token,
                "name": files.entry_name(name),
                "credit": credit,
            }
        )
    return credits + debits


def _refuse(uow: UnitOfWork, item: dict[str, Any], problem: str) -> None:
    """An entry that cannot go into a file fails instead of blocking every file."""
    if item["kind"] == "payout":
        payout = uow.payouts.get(item["id"])
        uow.payable(payout.manufacturer_id, payout.currency).release(item["id"])
        payout.fail(problem)
    else:
        uow.payments.get(item["id"]).fail(problem)


def _settle(uow: UnitOfWork, item: dict[str, Any], trace: str) -> None:
    uow.add(ProviderLink(PROVIDER, trace, item["id"]))
    if item["kind"] == "payout":
        payout = uow.payouts.get(item["id"])
        uow.payable(payout.manufacturer_id, payout.currency).release(item["id"])
        payout.mark_paid(trace)
    else:
        # Pending until its file settles (ledger.application.processes.ach_settlement).
        uow.payments.get(item["id"]).originate_debit(trace)


def _record_file(
    chunk: list[Candidate], files: AchFiles, at: datetime
) -> Callable[[UnitOfWork], OriginatedFile | None]:
    def command(uow: UnitOfWork) -> OriginatedFile | None:
        entries = []
        for item in _entries(uow, chunk, files):
            problem = files.unusable(item["amount"], item["token"])
            if problem is None:
                entries.append(item)
            else:
                _refuse(uow, item, problem)
        if not entries:
            return None
        originator = uow.find(AchOriginator, AchOriginator.create_id())
        if originator is None:
            originator = uow.add(AchOriginator())
        number, first, modifier = originator.allocate(len(entries), at.date().isoformat())
        for offset, item in enumerate(entries):
            item["trace"] = files.trace_number(first + offset)
            _settle(uow, item, item["trace"])
        ach_file = uow.add(
            AchFile(
                file_number=number,
                file_id_modifier=modifier,
                first_sequence=first,
                effective_date=effective_date(at).isoformat(),
                entries=entries,
            )
        )
        try:
            return files.render(ach_file)
        except AchFileUnwritable as error:  # nothing is saved: the command fails whole
            raise IllegalTransition(f"the ACH file could not be written: {error}") from None

    return command


def apply_returns(engine: Engine, files: AchFiles, text: str) -> list[tuple[str, str]]:
    """[(original trace number, outcome)] for every entry of a returns file."""
    outcomes = []
    for returned in files.returns(text):
        trace = returned.original_trace_number
        outcomes.append((trace, engine.execute(_apply_return(trace, returned.reason))))
    return outcomes


def _apply_return(trace: str, reason: str) -> Callable[[UnitOfWork], str]:
    def apply(uow: UnitOfWork) -> str:
        link = uow.read(ProviderLink, ProviderLink.create_id(PROVIDER, trace))
        if link is None:
            return "ignored: unknown trace number"
        if link.target_id.startswith("po_"):
            payout = uow.payouts.get(link.target_id)
            if not payout.is_paid:
                return f"ignored: payout is {payout.status}"
            payout.mark_returned(reason)
            return f"payout {link.target_id} returned"
        return uow.payments.get(link.target_id).debit_returned(link.target_id, reason)

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, PROVIDER, f"return:{trace}", "ach_return", lambda: apply(uow))

    return command

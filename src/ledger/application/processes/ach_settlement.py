"""ACH settlement: an originated file settles on its effective date. Until then its debits can
still be returned, so they sit in `provider:ach:unsettled`, owed to no manufacturer (a payout
cannot spend them). Settling a file captures each debit still collected (the manufacturers are
owed their shares from then on) and books the money in the platform's bank, `platform:cash`
against `provider:ach:receivable`, once per file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain.ach_file import AchFile, AchOriginator


@dataclass(frozen=True, slots=True)
class Settlement:
    file_number: int
    outcome: str  # "settled", "already settled on ...", "not due until ..."
    collected: int = 0  # minor units (USD) booked to platform:cash
    debits: int = 0


def settle_due(engine: Engine, on: date) -> list[Settlement]:
    """Every recorded file whose effective date is on or before `on` and not settled yet,
    settled (files settled before are not reported again)."""
    try:
        originator = engine.current(AchOriginator.create_id())
    except AggregateNotFoundError:
        return []  # no file was ever originated
    results = []
    for number in range(1, originator.files + 1):
        # Read first: a file settled or not due yet needs no command.
        recorded = engine.current(AchFile.create_id(number))
        if recorded.settled_on is None and recorded.effective_date <= on.isoformat():
            results.append(settle_file(engine, number, on))
    return results


def settle_file(engine: Engine, file_number: int, on: date) -> Settlement:
    return engine.execute(_settle(file_number, on.isoformat()))


def _settle(file_number: int, on: str) -> Callable[[UnitOfWork], Settlement]:
    def command(uow: UnitOfWork) -> Settlement:
        ach_file = uow.find(AchFile, AchFile.create_id(file_number))
        if ach_file is None:
            return Settlement(file_number, "ignored: no such file")
        if ach_file.settled_on is not None:
            return Settlement(file_number, f"already settled on {ach_file.settled_on}")
        if on < ach_file.effective_date:
            return Settlement(file_number, f"not due until {ach_file.effective_date}")
        collected: list[tuple[str, int]] = []
        for payment_id in ach_file.debit_ids:
            payment = uow.payments.get(payment_id)
            if payment.debit_unsettled:
                payment.settle_debit()
            elif not (payment.is_captured and payment.amount_dispute_lost == 0):
                continue  # returned before settlement: never collected
            # (a debit captured when its file was written, before settlement was booked,
            # is collected all the same)
            collected.append((payment_id, payment.amount))
        ach_file.settle(on, collected)
        total = sum(amount for _, amount in collected)
        return Settlement(file_number, "settled", total, len(collected))

    return command

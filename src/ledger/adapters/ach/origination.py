"""ACH on the ledger: the provider for customer debits and the rail for manufacturer payouts,
batching into NACHA files, and the returns file turned back into ledger events.

- Debits: a payment with provider "ach" names a sealed bank-account token as its payment
  method; it stays pending until a file collects it (then authorized and captured, the trace
  number its reference). Only automatic capture in USD.
- Payouts: a manufacturer with payout_rail "ach" and a bank account is paid by the next file
  (the payout is "submitted" until then, its amount still reserved).
- originate(): records one file (AchFile) with everything it pays and collects in one atomic
  save, then renders the NACHA text from that record.
- apply_returns(): each returned entry, once (by its original trace number): a returned payout
  is booked back as owed; a returned debit reverses the payment like a lost chargeback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from ledger.adapters.ach.nacha import (
    MAX_ENTRY_AMOUNT,
    Batch,
    Entry,
    NachaError,
    Origin,
    TransactionCode,
    parse_returns,
    trace_number,
    write_file,
)
from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import VaultError
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    PayoutRequest,
    ProviderResult,
    RefundRequest,
    VoidRequest,
)
from ledger.application.service import LedgerService
from ledger.application.unit_of_work import UnitOfWork, pending_payments, pending_payouts
from ledger.application.webhooks import applied_once
from ledger.domain import ids
from ledger.domain.ach_file import AchFile, AchOriginator
from ledger.domain.errors import IllegalTransition
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment
from ledger.domain.payout import Payout
from ledger.domain.provider_records import ProviderLink

PROVIDER = "ach"
# One file's entries are saved in one atomic write with the aggregates they settle; DynamoDB
# transactions hold 100 items, and each entry touches up to four.
MAX_ENTRIES_PER_FILE = 20
_NAME = re.compile(r"[^A-Z0-9 .,&'/-]")


def origin_from_json(text: str) -> Origin:
    return Origin(**json.loads(text))


class AchProvider:
    """PaymentProvider (debits) and PayoutRail (credits) for ACH; nothing leaves until a file
    is originated."""

    batches = True

    def __init__(self, sealer: VaultSealer) -> None:
        self.sealer = sealer

    def _account_ok(self, token: str | None) -> str | None:
        if not token:
            return "no bank account"
        try:
            self.sealer.open(token)
        except VaultError:
            return "invalid_bank_account"
        return None

    def check_payment_method(self, payment_method: str) -> str | None:
        """Refused before anything is recorded: an ACH payment method must be a vault token, so
        a raw account number sent by mistake is never stored."""
        if self._account_ok(payment_method) is not None:
            return "an ach payment_method is a bank-account token from POST /v1/bank-accounts"
        return None

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        problem = self._account_ok(request.payment_method)
        if request.currency != "USD":
            problem = "ach_requires_usd"
        elif not request.capture:
            problem = "ach_debits_capture_automatically"
        elif request.amount > MAX_ENTRY_AMOUNT:
            problem = "ach_amount_over_entry_limit"
        if problem:
            return ProviderResult(status="failed", reference="", failure_reason=problem)
        return ProviderResult(status="pending", reference="")

    def capture(self, request: CaptureRequest) -> ProviderResult:
        return ProviderResult("failed", "", "ach_debits_capture_automatically")

    def void(self, request: VoidRequest) -> ProviderResult:
        return ProviderResult("failed", "", "ach_debits_cannot_be_voided")

    def refund(self, request: RefundRequest) -> ProviderResult:
        # A credit back to the customer's account would need its own file entry: not built.
        return ProviderResult("failed", "", "ach_refunds_not_supported")

    def pay_out(self, request: PayoutRequest) -> ProviderResult:
        problem = self._account_ok(request.destination)
        if request.currency != "USD":
            problem = "ach_requires_usd"
        elif request.amount > MAX_ENTRY_AMOUNT:
            problem = "ach_amount_over_entry_limit"
        if problem:
            return ProviderResult(status="failed", reference="", failure_reason=problem)
        return ProviderResult(status="pending", reference="")


@dataclass(frozen=True)
class OriginatedFile:
    file_number: int
    text: str
    payouts: int
    debits: int


def _name(text: str) -> str:
    cleaned = _NAME.sub("", text.upper().encode("ascii", "ignore").decode())
    return cleaned[:22].strip() or "LEDGER"


def _reference(public_id: str) -> str:
    prefix, _, hex_id = public_id.partition("_")
    return f"{prefix}{hex_id}"[:15].upper()


def originate(
    service: LedgerService,
    origin: Origin,
    sealer: VaultSealer,
    at: datetime,
    *,
    max_entries: int = MAX_ENTRIES_PER_FILE,
    deliver: Callable[[OriginatedFile], object] = lambda file: None,
) -> list[OriginatedFile]:
    """Every pending ACH payout and debit into files of at most max_entries. Each file's text
    is rendered inside the command that records it (a file that cannot be written is never
    recorded) and handed to deliver as soon as it is saved."""
    candidates: list[tuple[Literal["payout", "payment"], str]] = [
        ("payout", p) for p in service.registry_members(pending_payouts(PROVIDER))
    ] + [("payment", p) for p in service.registry_members(pending_payments(PROVIDER))]
    files = []
    for start in range(0, len(candidates), max_entries):
        chunk = candidates[start : start + max_entries]
        recorded = service.execute(_record_file(chunk, origin, sealer, at))
        if recorded is not None:
            deliver(recorded)
            files.append(recorded)
    return files


def rerender(
    service: LedgerService, file_number: int, origin: Origin, sealer: VaultSealer
) -> OriginatedFile:
    """The text of a file recorded earlier (say, the process died before writing it)."""
    found = service.current(AchFile.create_id(file_number))
    assert isinstance(found, AchFile)
    return render(found, origin, sealer)


def _unusable(item: dict[str, Any], sealer: VaultSealer) -> str | None:
    """Why an entry cannot go into a file (it then fails instead of blocking every file)."""
    if item["amount"] > MAX_ENTRY_AMOUNT:
        return "ach_amount_over_entry_limit"
    try:
        sealer.open(item["token"] or "")
    except VaultError:
        return "invalid_bank_account"
    return None


def _effective_date(at: datetime) -> date:
    day = at.date() + timedelta(days=1)
    while day.weekday() >= 5:  # banks settle on business days
        day += timedelta(days=1)
    return day


def _record_file(
    chunk: list[tuple[Literal["payout", "payment"], str]],
    origin: Origin,
    sealer: VaultSealer,
    at: datetime,
) -> Callable[[UnitOfWork], OriginatedFile | None]:
    def command(uow: UnitOfWork) -> OriginatedFile | None:
        credits: list[dict[str, Any]] = []
        debits: list[dict[str, Any]] = []
        for kind, public_id in chunk:
            if kind == "payout":
                uow.registry(pending_payouts(PROVIDER), public_id).remove(public_id)
                payout = uow.get(Payout, ids.decode("payout", public_id), "payout")
                manufacturer = uow.read(
                    Manufacturer, ids.decode("manufacturer", payout.manufacturer_id)
                )
                if payout.status != "submitted" or manufacturer is None:
                    continue
                credits.append(
                    {
                        "kind": "payout",
                        "id": public_id,
                        "amount": payout.amount,
                        "token": manufacturer.settings["bank_account_token"],
                        "name": _name(manufacturer.name),
                        "credit": True,
                    }
                )
            else:
                uow.registry(pending_payments(PROVIDER), public_id).remove(public_id)
                payment = uow.get(Payment, ids.decode("payment", public_id), "payment")
                if payment.status != "pending":
                    continue
                debits.append(
                    {
                        "kind": "payment",
                        "id": public_id,
                        "amount": payment.amount,
                        "token": payment.payment_method,
                        "name": _name(payment.customer_id),
                        "credit": False,
                    }
                )
        entries = []
        for item in credits + debits:  # file order: the credits batch, then the debits batch
            problem = _unusable(item, sealer)
            if problem is None:
                entries.append(item)
            elif item["kind"] == "payout":
                payout = uow.get(Payout, ids.decode("payout", item["id"]), "payout")
                uow.payable(payout.manufacturer_id, payout.currency).release(item["id"])
                payout.fail(problem)
            else:
                uow.get(Payment, ids.decode("payment", item["id"]), "payment").fail(problem)
        if not entries:
            return None
        originator = uow.find(AchOriginator, AchOriginator.create_id())
        if originator is None:
            originator = uow.add(AchOriginator())
        number, first, modifier = originator.allocate(len(entries), at.date().isoformat())
        for offset, item in enumerate(entries):
            trace = trace_number(origin.odfi_id, first + offset)
            item["trace"] = trace
            uow.add(ProviderLink(PROVIDER, trace, item["id"]))
            if item["kind"] == "payout":
                payout = uow.get(Payout, ids.decode("payout", item["id"]), "payout")
                uow.payable(payout.manufacturer_id, payout.currency).release(item["id"])
                payout.mark_paid(trace)
            else:
                payment = uow.get(Payment, ids.decode("payment", item["id"]), "payment")
                payment.authorize(trace)
                payment.capture(provider_reference=trace)
        ach_file = uow.add(
            AchFile(
                file_number=number,
                file_id_modifier=modifier,
                first_sequence=first,
                effective_date=_effective_date(at).isoformat(),
                entries=entries,
            )
        )
        try:
            return render(ach_file, origin, sealer)
        except (NachaError, VaultError) as error:  # nothing is saved: the command fails whole
            raise IllegalTransition(f"the ACH file could not be written: {error}") from None

    return command


def render(ach_file: AchFile, origin: Origin, sealer: VaultSealer) -> OriginatedFile:
    """The NACHA text of a recorded file (the same text every time it is rendered)."""
    effective = date.fromisoformat(ach_file.effective_date)
    batches = []
    for credit, sec, description in ((True, "CCD", "PAYOUT"), (False, "PPD", "PAYMENT")):
        entries = []
        for item in ach_file.entries:
            if item["credit"] != credit:
                continue
            account = sealer.open(item["token"])
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
    text = write_file(
        origin,
        batches,
        created_at=ach_file.created_on.replace(tzinfo=None),
        file_id_modifier=ach_file.file_id_modifier,
        first_trace_sequence=ach_file.first_sequence,
    )
    payouts = sum(1 for item in ach_file.entries if item["credit"])
    return OriginatedFile(ach_file.file_number, text, payouts, len(ach_file.entries) - payouts)


def apply_returns(service: LedgerService, text: str) -> list[tuple[str, str]]:
    """[(original trace number, outcome)] for every entry of a returns file."""
    outcomes = []
    for returned in parse_returns(text):
        reason = f"{returned.return_reason_code}: {returned.reason.description}"
        outcome = service.execute(_apply_return(returned.original_trace_number, reason))
        outcomes.append((returned.original_trace_number, outcome))
    return outcomes


def _apply_return(trace: str, reason: str) -> Callable[[UnitOfWork], str]:
    def apply(uow: UnitOfWork) -> str:
        link = uow.read(ProviderLink, ProviderLink.create_id(PROVIDER, trace))
        if link is None:
            return "ignored: unknown trace number"
        if link.target_id.startswith("po_"):
            payout = uow.get(Payout, ids.decode("payout", link.target_id), "payout")
            if payout.status != "paid":
                return f"ignored: payout is {payout.status}"
            payout.mark_returned(reason)
            return f"payout {link.target_id} returned"
        payment = uow.get(Payment, ids.decode("payment", link.target_id), "payment")
        return _return_debit(payment, link.target_id, reason)

    def command(uow: UnitOfWork) -> str:
        return applied_once(uow, PROVIDER, f"return:{trace}", "ach_return", lambda: apply(uow))

    return command


def _return_debit(payment: Payment, public_id: str, reason: str) -> str:
    """A returned debit never reached the platform: what is still held is taken back from the
    manufacturers like a lost chargeback (refunds already made stay as they are)."""
    if payment.status == "pending":
        payment.fail(reason)
        return f"payment {public_id} failed"
    if payment.status != "captured" or payment.refundable == 0:
        return f"ignored: payment is {payment.status} with nothing left to return"
    dispute_id = payment.open_dispute(payment.refundable, reason, f"return:{public_id}")
    payment.close_dispute(dispute_id, "lost")
    return f"payment {public_id} returned"

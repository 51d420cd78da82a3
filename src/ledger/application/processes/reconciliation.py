"""Reconciliation: every provider transaction matched to the ledger's record of it, by the
provider's id and the amount, and what does not match listed as a break with both sides.

- charge: the payment the provider id is linked to; its captured amount, currency and the
  provider fee the ledger booked must equal the line's.
- refund: the payment's refund with that provider refund id; its amount.
- ACH entries: the payment or payout the trace number names.
- a provider id seen twice in the input, or two lines on one ledger record: duplicate.
- expected: ledger records the input should hold (the entries of the ACH files reconciled)
  that it does not: missing_at_provider.
Fee lines, disputes and the payout's own line are summed, not matched. A run is recorded once
per provider and input (ledger.domain.reconciliation)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.processes.settlements import payment_of
from ledger.application.registries import RECONCILIATION_RUNS
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.provider_records import ProviderLink
from ledger.domain.reconciliation import (
    BREAKS_KEPT,
    MATCHED_KEPT,
    ReconciliationRun,
    input_digest,
)
from ledger.domain.settlement import ProviderTransaction

MATCHED_TYPES = ("charge", "refund", "ach_debit", "ach_credit")


@dataclass(frozen=True, slots=True)
class ReconciliationInput:
    provider: str
    source: str  # what was reconciled: a payout id, a file's name and id
    currency: str
    transactions: list[ProviderTransaction]
    payout: int | None = None  # what the provider says it paid, when it says
    # Ledger records the input should hold: ({what}, expected side) for missing_at_provider.
    expected: list[dict[str, Any]] = field(default_factory=list)


def reconcile(engine: Engine, given: ReconciliationInput) -> ReconciliationRun:
    lines = [t.as_dict() for t in given.transactions]
    digest = input_digest(given.provider, given.source, lines + given.expected)
    try:
        found: ReconciliationRun = engine.current(ReconciliationRun.create_id(digest))
        return found  # the same input again: the same run, the same result
    except AggregateNotFoundError:
        pass
    # Matched on reads of the store as it is (no command holds the writer meanwhile); the run
    # is then recorded in one small command.
    matched, breaks = _match(UnitOfWork(_prefetched(engine, given)), given)
    return engine.execute(_run(given, digest, matched, breaks))


def _prefetched(engine: Engine, given: ReconciliationInput) -> Callable[[UUID], Any]:
    """A loader holding every provider link and payment or payout the lines name, read in bulk
    (thousands of lines: one query per few hundred aggregates, not two per line)."""
    references = [
        t.id if t.type.startswith("ach_") else t.reference
        for t in given.transactions
        if t.type in MATCHED_TYPES
    ]
    link_ids = [ProviderLink.create_id(given.provider, r) for r in references if r]
    links = engine.fresh_many(link_ids)
    targets: list[UUID] = []
    for link in links.values():
        kind = "payout" if link.target_id.startswith("po_") else "payment"
        try:
            targets.append(ids.decode(kind, link.target_id))
        except ids.MalformedId:
            continue
    found = {**links, **engine.fresh_many(targets)}
    asked = set(link_ids) | set(targets)

    def load(aggregate_id: UUID) -> Any:
        if aggregate_id in found:
            return found[aggregate_id]
        if aggregate_id in asked:
            raise AggregateNotFoundError(aggregate_id)
        return engine.fresh(aggregate_id)

    return load


def _run(
    given: ReconciliationInput,
    digest: str,
    matched: list[dict[str, Any]],
    breaks: list[dict[str, Any]],
) -> Callable[[UnitOfWork], ReconciliationRun]:
    def command(uow: UnitOfWork) -> ReconciliationRun:
        found = uow.find(ReconciliationRun, ReconciliationRun.create_id(digest))
        if found is not None:
            return found  # recorded meanwhile by another run of the same input
        run = uow.add(
            ReconciliationRun(
                provider=given.provider,
                source=given.source,
                digest=digest,
                currency=given.currency,
                payout=given.payout,
                provider_net=sum(t.net for t in given.transactions if t.type != "payout"),
                matched_net=sum(pair["provider"]["net"] for pair in matched),
                matched=matched[:MATCHED_KEPT],
                breaks=breaks[:BREAKS_KEPT],
                matched_count=len(matched),
                breaks_count=dict(Counter(b["kind"] for b in breaks)),
            )
        )
        public_id = ids.encode("reconciliation", run.id)
        uow.registry(RECONCILIATION_RUNS, public_id).add(public_id)
        return run

    return command


def _side(t: ProviderTransaction) -> dict[str, Any]:
    side = t.as_dict()
    side["net"] = t.net
    return {k: v for k, v in side.items() if v is not None}


def _ledger_record(uow: UnitOfWork, provider: str, t: ProviderTransaction) -> dict[str, Any] | None:
    if t.type in ("ach_debit", "ach_credit"):
        link = uow.read(ProviderLink, ProviderLink.create_id(provider, t.id))
        if link is None:
            return None
        if link.target_id.startswith("po_"):
            payout = uow.payouts.read(link.target_id)
            if payout is None:
                return None
            return {
                "payout_id": link.target_id,
                "amount": -payout.amount,
                "fee": 0,
                "currency": payout.currency,
                "status": payout.status,
            }
        debit = uow.payments.read(link.target_id)
        if debit is None:
            return None
        return {
            "payment_id": link.target_id,
            "amount": debit.amount,
            "fee": 0,
            "currency": debit.currency,
            "status": debit.status,
        }
    payment = payment_of(uow, provider, t.reference)
    if payment is None:
        return None
    payment_id = ids.encode("payment", payment.id)
    if t.type == "charge":
        return {
            "payment_id": payment_id,
            "amount": payment.amount_captured,
            "fee": payment.provider_fee_booked,
            "currency": payment.currency,
            "status": payment.status,
        }
    refund_id = payment.refund_by_reference(t.refund_reference or "")
    if refund_id is None:
        return None
    refund = payment.refunds[refund_id]
    return {
        "payment_id": payment_id,
        "refund_id": refund_id,
        "amount": -refund["amount"],
        "fee": 0,
        "currency": payment.currency,
        "status": refund["status"],
    }


def _match(
    uow: UnitOfWork, given: ReconciliationInput
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    matched: list[dict[str, Any]] = []
    breaks: list[dict[str, Any]] = []
    seen_lines: dict[str, dict[str, Any]] = {}
    seen_records: dict[str, dict[str, Any]] = {}
    for t in given.transactions:
        if t.type not in MATCHED_TYPES:
            continue
        side = _side(t)
        if t.id in seen_lines:
            breaks.append({"kind": "duplicate", "provider": side, "ledger": seen_lines[t.id]})
            continue
        seen_lines[t.id] = side
        record = _ledger_record(uow, given.provider, t)
        if record is None:
            breaks.append({"kind": "missing_in_ledger", "provider": side, "ledger": None})
            continue
        key = record.get("refund_id") or record.get("payout_id") or record["payment_id"]
        if key in seen_records:
            breaks.append({"kind": "duplicate", "provider": side, "ledger": record})
            continue
        seen_records[key] = side
        kind = _difference(t, record)
        if kind is None:
            matched.append({"provider": side, "ledger": record})
        else:
            breaks.append({"kind": kind, "provider": side, "ledger": record})
    for expected in given.expected:
        key = expected.get("refund_id") or expected.get("payout_id") or expected["payment_id"]
        if key not in seen_records:
            breaks.append({"kind": "missing_at_provider", "provider": None, "ledger": expected})
    return matched, breaks


def _difference(t: ProviderTransaction, record: dict[str, Any]) -> str | None:
    if t.currency != record["currency"]:
        return "currency_mismatch"
    if t.amount != record["amount"]:
        return "amount_mismatch"
    if t.fee != record["fee"]:
        return "fee_mismatch"
    return None

"""Reconciliation of a Stripe payout covering N payments (100,000 by default) on SQLite, timed
and checked; then the same input again (found by its id, not matched again).

Seeding: one Stripe payment (linked to its PaymentIntent id, captured with the fee Stripe
reported) is recorded through the engine. Its events, as the event store holds them (the
provider link, the payment's Initiated, Authorized and Captured, the manufacturer payable's
Posted), are then cloned in SQL for every synthetic payment: a fresh id seed and so a fresh
payment id (as the engine derives it), its own PaymentIntent id and link id, the payable's
versions continued. Reconciliation so reads exactly the events production records, at volume,
without spending a quarter of an hour recording 100,000 payments one by one.

The payout: every payment's charge through the same path as `ledger reconcile --provider
stripe` (stripe_payout over the payout's balance transactions), plus three planted breaks: one
charge whose fee differs from the one booked, one charge the ledger never saw, one charge
listed twice. The run must find exactly those and its matched total must equal the payout.

    python -m bench.reconciliation [--payments N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.seed import create_payment, register

from ledger.application.ports import ProviderCapabilities, ProviderResult
from ledger.application.processes.reconciliation import reconcile
from ledger.application.processes.reconciliation_inputs import stripe_payout
from ledger.bootstrap import build
from ledger.domain.payment import Payment
from ledger.domain.provider_records import ProviderLink
from ledger.domain.settlement import ProviderTransaction
from ledger.settings import Settings

FEE = 59  # Stripe's fee on each 1000-cent charge, reported at capture
AMOUNT = 1000
TEMPLATE = "tmpl"  # the template's payment method; its PaymentIntent is pi_tmpl


class _Linked:
    capabilities = ProviderCapabilities(sends_webhooks=True, remote=False)

    def check_payment_method(self, payment_method: str) -> str | None:
        return None

    def authorize(self, request: Any) -> ProviderResult:
        return ProviderResult("succeeded", f"pi_{request.payment_method}", fee=FEE)


class _Payout:
    """The payout's balance transactions, as the Stripe adapter reads them through the SDK."""

    def __init__(self, transactions: list[ProviderTransaction]) -> None:
        self._transactions = transactions

    def payout_transactions(self, payout_reference: str) -> list[ProviderTransaction]:
        return self._transactions


def _reference(i: int) -> str:
    return f"pi_b{i}"


def clone_payments(db_path: Path, template: Payment, payments: int) -> None:
    """The template payment's events (and its link's and payable's) once per synthetic payment."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")  # bench data: nothing to keep if the machine fails
    hex_, dashed = template.id.hex, str(template.id)
    link = ProviderLink.create_id("stripe", f"pi_{TEMPLATE}").hex
    events: dict[str, list[tuple[int, str, bytes]]] = {}
    for originator, version, topic, state in db.execute(
        "SELECT originator_id, originator_version, topic, state FROM stored_events"
    ):
        events.setdefault(originator, []).append((version, topic, state))
    payment_events = events[hex_]
    (link_event,) = events[link]
    (payable,) = [
        originator
        for originator, found in events.items()
        if any(hex_.encode() in state or dashed.encode() in state for _, _, state in found)
        and originator not in (hex_, link)
    ]
    (posted,) = [e for e in events[payable] if dashed.encode() in e[2]]
    newest = max(version for version, _, _ in events[payable])
    seed = payment_events[0][2].split(b'"id_seed":"', 1)[1].split(b'"', 1)[0]

    def rows() -> Iterator[tuple[str, int, str, bytes]]:
        for i in range(payments):
            new_seed = f"job:{uuid.uuid4()}:payment".encode()
            new = Payment.create_id(new_seed.decode())
            swaps = (
                (seed, new_seed),
                (hex_.encode(), new.hex.encode()),
                (dashed.encode(), str(new).encode()),
                (f'"pi_{TEMPLATE}"'.encode(), f'"{_reference(i)}"'.encode()),
                (f'"{TEMPLATE}"'.encode(), f'"b{i}"'.encode()),
            )

            def cloned(state: bytes, swaps: tuple[tuple[bytes, bytes], ...] = swaps) -> bytes:
                for old, fresh in swaps:
                    state = state.replace(old, fresh)
                return state

            new_link = ProviderLink.create_id("stripe", _reference(i)).hex
            yield new_link, link_event[0], link_event[1], cloned(link_event[2])
            for version, topic, state in payment_events:
                yield new.hex, version, topic, cloned(state)
            yield payable, newest + 1 + i, posted[1], cloned(posted[2])

    db.execute("BEGIN")
    db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows())
    db.execute("COMMIT")
    db.close()


def payout_lines(payments: int) -> list[ProviderTransaction]:
    lines = [
        ProviderTransaction(f"txn_{i}", "charge", AMOUNT, FEE, "USD", reference=_reference(i))
        for i in range(payments)
    ]
    lines[1] = ProviderTransaction("txn_1", "charge", AMOUNT, FEE + 1, "USD", _reference(1))
    lines.append(ProviderTransaction("txn_absent", "charge", AMOUNT, FEE, "USD", "pi_absent"))
    lines.append(lines[2])
    matched = (payments - 1) * (AMOUNT - FEE)
    lines.append(ProviderTransaction("po_bench", "payout", -matched, 0, "USD"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=100_000)
    n = parser.parse_args().payments
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        container = build(Settings(db=path, create=True))
        try:
            engine = container.engine
            engine.register_provider("stripe", _Linked())
            maker = register(engine, name="Bench", fee_bps=250, refund_fee_policy="keep_fee")
            template = create_payment(
                engine,
                f"mfr_{maker.id.hex}",
                AMOUNT,
                provider="stripe",
                payment_method=TEMPLATE,
            )
            started = time.perf_counter()
            clone_payments(path, template, n)
            seeded = time.perf_counter() - started
            given = stripe_payout(_Payout(payout_lines(n)), "po_bench")
            wall, cpu = time.perf_counter(), time.process_time()
            run = reconcile(engine, given)
            matched, matched_cpu = time.perf_counter() - wall, time.process_time() - cpu
            started = time.perf_counter()
            again = reconcile(engine, given)
            again_in = time.perf_counter() - started
        finally:
            container.close()
    assert run.matched_count == n - 1, run.matched_count
    assert run.breaks_count == {"fee_mismatch": 1, "missing_in_ledger": 1, "duplicate": 1}, (
        run.breaks_count
    )
    assert run.payout == run.matched_net == (n - 1) * (AMOUNT - FEE), (run.payout, run.matched_net)
    assert again.id == run.id
    print(
        f"reconciliation on SQLite: CPython {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"seeded {n:,} payments ({n * 5:,} events cloned from one recorded) in {seeded:.1f} s")
    print(
        f"reconciled a Stripe payout of {n:,} payments in {matched:.2f} s "
        f"({matched_cpu:.2f} s CPU; {n / matched:,.0f} payments/s)"
    )
    print(f"the same input again: {again_in * 1000:.0f} ms (the recorded run)")
    print(
        f"checked: {run.matched_count:,} matched, matched_net = payout = {run.matched_net:,}; "
        "breaks found: fee_mismatch 1, missing_in_ledger 1, duplicate 1"
    )


if __name__ == "__main__":
    main()

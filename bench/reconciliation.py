"""Reconciliation on SQLite: N Stripe-like payments recorded (each linked to its provider id,
with the fee reported at capture), then one payout of N charges matched to them, timed; and
the same input again (found by its id, not matched again).

    python -m bench.reconciliation [--payments N]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.seed import create_payment, register

from ledger.application.ports import ProviderCapabilities, ProviderResult
from ledger.application.processes.reconciliation import ReconciliationInput, reconcile
from ledger.bootstrap import build
from ledger.domain.settlement import ProviderTransaction
from ledger.settings import Settings


class _Linked:
    capabilities = ProviderCapabilities(sends_webhooks=True, remote=False)

    def check_payment_method(self, payment_method: str) -> str | None:
        return None

    def authorize(self, request: Any) -> ProviderResult:
        return ProviderResult("succeeded", f"pi_{request.payment_method}", fee=59)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=5_000)
    n = parser.parse_args().payments
    with tempfile.TemporaryDirectory() as tmp:
        container = build(Settings(db=Path(tmp) / "bench.sqlite3", create=True))
        try:
            engine = container.engine
            engine.register_provider("stripe", _Linked())
            maker = register(engine, name="Bench", fee_bps=250, refund_fee_policy="keep_fee")
            m = f"mfr_{maker.id.hex}"
            started = time.perf_counter()
            for i in range(n):
                create_payment(engine, m, 1000, provider="stripe", payment_method=f"b{i}")
            seeded = time.perf_counter() - started
            lines = [
                ProviderTransaction(f"txn_{i}", "charge", 1000, 59, "USD", reference=f"pi_b{i}")
                for i in range(n)
            ]
            given = ReconciliationInput("stripe", "payout po_bench", "USD", lines, n * 941)
            started = time.perf_counter()
            run = reconcile(engine, given)
            matched = time.perf_counter() - started
            started = time.perf_counter()
            reconcile(engine, given)
            again = time.perf_counter() - started
        finally:
            container.close()
    assert run.matched_count == n
    assert not run.breaks_count
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(f"seeded {n} payments in {seeded:.1f} s")
    print(f"reconciled {n} payments in {matched:.2f} s ({n / matched:,.0f} payments/s)")
    print(f"the same input again: {again * 1000:.0f} ms (the recorded run)")


if __name__ == "__main__":
    main()

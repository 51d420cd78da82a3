"""Optimistic concurrency on a real SQLite file: several application instances (as separate
processes would be) refund the same payment at once and never over-refund."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ledger.application.commands import manufacturers, payments, refunds
from ledger.application.ports import ProviderResult
from ledger.application.principal import SYSTEM
from ledger.application.replies import Idempotency
from ledger.bootstrap import build
from ledger.domain.errors import DomainError
from ledger.settings import Settings
from tests.support.providers import ScriptedProviderBase
from tests.support.seed import create_payment, payment_fields, register

pytestmark = pytest.mark.integration


def _setup(db: Path) -> str:
    container = build(Settings(db=db))
    service = container.engine
    manufacturer = register(service, fee_bps=250, refund_fee_policy="refund_fee")
    payment = create_payment(service, f"mfr_{manufacturer.id.hex}", 10_000)
    container.close()
    return f"pay_{payment.id.hex}"


def test_concurrent_refunds_never_exceed_captured(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    payment_id = _setup(db)
    instances = [build(Settings(db=db)) for _ in range(4)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(16)

    def refund(worker: int) -> None:
        service = instances[worker % len(instances)].engine
        start.wait()
        for _ in range(10):
            try:
                service.execute(refunds.request(SYSTEM, payment_id, 70, None))
                result = "ok"
            except DomainError as error:
                result = error.code
            with lock:
                outcomes[result] += 1

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    fresh = build(Settings(db=db))
    payment = fresh.queries.payment(SYSTEM, payment_id)
    # 160 attempts of 70 against 10,000: exactly 142 fit (9,940), the rest are refused.
    assert outcomes["ok"] == 142
    assert outcomes["exceeds-refundable"] == 18, outcomes
    assert payment.amount_refunded == 142 * 70
    assert len(payment.refunds) == 142
    fresh.follower.catch_up()
    trial = fresh.read_models.trial_balance(None)
    assert sum(r["debits"] - r["credits"] for r in trial) == 0
    for container in [*instances, fresh]:
        container.close()


def test_concurrent_requests_with_one_idempotency_key_make_one_refund(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    payment_id = _setup(db)
    instances = [build(Settings(db=db)) for _ in range(4)]
    context = Idempotency(account="key_1", key="refund-once", fingerprint="f")
    bodies: list[str] = []
    start = threading.Barrier(4)

    def refund(index: int) -> None:
        service = instances[index].engine
        start.wait()
        response = service.run(
            refunds.request(SYSTEM, payment_id, 500, None),
            lambda result: result[1],
            context,
        )
        bodies.append(response.body)

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(bodies) == 4
    assert len(set(bodies)) == 1
    fresh = build(Settings(db=db))
    assert fresh.queries.payment(SYSTEM, payment_id).amount_refunded == 500
    for container in [*instances, fresh]:
        container.close()


def test_a_refusal_is_checked_against_the_store_not_a_stale_cache(tmp_path: Path) -> None:
    """Two processes on one file: B's cached payment predates A's capture; B must not refuse
    (and store the refusal under its Idempotency-Key) on that stale copy."""
    db = tmp_path / "ledger.sqlite3"
    a, b = build(Settings(db=db)), build(Settings(db=db))
    manufacturer = register(a.engine, fee_bps=0, refund_fee_policy="keep_fee")
    payment = create_payment(a.engine, f"mfr_{manufacturer.id.hex}", 100, capture_method="manual")
    payment_id = f"pay_{payment.id.hex}"
    with pytest.raises(DomainError):  # loads the authorized payment into B's cache
        b.engine.execute(payments.capture(SYSTEM, payment_id, 101))
    a.engine.execute(payments.capture(SYSTEM, payment_id, None))
    refund = b.engine.run(
        refunds.request(SYSTEM, payment_id, 10, None),
        lambda result: result[1],
        Idempotency(account="k", key="r1", fingerprint="f"),
    )
    assert refund.refusal is None
    assert a.queries.payment(SYSTEM, payment_id).amount_refunded == 10
    a.close()
    b.close()


def test_terms_changed_by_another_process_apply_to_the_next_payment(tmp_path: Path) -> None:
    """B has the manufacturer cached from an earlier payment; A changes its fee; B's next
    payment must use the new fee (read-only aggregates are read from the store)."""
    db = tmp_path / "ledger.sqlite3"
    a, b = build(Settings(db=db)), build(Settings(db=db))
    manufacturer = register(a.engine, fee_bps=250, refund_fee_policy="keep_fee")
    m = f"mfr_{manufacturer.id.hex}"

    def pay() -> int:
        payment = create_payment(b.engine, m, 1000)
        return int(payment.captured_shares[0]["fee"])

    assert pay() == 25
    a.engine.execute(manufacturers.change_terms(SYSTEM, m, {"fee_bps": 1000}))
    assert pay() == 100
    a.close()
    b.close()


class _RendezvousProvider(ScriptedProviderBase):
    """Records authorize calls; both racers meet inside the call before either may finish."""

    def __init__(self, calls: list[str], meet: threading.Barrier) -> None:
        self.calls = calls
        self.meet = meet

    def authorize(self, request: Any) -> ProviderResult:
        self.calls.append(request.idempotency_key)
        self.meet.wait()
        return ProviderResult(status="succeeded", reference="auth")

    def refund(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="re")

    def pay_out(self, request: Any) -> ProviderResult:
        return ProviderResult(status="succeeded", reference="po")


def test_one_idempotency_key_raced_from_two_processes_authorizes_with_one_provider_key(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite3"
    a, b = build(Settings(db=db)), build(Settings(db=db))
    manufacturer = register(a.engine, fee_bps=0, refund_fee_policy="keep_fee")
    calls: list[str] = []
    meet = threading.Barrier(2, timeout=10)
    for container in (a, b):
        container.engine.register_provider("racer", _RendezvousProvider(calls, meet))
    fields = payment_fields(f"mfr_{manufacturer.id.hex}", 500, provider="racer")
    context = Idempotency(account="key_1", key="order-9", fingerprint="f")
    bodies: list[str] = []

    def create(container: Any) -> None:
        response = container.engine.run(
            payments.create(SYSTEM, fields),
            lambda payment: f"pay_{payment.id.hex}",
            context,
        )
        bodies.append(response.body)

    threads = [threading.Thread(target=create, args=(c,)) for c in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 2  # both processes reached the provider ...
    assert len(set(calls)) == 1  # ... with the same idempotency key: it charges once
    assert len(bodies) == 2
    assert len(set(bodies)) == 1
    fresh = build(Settings(db=db))
    assert fresh.queries.payment(SYSTEM, bodies[0]).amount_captured == 500
    for container in (a, b, fresh):
        container.close()

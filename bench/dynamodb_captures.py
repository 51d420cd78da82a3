"""Captures a second for one manufacturer under 16 concurrent writers, next to 16 manufacturers
with one writer each, through the engine on DynamoDB Local (issue 10, item 3: a manufacturer's
captures go through its ManufacturerPayable shards' conditional writes)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from tests.support.dynamodb_tables import create_ledger_tables, ledger_settings
from tests.support.seed import create_payment, register

WRITERS = 16


def _rate(engine: Any, owners: list[str], per_writer: int) -> tuple[float, int]:
    """(payments a second, refused attempts) with one thread per owner entry."""
    start = threading.Barrier(len(owners))
    failures = [0]
    lock = threading.Lock()

    def work(owner: str) -> None:
        start.wait()
        for _ in range(per_writer):
            try:
                create_payment(engine, owner, 1000)
            except Exception:
                with lock:
                    failures[0] += 1

    threads = [threading.Thread(target=work, args=(owner,)) for owner in owners]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    done = len(owners) * per_writer - failures[0]
    return done / seconds, failures[0]


def captures(endpoint: str, per_writer: int) -> None:
    from ledger.bootstrap import build

    tables = create_ledger_tables(endpoint, f"c{uuid.uuid4().hex[:10]}")
    container = build(ledger_settings(tables))
    engine = container.engine
    makers = [
        f"mfr_{register(engine, name=f'M{i}', fee_bps=250, refund_fee_policy='refund_fee').id.hex}"
        for i in range(WRITERS)
    ]
    for maker in makers:  # open the payable shards first
        create_payment(engine, maker, 1000)
    one, one_failed = _rate(engine, [makers[0]] * WRITERS, per_writer)
    many, many_failed = _rate(engine, makers, per_writer)
    container.close()
    print(f"\n  Captures a second, {WRITERS} writers, {per_writer} payments each (DynamoDB Local)")
    print(f"    one manufacturer      : {one:6.1f}/s ({one_failed} refused)")
    print(f"    {WRITERS} manufacturers     : {many:6.1f}/s ({many_failed} refused)")
    print(f"    one / {WRITERS}: {one / many:.2f} (1.00: no shared item per manufacturer)")

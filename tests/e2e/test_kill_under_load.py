"""A real `ledger serve` killed with SIGKILL while 16 clients create payments as fast as it
answers, so that groups of commands are being committed together when it dies. Every payment it
acknowledged is there after a restart, nothing it did not acknowledge is half there (a payment
is either fully recorded, authorized and captured with its postings, or absent), and a retry of
any request, answered or not, never makes a second payment."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests.e2e.test_serve import create_key, start, stop

pytestmark = pytest.mark.e2e
CLIENTS = 16


def _body(manufacturer: str) -> dict[str, object]:
    return {
        "amount": 1000,
        "currency": "USD",
        "customer_id": "c",
        "payment_method": "pm",
        "capture_method": "automatic",
        "splits": [{"manufacturer_id": manufacturer, "amount": 1000}],
    }


def _topic_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT substr(topic, instr(topic, ':') + 1), count(*) FROM stored_events"
            " WHERE topic LIKE '%:Payment.%' GROUP BY 1"
        ).fetchall()
    connection.close()
    return dict(rows)


def test_a_kill_during_group_committed_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    key = create_key(db, "admin")
    auth = {"Authorization": f"Bearer {key}"}
    server = start(db, tmp_path / "one.log")
    acknowledged: dict[str, str] = {}  # Idempotency-Key -> payment id
    sent: set[str] = set()
    lock = threading.Lock()
    stopping = threading.Event()
    with httpx2.Client(base_url=server.url, headers=auth, timeout=10) as http:
        manufacturer = http.post("/v1/manufacturers", json={"name": "A", "fee_bps": 250}).json()
    body = _body(manufacturer["id"])

    def client(number: int) -> None:
        with httpx2.Client(base_url=server.url, headers=auth, timeout=10) as http:
            for attempt in range(100_000):
                if stopping.is_set():
                    return
                idempotency_key = f"c{number}-{attempt}"
                with lock:
                    sent.add(idempotency_key)
                try:
                    answer = http.post(
                        "/v1/payments", json=body, headers={"Idempotency-Key": idempotency_key}
                    )
                except httpx2.TransportError:
                    return  # the server died under this request: not acknowledged
                assert answer.status_code == 201, answer.text
                with lock:
                    acknowledged[idempotency_key] = answer.json()["id"]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(server.process.pid, signal.SIGKILL)  # mid-load, no graceful shutdown
        server.process.wait(10)
        server.handle.close()
        stopping.set()
        for thread in threads:
            thread.join(30)
    assert len(acknowledged) >= 300
    unanswered = sent - set(acknowledged)
    assert unanswered, "the kill should land while requests are in flight"

    # Nothing half there: every payment recorded is recorded whole (one command, one commit).
    counts = _topic_counts(db)
    assert counts["Payment.Initiated"] == counts["Payment.Captured"]
    assert len(acknowledged) <= counts["Payment.Initiated"] <= len(sent)

    again = start(db, tmp_path / "two.log")
    try:
        with httpx2.Client(base_url=again.url, headers=auth, timeout=10) as http:
            for payment_id in acknowledged.values():
                found = http.get(f"/v1/payments/{payment_id}")
                assert found.status_code == 200
                assert found.json()["status"] == "captured"
            # Retrying every request: an acknowledged one replays its payment; one that was
            # in flight either replays (it was committed) or is made now, once.
            replays = {
                idempotency_key: http.post(
                    "/v1/payments", json=body, headers={"Idempotency-Key": idempotency_key}
                )
                for idempotency_key in sorted(sent)
            }
            for idempotency_key, payment_id in acknowledged.items():
                assert replays[idempotency_key].json()["id"] == payment_id
                assert replays[idempotency_key].headers.get("Idempotent-Replayed") == "true"
            made = {answer.json()["id"] for answer in replays.values()}
            assert len(made) == len(sent)  # one payment per key, none doubled
            assert _topic_counts(db)["Payment.Initiated"] == len(sent)
            trial = http.get("/v1/ledger/trial-balance").json()
            assert trial["currencies"]
            assert all(c["balanced"] for c in trial["currencies"])
            usd = next(c for c in trial["currencies"] if c["currency"] == "USD")
            assert usd["total_debits"] == usd["total_credits"] > 0
    finally:
        stop(again)

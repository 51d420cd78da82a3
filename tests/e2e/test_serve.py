"""End to end: a real `ledger serve` process on a free loopback port, driven over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx2
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    db: Path
    process: subprocess.Popen[str]
    log: Path
    handle: IO[str]


def start(db: Path, log: Path, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    handle = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ledger.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(db),
            "--create",  # a new ledger there on first start (a mistyped --db is refused)
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "LEDGER_PROJECTION_POLL_SECONDS": "0.2", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            handle.close()
            raise RuntimeError(f"ledger serve exited: {log.read_text()}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, db, process, log, handle)
        except httpx2.TransportError:
            time.sleep(0.1)
    process.kill()
    process.wait(10)
    handle.close()
    raise RuntimeError("ledger serve did not start")


def stop(server: Server) -> None:
    os.kill(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
    server.handle.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start(tmp_path / "ledger.sqlite3", tmp_path / "serve.log")
    try:
        yield running
    finally:
        stop(running)


def create_key(db: Path, *scopes: str) -> str:
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    result = subprocess.run(
        # --create: some tests issue the key before the first start creates the ledger
        [sys.executable, "-m", "ledger.cli", "keys", "create", *args, "--db", str(db), "--create"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_a_session_over_http(server: Server) -> None:
    first_start = server.log.read_text()
    assert "ledger keys create --scope admin" in first_start
    key = create_key(server.db, "admin")  # written by another process while serving
    auth = {"Authorization": f"Bearer {key}"}
    with httpx2.Client(base_url=server.url, headers=auth, timeout=10) as http:
        m = http.post(
            "/v1/manufacturers",
            json={"name": "Acme", "fee_bps": 250, "refund_fee_policy": "refund_fee"},
        ).json()["id"]
        body = {
            "amount": 10_000,
            "currency": "USD",
            "customer_id": "cus_1",
            "payment_method": "pm_tok",
            "splits": [{"manufacturer_id": m, "amount": 10_000}],
        }
        created = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "o-1"})
        assert created.status_code == 201
        payment = created.json()
        replay = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "o-1"})
        assert replay.json() == payment
        refund = http.post(
            f"/v1/payments/{payment['id']}/refunds",
            json={"amount": 2500},
            headers={"Idempotency-Key": "r-1"},
        ).json()
        assert refund["status"] == "pending"
        # The server's own workflows execute it in the background.
        refund = wait_for(
            lambda: http.get(f"/v1/refunds/{refund['id']}").json(),
            lambda r: r["status"] != "pending",
        )
        assert refund["status"] == "succeeded"
        assert http.get(f"/v1/refunds/{refund['id']}").json()["amount"] == 2500
        balance = http.get(
            f"/v1/accounts/manufacturer:{m}:payable/balance", params={"currency": "USD"}
        ).json()
        assert balance["balance"] == -(9750 - 2438)
        trial = http.get("/v1/ledger/trial-balance").json()
        assert trial["currencies"][0]["balanced"] is True
        float_amount = http.post(
            "/v1/payments", json={**body, "amount": 100.0}, headers={"Idempotency-Key": "o-2"}
        )
        assert float_amount.status_code == 422
        assert http.get("/openapi.json").status_code == 200
        # /healthz does not catch up itself: after a write, the background follower alone
        # brings the lag back to zero.
        later = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "o-3"})
        assert later.status_code == 201
        deadline = time.monotonic() + 10
        lag = http.get("/healthz").json()["projections"]["lag_events"]
        while lag and time.monotonic() < deadline:
            time.sleep(0.05)
            lag = http.get("/healthz").json()["projections"]["lag_events"]
        assert lag == 0
    log = server.log.read_text()
    assert key not in log


def test_acknowledged_writes_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite3"
    key = create_key(db, "admin")
    auth = {"Authorization": f"Bearer {key}"}
    server = start(db, tmp_path / "one.log")
    try:
        with httpx2.Client(base_url=server.url, headers=auth, timeout=10) as http:
            m = http.post("/v1/manufacturers", json={"name": "A", "fee_bps": 0}).json()["id"]
            body = {
                "amount": 500,
                "currency": "JPY",
                "customer_id": "c",
                "payment_method": "pm",
                "splits": [{"manufacturer_id": m, "amount": 500}],
            }
            payment = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "k"}).json()
    finally:
        os.kill(server.process.pid, signal.SIGKILL)  # no graceful shutdown
        server.process.wait(10)
        server.handle.close()
    again = start(db, tmp_path / "two.log")
    try:
        with httpx2.Client(base_url=again.url, headers=auth, timeout=10) as http:
            assert http.get(f"/v1/payments/{payment['id']}").json() == payment
            listed = http.get("/v1/payments").json()
            assert [p["id"] for p in listed["data"]] == [payment["id"]]
            replay = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "k"})
            assert replay.json() == payment
    finally:
        stop(again)

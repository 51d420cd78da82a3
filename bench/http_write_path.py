"""HTTP write-path benchmark: payments created and captured per second over real HTTP.

Starts a real `ledger serve` process and, as a baseline, a bare FastAPI app (bench/bare_app.py)
served by uvicorn with the same settings, both on free loopback ports. For each it warms up, then
runs a closed loop of N concurrent keep-alive clients for a fixed duration; for the ledger it then
runs an open loop (fixed arrival rate) at half of the measured peak. Reports throughput and
p50/p90/p99 latency, the ledger/bare throughput ratio and whether the issue's targets are met
(ratio >= 40 %, p99 < 50 ms at half of peak). Targets are reported, not asserted: the exit status
is non-zero only when requests fail.

    python -m bench.http_write_path [--seconds S] [--clients N] [--warmup W]

BENCH_SECONDS sets the default duration of each measured run (10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import httpx2

LOOPBACK = "127.0.0.1"  # the only address this benchmark ever binds or connects to
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIENTS = 16
DEFAULT_WARMUP = 200
DEFAULT_SECONDS = 10.0
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0
PAYMENT_AMOUNT = 10_000  # minor units: integers only, never floats


# ----- what to send ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One endpoint under test: where to POST what, and which status counts as success."""

    name: str
    base_url: str
    path: str
    body: bytes
    headers: dict[str, str]
    expected_status: int

    def request_headers(self) -> dict[str, str]:
        # A unique Idempotency-Key per request: every request is a new payment, never a replay.
        return {**self.headers, "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}


def payment_body(manufacturer_id: str) -> bytes:
    body = {
        "amount": PAYMENT_AMOUNT,
        "currency": "USD",
        "customer_id": "cus_bench",
        "payment_method": "pm_tok_bench",
        "capture_method": "automatic",
        "splits": [{"manufacturer_id": manufacturer_id, "amount": PAYMENT_AMOUNT}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


# ----- measurements ------------------------------------------------------------------------------
@dataclass
class Sample:
    """Per-request latencies (seconds) of one run, its wall time and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.error_count

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def merge(self, other: Sample) -> None:
        self.latencies.extend(other.latencies)
        self.errors.update(other.errors)


def percentiles_ms(latencies: Sequence[float]) -> tuple[float, float, float]:
    """p50, p90 and p99 in milliseconds, from the sorted per-request latencies."""
    if len(latencies) < 2:
        only = latencies[0] * 1000 if latencies else float("nan")
        return only, only, only
    cuts = statistics.quantiles(sorted(latencies), n=100, method="inclusive")
    return cuts[49] * 1000, cuts[89] * 1000, cuts[98] * 1000


def record(sample: Sample, target: Target, status: int | None, text: str, latency: float) -> None:
    if status == target.expected_status:
        sample.latencies.append(latency)
    elif status is None:
        sample.errors[text] += 1
    else:
        sample.errors[f"HTTP {status}: {text[:300]}"] += 1


# ----- schedules: when each request is due -------------------------------------------------------
class Schedule(Protocol):
    def next_slot(self) -> float | None:
        """The perf_counter() time the next request is due, or None when the run is over."""


class ClosedLoop:
    """Each client sends its next request as soon as its previous one was answered, until the
    duration is over or `limit` requests were sent."""

    def __init__(self, seconds: float | None = None, limit: int | None = None) -> None:
        self._deadline = time.perf_counter() + seconds if seconds is not None else None
        self._remaining = limit

    def next_slot(self) -> float | None:
        now = time.perf_counter()
        if self._deadline is not None and now >= self._deadline:
            return None
        if self._remaining is not None:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
        return now


class OpenLoop:
    """Requests are due at a fixed rate whatever the answers. A request that starts late (all
    clients busy) is still timed from when it was due, so queueing shows in its latency."""

    def __init__(self, rate: float, seconds: float) -> None:
        self._start = time.perf_counter()
        self._interval = 1.0 / rate
        self._end = self._start + seconds
        self._issued = 0

    def next_slot(self) -> float | None:
        slot = self._start + self._issued * self._interval
        if slot >= self._end:
            return None
        self._issued += 1
        return slot


# ----- load generator ----------------------------------------------------------------------------
class LoadGenerator:
    """Closed- or open-loop load from asyncio tasks sharing one keep-alive httpx2.AsyncClient
    (one pooled connection per task). On the 2-core machine it was written on, this out-ran one
    thread per client, each with its own httpx2.Client, against the bare endpoint (about 1,240
    vs 1,120-1,200 req/s, with a tighter p99), so both targets get this generator."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self._loop = asyncio.new_event_loop()
        self._pools: dict[str, httpx2.AsyncClient] = {}

    def _pool(self, base_url: str) -> httpx2.AsyncClient:
        if base_url not in self._pools:
            limits = httpx2.Limits(
                max_connections=self.clients, max_keepalive_connections=self.clients
            )
            self._pools[base_url] = httpx2.AsyncClient(
                base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits
            )
        return self._pools[base_url]

    def run(self, target: Target, schedule: Callable[[], Schedule]) -> Sample:
        """Run the clients against `target` until the schedule (made when they start) ends."""
        return self._loop.run_until_complete(self._run(target, schedule))

    async def _run(self, target: Target, schedule: Callable[[], Schedule]) -> Sample:
        client = self._pool(target.base_url)
        parts = [Sample() for _ in range(self.clients)]
        slots = schedule()
        started = time.perf_counter()
        await asyncio.gather(*(self._worker(client, target, slots, part) for part in parts))
        total = Sample(elapsed=time.perf_counter() - started)
        for part in parts:
            total.merge(part)
        return total

    @staticmethod
    async def _worker(
        client: httpx2.AsyncClient, target: Target, slots: Schedule, sample: Sample
    ) -> None:
        while (slot := slots.next_slot()) is not None:
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                response = await client.post(
                    target.path, content=target.body, headers=target.request_headers()
                )
                status, text = response.status_code, response.text
            except httpx2.HTTPError as error:
                status, text = None, f"{type(error).__name__}: {error}"
            record(sample, target, status, text, time.perf_counter() - slot)

    def close(self) -> None:
        async def close_all() -> None:
            for client in self._pools.values():
                await client.aclose()

        self._loop.run_until_complete(close_all())
        self._pools.clear()
        self._loop.close()


# ----- servers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def ledger_command() -> list[str]:
    script = Path(sys.executable).parent / "ledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ledger.cli"]


def server_env() -> dict[str, str]:
    """The caller's environment minus any LEDGER_* setting (persistence, db, ...), with the log
    level at warning: uvicorn then runs as for the baseline and no access line is logged."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_LOG_LEVEL"] = "warning"
    return env


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx2.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{tail(log)}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop our server by its pid: terminate, then kill if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serving(command: list[str], port: int, log: Path) -> Iterator[Server]:
    """Run a server subprocess on a loopback port until the block ends, whatever happens."""
    base_url = f"http://{LOOPBACK}:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(  # our own interpreter and scripts, no shell
            command, cwd=PROJECT_ROOT, env=server_env(), stdout=output, stderr=output
        )
        try:
            wait_healthy(process, base_url, log)
            yield Server(base_url, process.pid)
        finally:
            stop(process)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_busy_seconds() -> float | None:
    """CPU time all cores spent busy (user, nice, system, irq, softirq, steal), from /proc."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def create_admin_key(db: Path) -> str:
    done = subprocess.run(
        [*ledger_command(), "keys", "create", "--scope", "admin", "--db", str(db)],
        cwd=PROJECT_ROOT,
        env=server_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def create_manufacturer(base_url: str, key: str) -> str:
    with httpx2.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as client:
        response = client.post(
            "/v1/manufacturers",
            json={"name": "Bench Manufacturer", "fee_bps": 250, "refund_fee_policy": "refund_fee"},
            headers={"Authorization": f"Bearer {key}"},
        )
    if response.status_code != 201:
        raise RuntimeError(f"creating the manufacturer failed: HTTP {response.status_code}")
    manufacturer_id: str = response.json()["id"]
    return manufacturer_id


# ----- runs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    seconds: float
    clients: int
    warmup: int


@dataclass(frozen=True)
class Row:
    """One run of one target: its sample and how busy the generator, the server and everything
    else on the machine were (in cores; None where /proc is not available)."""

    target: str
    mode: str
    sample: Sample
    client_cpu: float
    server_cpu: float | None
    other_cpu: float | None


def measure(
    generator: LoadGenerator,
    server: Server,
    target: Target,
    mode: str,
    schedule: Callable[[], Schedule],
) -> Row:
    before = time.process_time(), process_cpu_seconds(server.pid), system_busy_seconds()
    sample = generator.run(target, schedule)
    after = time.process_time(), process_cpu_seconds(server.pid), system_busy_seconds()
    elapsed = max(sample.elapsed, 1e-9)
    client_cpu = (after[0] - before[0]) / elapsed
    server_cpu = cores(before[1], after[1], elapsed)
    busy = cores(before[2], after[2], elapsed)
    other_cpu = None
    if busy is not None and server_cpu is not None:
        other_cpu = max(busy - client_cpu - server_cpu, 0.0)
    return Row(target.name, mode, sample, client_cpu, server_cpu, other_cpu)


def cores(before: float | None, after: float | None, elapsed: float) -> float | None:
    """CPU seconds used per wall second, i.e. how many cores were kept busy."""
    if before is None or after is None:
        return None
    return (after - before) / elapsed


def warm_then_peak(
    generator: LoadGenerator, server: Server, target: Target, options: Options
) -> list[Row]:
    """Warm-up requests, then the closed loop at full concurrency for the duration."""
    return [
        measure(generator, server, target, "warm-up", lambda: ClosedLoop(limit=options.warmup)),
        measure(generator, server, target, "closed", lambda: ClosedLoop(seconds=options.seconds)),
    ]


def bench_bare(generator: LoadGenerator, options: Options, workdir: Path) -> list[Row]:
    port = free_port()
    command = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    with serving(command, port, workdir / "bare.log") as server:
        target = Target(
            name="bare FastAPI POST /echo",
            base_url=server.base_url,
            path="/echo",
            body=payment_body("mfr_bench"),
            headers={"Content-Type": "application/json"},
            expected_status=200,
        )
        return warm_then_peak(generator, server, target, options)


def bench_ledger(generator: LoadGenerator, options: Options, workdir: Path) -> list[Row]:
    db = workdir / "ledger.sqlite3"
    key = create_admin_key(db)  # before the server starts, as an operator would
    port = free_port()
    command = [*ledger_command(), "serve", "--host", LOOPBACK, "--port", str(port), "--db", str(db)]
    with serving(command, port, workdir / "ledger.log") as server:
        manufacturer_id = create_manufacturer(server.base_url, key)
        target = Target(
            name="ledger POST /v1/payments",
            base_url=server.base_url,
            path="/v1/payments",
            body=payment_body(manufacturer_id),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            expected_status=201,
        )
        rows = warm_then_peak(generator, server, target, options)
        rate = rows[-1].sample.throughput / 2
        if rate > 0:
            half = partial(OpenLoop, rate=rate, seconds=options.seconds)
            rows.append(measure(generator, server, target, f"open @{rate:.0f}/s", half))
        return rows


# ----- report ------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_machine(options: Options) -> None:
    print("HTTP write-path benchmark (loopback only, 127.0.0.1)")
    print(f"  machine   : {os.cpu_count()} CPUs, {cpu_model()}, {platform.platform()}")
    print(f"  python    : {platform.python_implementation()} {platform.python_version()}")
    print(
        f"  load      : asyncio + one httpx2.AsyncClient, {options.clients} keep-alive clients, "
        f"warm-up {options.warmup} requests, {options.seconds:g} s per measured run"
    )
    print("  servers   : uvicorn, one process, access log off, log level warning")
    print()


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_table(rows: Sequence[Row]) -> None:
    header = (
        f"{'target':<25} {'mode':<11} {'requests':>8} {'errors':>6} {'req/s':>7} "
        f"{'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'gen cpu':>7} {'srv cpu':>7} {'other':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        sample = row.sample
        p50, p90, p99 = percentiles_ms(sample.latencies)
        print(
            f"{row.target:<25} {row.mode:<11} {sample.requests:>8} {sample.error_count:>6} "
            f"{sample.throughput:>7.1f} {p50:>7.2f} {p90:>7.2f} {p99:>7.2f} "
            f"{percent(row.client_cpu):>7} {percent(row.server_cpu):>7} {percent(row.other_cpu):>6}"
        )
    print(
        "(cpu in % of one core during the run: load generator, server, and other processes; "
        f"{os.cpu_count()} cores in all)"
    )
    print()


def print_targets(bare: Sample, ledger: Sample, half: Sample | None) -> None:
    ratio = ledger.throughput / bare.throughput if bare.throughput > 0 else 0.0
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(
        f"ledger / bare throughput : {ledger.throughput:.1f} / {bare.throughput:.1f} req/s "
        f"= {ratio:.1%}   target >= {TARGET_RATIO:.0%}: {verdict}"
    )
    if half is None:
        print("ledger p99 at half peak  : not measured (no successful requests at peak)")
        return
    p50, _, p99 = percentiles_ms(half.latencies)
    verdict = "met" if p99 < TARGET_P99_MS else "MISSED"
    print(
        f"ledger p99 at half peak  : {p99:.2f} ms (p50 {p50:.2f} ms, {half.throughput:.1f} "
        f"req/s)   target < {TARGET_P99_MS:.0f} ms: {verdict}"
    )


def print_errors(rows: Sequence[Row]) -> int:
    failed = sum(row.sample.error_count for row in rows)
    if failed:
        print(f"\n{failed} request(s) failed (warm-up included):")
        for row in rows:
            for message, count in row.sample.errors.most_common(10):
                print(f"  [{row.target}, {row.mode}] {count} x {message}")
    return failed


def find(rows: Sequence[Row], target_prefix: str, mode_prefix: str) -> Sample | None:
    for row in rows:
        if row.target.startswith(target_prefix) and row.mode.startswith(mode_prefix):
            return row.sample
    return None


# ----- entry point -------------------------------------------------------------------------------
def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_write_path",
        description="Payments created+captured per second over loopback HTTP vs bare FastAPI.",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("BENCH_SECONDS", DEFAULT_SECONDS)),
        help="duration of each measured run (env BENCH_SECONDS, default %(default)s)",
    )
    parser.add_argument(
        "--clients", type=int, default=DEFAULT_CLIENTS, help="concurrent clients (%(default)s)"
    )
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP, help="warm-up requests (%(default)s)"
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.warmup < 0:
        parser.error("--seconds and --clients must be positive and --warmup not negative")
    return Options(seconds=args.seconds, clients=args.clients, warmup=args.warmup)


def run(options: Options) -> list[Row]:
    generator = LoadGenerator(options.clients)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
            workdir = Path(tmp)
            return bench_bare(generator, options, workdir) + bench_ledger(
                generator, options, workdir
            )
    finally:
        generator.close()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    print_machine(options)
    rows = run(options)
    print_table([row for row in rows if row.mode != "warm-up"])
    bare, ledger = find(rows, "bare", "closed"), find(rows, "ledger", "closed")
    if bare is None or ledger is None:
        raise RuntimeError("a closed-loop run is missing")
    print_targets(bare, ledger, find(rows, "ledger", "open"))
    return 1 if print_errors(rows) else 0


if __name__ == "__main__":
    sys.exit(main())

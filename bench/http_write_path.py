"""HTTP write-path benchmark: payments created and captured per second over real HTTP, driven by
wrk (a C load generator), next to a bare FastAPI endpoint measured the same way in the same run.

Both servers run as real processes on free loopback ports with the same uvicorn settings (one
process, access log off, log level warning, the same number of request threads), each started
afresh for each measured run (the ledger on a fresh SQLite database) and stopped by its pid:

- the bare app (bench/bare_app.py): POST /echo parses a payment-shaped body with pydantic;
- `ledger serve`: POST /v1/payments creates, authorizes and captures a one-split payment, durable
  in SQLite before the 201.

wrk sends the same body and headers to both, with a unique Idempotency-Key per request
(bench/wrk_post.lua). Each round measures both at peak (closed loop, fixed connections), bare and
ledger in alternating order; the first round(s) also measure the ledger with its embedded
workflow runner off (LEDGER_WORKFLOWS=false). Then the ledger is driven at half its median peak
rate on a fixed schedule (open loop) for latency. For every run: requests/s, wrk's p50/p99,
errors (any non-2xx, socket error or timeout), and the server's CPU time per request
(utime+stime of the server process, all its threads, from /proc). After each ledger server
stops, its event store is checked: one Payment.Initiated and one Payment.Captured event for every
2xx wrk saw (and none beyond the requests wrk sent).

Targets (issue #14) are reported, not asserted: ledger/bare throughput >= 40 %, ledger p99 at
half of its peak < 20 ms. The exit status is non-zero when a request failed or the payment count
does not match.

    python -m bench.http_write_path [--rounds N] [--seconds S] [--connections C] ...

BENCH_SECONDS and BENCH_ROUNDS set the defaults of --seconds (10) and --rounds (3). wrk is
installed with apt-get (Debian's package) when it is missing and that is possible.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx2

LOOPBACK = "127.0.0.1"  # the only address this benchmark ever binds or connects to
PROJECT_ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_post.lua"
DEFAULT_ROUNDS = 3
DEFAULT_SECONDS = 10
DEFAULT_WARMUP_SECONDS = 2
DEFAULT_CONNECTIONS = 16
DEFAULT_THREADS = 1  # one wrk thread out-runs these servers; the other core is theirs
DEFAULT_PACED_CONNECTIONS = 8
DEFAULT_WORKFLOW_ROUNDS = 1
WORKER_THREADS = 8  # request threads of both servers (the ledger's default)
WRK_TIMEOUT = "10s"  # an answer later than this counts as a timeout error
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
TARGET_RATIO = 0.40
TARGET_P99_MS = 20.0
PAYMENT_AMOUNT = 10_000  # minor units: integers only, never floats
BARE_MANUFACTURER_ID = "mfr_" + "0" * 32  # as long as a real one: the same body size for both
INSTALL_HINT = (
    "install wrk and run the bench again: `sudo apt-get install -y wrk` on Debian/Ubuntu, "
    "or build it from https://github.com/wg/wrk"
)


class BenchError(Exception):
    """The benchmark cannot run (a tool is missing, a server did not start)."""


# ----- wrk ---------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package first (apt-get update, then install) when it is
    missing and this user can (root, or password-less sudo)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        raise BenchError(f"wrk is not on PATH and there is no apt-get here: {INSTALL_HINT}")
    if os.geteuid() == 0:
        prefix: list[str] = []
    elif passwordless_sudo():
        prefix = ["sudo", "-n"]
    else:
        raise BenchError(f"wrk is not on PATH and apt-get needs root here: {INSTALL_HINT}")
    print("wrk is not on PATH: installing Debian's package (apt-get update; apt-get install wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([*prefix, apt_get, "update"], [*prefix, apt_get, "install", "-y", "wrk"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
            raise BenchError(
                f"`{' '.join(command)}` failed with status {done.returncode}:\n{output}\n"
                f"{INSTALL_HINT}"
            )
    found = shutil.which("wrk")
    if not found:
        raise BenchError(f"apt-get installed wrk but it is not on PATH: {INSTALL_HINT}")
    return found


def passwordless_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].split(" Copyright")[0] if lines else "wrk (version unknown)"


@dataclass(frozen=True)
class WrkResult:
    """What wrk_post.lua's done() printed (latencies in microseconds)."""

    duration_us: float
    requests: int  # answers received
    sent: int  # requests written (the difference was in flight when wrk stopped)
    status_2xx: int
    status_3xx: int
    status_4xx: int
    status_5xx: int
    status_other: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    first_error: str
    latency_p50_us: float | None
    latency_p90_us: float | None
    latency_p99_us: float | None
    latency_max_us: float | None
    late: int
    paced_count: int
    paced_p50_us: float | None
    paced_p90_us: float | None
    paced_p99_us: float | None
    paced_max_us: float | None

    @classmethod
    def parse(cls, output: str) -> WrkResult:
        for line in output.splitlines():
            if line.startswith("BENCH_RESULT "):
                data: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
                ints = {"requests", "sent", "late", "paced_count"}
                ints |= {k for k in data if k.startswith("status_") or k.endswith("errors")}
                ints.add("timeouts")
                values: dict[str, Any] = {
                    name: (int(data[name]) if name in ints else data[name])
                    for name in cls.__dataclass_fields__
                }
                return cls(**values)
        raise BenchError(f"wrk printed no result line:\n{output[-2000:]}")

    @property
    def seconds(self) -> float:
        return self.duration_us / 1e6

    @property
    def errors(self) -> int:
        """Non-2xx answers, socket errors and timeouts."""
        non_2xx = self.status_3xx + self.status_4xx + self.status_5xx + self.status_other
        return non_2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    @property
    def throughput(self) -> float:
        """2xx answers per second."""
        return self.status_2xx / self.seconds if self.seconds > 0 else 0.0

    def error_summary(self) -> str:
        parts = [
            f"{count} {name}"
            for name, count in (
                ("3xx", self.status_3xx),
                ("4xx", self.status_4xx),
                ("5xx", self.status_5xx),
                ("other status", self.status_other),
                ("connect errors", self.connect_errors),
                ("read errors", self.read_errors),
                ("write errors", self.write_errors),
                ("timeouts", self.timeouts),
            )
            if count
        ]
        detail = f"; first: {self.first_error}" if self.first_error else ""
        return ", ".join(parts) + detail


@dataclass(frozen=True)
class Load:
    """One wrk invocation: closed loop (rate 0) or paced at `rate` requests/s."""

    seconds: int
    connections: int
    threads: int
    rate: float = 0.0


def run_wrk(wrk: str, load: Load, base_url: str, target: Target, workdir: Path) -> WrkResult:
    nonce = uuid.uuid4().hex[:12]
    command = [
        wrk,
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{load.seconds}s",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(WRK_SCRIPT),
        base_url,
        "--",
        target.path,
        str(target.body_file),
        f"bench-{nonce}",
        f"{load.rate:.3f}",
        str(load.threads),
        *(f"{name}: {value}" for name, value in target.headers.items()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=workdir)
    if done.returncode != 0:
        raise BenchError(f"wrk failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    return WrkResult.parse(done.stdout)


# ----- servers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Where to POST what: the same body shape and headers for both servers."""

    path: str
    body_file: Path
    headers: dict[str, str]


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def ledger_command() -> list[str]:
    script = Path(sys.executable).parent / "ledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ledger.cli"]


def server_env(workflows: bool = True) -> dict[str, str]:
    """The caller's environment minus any LEDGER_* setting (persistence, db, ...), with the log
    level at warning (uvicorn then runs as for the baseline and no access line is logged) and
    the request threads and embedded workflows set explicitly."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env["LEDGER_LOG_LEVEL"] = "warning"
    env["LEDGER_WORKER_THREADS"] = str(WORKER_THREADS)
    env["LEDGER_WORKFLOWS"] = "true" if workflows else "false"
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
                raise BenchError(f"server exited with {process.returncode}:\n{tail(log)}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
    raise BenchError(f"server did not answer /healthz within {STARTUP_TIMEOUT:.0f} s")


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
def serving(
    command: list[str], port: int, log: Path, env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """Run a server subprocess on a loopback port until the block ends, whatever happens;
    yields its base URL and pid."""
    base_url = f"http://{LOOPBACK}:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(  # our own interpreter and scripts, no shell
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=output
        )
        try:
            wait_healthy(process, base_url, log)
            yield base_url, process.pid
        finally:
            stop(process)


def create_admin_key(db: Path) -> str:
    done = subprocess.run(
        [*ledger_command(), "keys", "create", "--scope", "admin", "--db", str(db), "--create"],
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
        raise BenchError(f"creating the manufacturer failed: HTTP {response.status_code}")
    manufacturer_id: str = response.json()["id"]
    return manufacturer_id


def count_payment_events(db: Path) -> tuple[int, int]:
    """Payment.Initiated and Payment.Captured events in the ledger's SQLite event store."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        counts = dict(
            connection.execute(
                "SELECT substr(topic, instr(topic, ':') + 1), count(*) FROM stored_events "
                "WHERE topic LIKE '%:Payment.Initiated' OR topic LIKE '%:Payment.Captured' "
                "GROUP BY 1"
            ).fetchall()
        )
    connection.close()
    return counts.get("Payment.Initiated", 0), counts.get("Payment.Captured", 0)


# ----- CPU accounting ----------------------------------------------------------------------------
def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, all its threads (live and exited) included, from
    /proc/<pid>/stat; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def system_cpu_seconds() -> tuple[float, float] | None:
    """CPU time all cores spent busy (user, nice, system, irq, softirq) and stolen by the
    hypervisor (steal: the VM wanted to run and did not), from /proc/stat; None elsewhere."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ----- runs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    rounds: int
    seconds: int
    warmup_seconds: int
    connections: int
    threads: int
    paced_connections: int
    paced_seconds: int
    workflow_rounds: int


@dataclass(frozen=True)
class Run:
    """One measured wrk run against one server, with the CPU it cost: the server's CPU seconds
    (None without /proc), wrk's, every other process's and the time the hypervisor stole from
    this VM (None without /proc)."""

    round: int
    target: str
    mode: str
    result: WrkResult
    server_cpu: float | None
    wrk_cpu: float
    other_cpu: float | None
    steal: float | None

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu is None or self.result.requests == 0:
            return None
        return self.server_cpu * 1000 / self.result.requests


@dataclass
class PaymentCheck:
    """A ledger server's event store against what wrk saw on it (warm-up included)."""

    label: str
    ok_2xx: int = 0
    sent: int = 0
    answered: int = 0
    initiated: int = 0
    captured: int = 0

    @property
    def ok(self) -> bool:
        return self.initiated == self.captured and self.ok_2xx <= self.initiated <= self.sent


@dataclass
class Bench:
    wrk: str
    options: Options
    workdir: Path
    runs: list[Run] = field(default_factory=list)
    warmups: list[Run] = field(default_factory=list)
    checks: list[PaymentCheck] = field(default_factory=list)

    def measure(
        self, round_: int, target: str, mode: str, load: Load, base_url: str, pid: int, what: Target
    ) -> Run:
        before = process_cpu_seconds(pid), children_cpu_seconds(), system_cpu_seconds()
        result = run_wrk(self.wrk, load, base_url, what, self.workdir)
        after = process_cpu_seconds(pid), children_cpu_seconds(), system_cpu_seconds()
        server_cpu = None if before[0] is None or after[0] is None else after[0] - before[0]
        wrk_cpu = after[1] - before[1]
        other_cpu = steal = None
        if server_cpu is not None and before[2] is not None and after[2] is not None:
            other_cpu = max(after[2][0] - before[2][0] - server_cpu - wrk_cpu, 0.0)
            steal = after[2][1] - before[2][1]
        run = Run(round_, target, mode, result, server_cpu, wrk_cpu, other_cpu, steal)
        (self.warmups if mode == "warm-up" else self.runs).append(run)
        return run

    def peak(self) -> Load:
        return Load(self.options.seconds, self.options.connections, self.options.threads)

    def warm_up(self) -> Load:
        return Load(self.options.warmup_seconds, self.options.connections, self.options.threads)

    def bare(self, round_: int) -> None:
        port = free_port()
        body = self.workdir / "bare-body.json"
        body.write_bytes(payment_body(BARE_MANUFACTURER_ID))
        # The same headers as the ledger gets (the bare app ignores them): the same request size.
        headers = {"Content-Type": "application/json", "Authorization": "Bearer " + "x" * 43}
        what = Target("/echo", body, headers)
        command = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
        command += ["--worker-threads", str(WORKER_THREADS)]
        with serving(command, port, self.workdir / "bare.log", server_env()) as (url, pid):
            if self.options.warmup_seconds:
                self.measure(round_, "bare", "warm-up", self.warm_up(), url, pid, what)
            self.measure(round_, "bare", "peak", self.peak(), url, pid, what)

    def ledger(self, round_: int, *, workflows: bool = True, paced_rate: float = 0.0) -> None:
        label = "ledger" if workflows else "ledger (workflows off)"
        name = f"ledger-{round_}-{'paced' if paced_rate else 'peak'}-wf-{workflows}"
        db = self.workdir / name / "ledger.sqlite3"
        db.parent.mkdir()
        key = create_admin_key(db)  # before the server starts, as an operator would
        port = free_port()
        command = [*ledger_command(), "serve", "--host", LOOPBACK, "--port", str(port)]
        command += ["--db", str(db)]
        check = PaymentCheck(f"{label}, round {round_}" if round_ else f"{label}, half peak")
        log = db.parent / "server.log"
        with serving(command, port, log, server_env(workflows)) as (url, pid):
            manufacturer_id = create_manufacturer(url, key)
            body = db.parent / "body.json"
            body.write_bytes(payment_body(manufacturer_id))
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
            what = Target("/v1/payments", body, headers)
            loads: list[tuple[str, Load]] = []
            if self.options.warmup_seconds:
                loads.append(("warm-up", self.warm_up()))
            if paced_rate:
                paced = self.options.paced_connections
                rate = Load(self.options.paced_seconds, paced, paced, rate=paced_rate)
                loads.append((f"half peak @{paced_rate:.0f}/s", rate))
            else:
                loads.append(("peak", self.peak()))
            for mode, load in loads:
                result = self.measure(round_, label, mode, load, url, pid, what).result
                check.ok_2xx += result.status_2xx
                check.sent += result.sent
                check.answered += result.requests
        # Counted once the server has stopped: requests in flight when wrk stopped are finished.
        check.initiated, check.captured = count_payment_events(db)
        self.checks.append(check)

    def run(self) -> None:
        for round_ in range(1, self.options.rounds + 1):
            steps = [partial(self.bare, round_), partial(self.ledger, round_)]
            if round_ <= self.options.workflow_rounds:
                steps.append(partial(self.ledger, round_, workflows=False))
            if round_ % 2 == 0:
                steps.reverse()  # bare first in odd rounds, last in even ones
            for step in steps:
                step()
            print(f"  round {round_} of {self.options.rounds} done", file=sys.stderr, flush=True)
        peaks = [run.result.throughput for run in self.select("ledger", "peak")]
        half = statistics.median(peaks) / 2 if peaks else 0.0
        if half >= 1:
            self.ledger(0, paced_rate=half)

    def select(self, target: str, mode: str) -> list[Run]:
        return [r for r in self.runs if r.target == target and r.mode.startswith(mode)]


# ----- report ------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def utc_date() -> str:
    try:
        done = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True)
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "-"


def print_machine(options: Options, wrk: str) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("HTTP write-path benchmark (loopback only, 127.0.0.1)")
    print(f"  date      : {utc_date()}")
    print(f"  machine   : {cpu_model()}, {os.cpu_count()} cores ({usable} usable)")
    print(f"  os        : {platform.platform()}, load average {load_average()} at start")
    print(f"  python    : {platform.python_implementation()} {platform.python_version()}")
    print(
        f"  load      : {wrk_version(wrk)}, {options.threads} thread(s), "
        f"{options.connections} keep-alive connections (closed loop) at peak, "
        f"{options.warmup_seconds} s warm-up + {options.seconds} s per run, "
        f"{options.rounds} rounds; at half peak {options.paced_connections} connections "
        f"(one per thread) on a fixed schedule for {options.paced_seconds} s; a unique "
        "Idempotency-Key per request"
    )
    print(
        "  servers   : uvicorn, one process, access log off, log level warning, "
        f"{WORKER_THREADS} request threads; a fresh process per run, the ledger on a fresh "
        "SQLite database"
    )
    print()


def ms(microseconds: float | None) -> str:
    return "-" if microseconds is None else f"{microseconds / 1000:.2f}"


def opt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_runs(runs: Sequence[Run]) -> None:
    header = (
        f"{'rnd':>3} {'target':<23} {'mode':<18} {'2xx':>6} {'errors':>6} {'req/s':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'srv ms/req':>10} {'srv cores':>9} {'wrk cores':>9} "
        f"{'other':>5} {'steal':>5}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        result = run.result
        seconds = max(result.seconds, 1e-9)
        flag = " !" if result.errors else ""
        p50, p99 = result.latency_p50_us, result.latency_p99_us
        if result.paced_count:  # paced: latency from each request's slot
            p50, p99 = result.paced_p50_us, result.paced_p99_us
        server_cores = None if run.server_cpu is None else run.server_cpu / seconds
        other = None if run.other_cpu is None else run.other_cpu / seconds
        steal = None if run.steal is None else run.steal / seconds
        print(
            f"{run.round or '-':>3} {run.target:<23} {run.mode:<18} {result.status_2xx:>6} "
            f"{result.errors:>6} {result.throughput:>7.1f} {ms(p50):>7} {ms(p99):>7} "
            f"{opt(run.cpu_ms_per_request, '.3f'):>10} {opt(server_cores, '.2f'):>9} "
            f"{run.wrk_cpu / seconds:>9.2f} {opt(other, '.2f'):>5} {opt(steal, '.2f'):>5}{flag}"
        )
    print(
        "(p50/p99: wrk's latency distribution; at half peak, from the slot each request was due. "
        "srv ms/req: server CPU time (utime+stime, all threads) per answered request. cores: CPU "
        "seconds per second of the server, of wrk and of every other process on the machine; "
        "steal: CPU time per second the hypervisor gave to other VMs while this one wanted it.)"
    )
    print()


def spread(values: Sequence[float], spec: str, scale: float = 1.0, unit: str = "") -> str:
    if not values:
        return "-"
    mid = format(statistics.median(values) * scale, spec)
    low, high = format(min(values) * scale, spec), format(max(values) * scale, spec)
    return f"{mid}{unit} (range {low}-{high}{unit})"


def median_cpu(runs: Sequence[Run]) -> float | None:
    values = [r.cpu_ms_per_request for r in runs if r.cpu_ms_per_request is not None]
    return statistics.median(values) if values else None


def print_summary(bench: Bench) -> None:
    bares = {run.round: run for run in bench.select("bare", "peak")}
    ledgers = {run.round: run for run in bench.select("ledger", "peak")}
    ratios = [
        ledgers[r].result.throughput / bares[r].result.throughput
        for r in sorted(bares.keys() & ledgers.keys())
        if bares[r].result.throughput > 0
    ]
    print("Summary")
    per_round = ", ".join(f"{ratio:.1%}" for ratio in ratios)
    verdict = "met" if ratios and statistics.median(ratios) >= TARGET_RATIO else "MISSED"
    print(
        f"  ledger/bare throughput : median {spread(ratios, '.1f', 100, ' %')} over "
        f"{len(ratios)} rounds [{per_round}]   target >= {TARGET_RATIO:.0%}: {verdict}"
    )
    bare_rates = [run.result.throughput for run in bares.values()]
    ledger_rates = [run.result.throughput for run in ledgers.values()]
    print(f"  bare req/s             : median {spread(bare_rates, '.0f')}")
    print(f"  ledger req/s           : median {spread(ledger_rates, '.0f')}")
    bare_cpu, ledger_cpu = median_cpu(list(bares.values())), median_cpu(list(ledgers.values()))
    times = f" ({ledger_cpu / bare_cpu:.1f}x)" if bare_cpu and ledger_cpu else ""
    print(
        f"  server CPU ms/request  : median bare {opt(bare_cpu, '.3f')}, "
        f"ledger {opt(ledger_cpu, '.3f')} per payment{times}"
    )
    for off in bench.select("ledger (workflows off)", "peak"):
        on = ledgers.get(off.round)
        if on is None:
            continue
        share = on.result.throughput / off.result.throughput if off.result.throughput else 0.0
        print(
            f"  workflows on vs off    : round {off.round}: {on.result.throughput:.0f} vs "
            f"{off.result.throughput:.0f} req/s (on = {share:.0%} of off), CPU ms/payment "
            f"{opt(on.cpu_ms_per_request, '.3f')} vs {opt(off.cpu_ms_per_request, '.3f')}"
        )
    halves = bench.select("ledger", "half peak")
    if not halves:
        print("  ledger p99 at half peak: not measured (no successful requests at peak)")
    for half in halves:
        result = half.result
        p99 = result.paced_p99_us
        verdict = "met" if p99 is not None and p99 / 1000 < TARGET_P99_MS else "MISSED"
        print(
            f"  ledger p99 at half peak: {ms(p99)} ms at {result.throughput:.1f} req/s "
            f"({half.mode.removeprefix('half peak ')} asked; p50 {ms(result.paced_p50_us)} ms, "
            f"max {ms(result.paced_max_us)} ms; wrk's own p99, from when each request was "
            f"sent: {ms(result.latency_p99_us)} ms; {result.late} of {result.paced_count} sent "
            f"late)   target < {TARGET_P99_MS:.0f} ms: {verdict}"
        )
    print(f"  load average at end    : {load_average()}")


def print_checks(checks: Sequence[PaymentCheck]) -> bool:
    print()
    print("Payments check (each ledger server's event store after it stopped, warm-up included)")
    for check in checks:
        in_flight = check.sent - check.answered
        verdict = "ok" if check.ok else "MISMATCH"
        print(
            f"  {check.label:<34}: {check.ok_2xx} x 2xx, {check.initiated} Payment.Initiated, "
            f"{check.captured} Payment.Captured ({check.sent} sent, {in_flight} in flight when "
            f"wrk stopped): {verdict}"
        )
    return all(check.ok for check in checks)


def print_errors(runs: Sequence[Run]) -> bool:
    failed = [run for run in runs if run.result.errors]
    for run in failed:
        where = f"round {run.round}" if run.round else "half peak"
        print(f"  ! {run.target}, {run.mode} ({where}): {run.result.error_summary()}")
    return not failed


# ----- entry point -------------------------------------------------------------------------------
def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_write_path",
        description="Payments created+captured per second over loopback HTTP vs bare FastAPI, "
        "driven by wrk.",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", DEFAULT_ROUNDS)),
        help="rounds of bare + ledger at peak (env BENCH_ROUNDS, default %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=int(float(os.environ.get("BENCH_SECONDS", DEFAULT_SECONDS))),
        help="duration of each measured run, whole seconds (env BENCH_SECONDS, %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP_SECONDS,
        help="seconds of warm-up load before each run (%(default)s)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULT_CONNECTIONS,
        help="wrk connections at peak (%(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help="wrk threads at peak (%(default)s)"
    )
    parser.add_argument(
        "--paced-connections",
        type=int,
        default=DEFAULT_PACED_CONNECTIONS,
        help="wrk connections (one per thread) at half peak (%(default)s)",
    )
    parser.add_argument(
        "--paced-seconds",
        type=int,
        default=None,
        help="duration of the run at half peak (default: twice --seconds)",
    )
    parser.add_argument(
        "--workflow-rounds",
        type=int,
        default=DEFAULT_WORKFLOW_ROUNDS,
        help="first rounds that also measure the ledger with LEDGER_WORKFLOWS=false (%(default)s)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds < 1 or args.warmup < 0:
        parser.error("--rounds and --seconds must be at least 1, --warmup not negative")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("--threads must be at least 1 and at most --connections")
    if args.paced_connections < 1 or (args.paced_seconds is not None and args.paced_seconds < 1):
        parser.error("--paced-connections and --paced-seconds must be at least 1")
    return Options(
        rounds=args.rounds,
        seconds=args.seconds,
        warmup_seconds=args.warmup,
        connections=args.connections,
        threads=args.threads,
        paced_connections=args.paced_connections,
        paced_seconds=args.paced_seconds or 2 * args.seconds,
        workflow_rounds=max(args.workflow_rounds, 0),
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        wrk = ensure_wrk()
        print_machine(options, wrk)
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
            bench = Bench(wrk, options, Path(tmp))
            bench.run()
    except BenchError as error:
        print(f"http_write_path: {error}", file=sys.stderr)
        return 2
    print_runs(bench.runs)
    print_summary(bench)
    counted = print_checks(bench.checks)
    print()
    clean = print_errors([*bench.warmups, *bench.runs])
    print("Errors: none" if clean else "Errors: the runs marked ! had failed requests (above)")
    return 0 if clean and counted else 1


if __name__ == "__main__":
    sys.exit(main())

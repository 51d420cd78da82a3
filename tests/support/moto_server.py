"""moto's server (a local AWS) on a free loopback port, started as a process and stopped by pid."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Emulated Lambdas run no code here (no Docker engine). moto nevertheless "delivers" every write
# to a DynamoDB table with a stream to the functions mapped onto that stream and, because the
# delivery returns something (the Docker error text), drops the shard's records afterwards: no
# reader would ever see the stream. The launcher switches that delivery off, so the stream keeps
# its records and tests read it with boto3 and feed the handlers themselves, as the Lambda
# service would. Nothing else of moto is changed.
_LAUNCHER = """
import sys
from moto.awslambda.models import LambdaBackend

def _no_delivery(self, function_arn, items, source):
    return ""

LambdaBackend.send_dynamodb_items = _no_delivery

from moto.server import main

main(sys.argv[1:])
"""


def moto_available() -> bool:
    """moto with its server extra (flask), without importing either into the test process."""
    return all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"moto server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Yields the endpoint URL of a fresh moto server; its output goes to `log`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONWARNINGS"] = "ignore"  # the server's own deprecation noise is not the tests' concern
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_until_ready(endpoint, process, log)
        yield endpoint
    finally:
        _stop(process)

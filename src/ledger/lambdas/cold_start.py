"""A Lambda entry point built once per execution environment: during the init phase when it
runs on Lambda (so the first request does not wait for it, and SnapStart snapshots it), else on
its first invocation (tests and tools import the modules without a deployment around them)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


class EntryPoint:
    def __init__(self, build: Callable[[], Handler]) -> None:
        self._build = build
        self._handler: Handler | None = build() if on_lambda() else None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._handler is None:
            self._handler = self._build()
        return self._handler(event, context)

"""Powertools Logger and Metrics, configured once for every Lambda entry point, and X-Ray
subsegments through Powertools' Tracer only where LEDGER_XRAY_SDK=true: the X-Ray SDK adds
several hundred milliseconds to every cold start, and Lambda's active tracing already records
each invocation without it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "ledger")
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Ledger"))
F = TypeVar("F", bound=Callable[..., Any])


def traced(handler: F) -> F:
    """The handler with an X-Ray subsegment (and patched boto3 calls) when the SDK is on."""
    if os.environ.get("LEDGER_XRAY_SDK", "").lower() not in ("1", "true", "yes"):
        return handler
    from aws_lambda_powertools import Tracer

    return cast(F, Tracer(service=SERVICE).capture_lambda_handler(handler))

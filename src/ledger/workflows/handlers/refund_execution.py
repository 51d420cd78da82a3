"""Payment.RefundRequested / Payment.RefundApproved -> execute the refund at the provider."""

from __future__ import annotations

from typing import Any

from ledger.application.processes.execution import execute_refund
from ledger.workflows.runtime import WorkerContext


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    return execute_refund(context.engine, envelope["detail"]["data"]["refund_id"])

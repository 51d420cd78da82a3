"""Payout.Requested / Payout.Approved -> pay an approved payout on the manufacturer's rail."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.application.processes.execution import execute_payout
from ledger.domain import ids
from ledger.workflows.runtime import WorkerContext


def handle(envelope: dict[str, Any], context: WorkerContext) -> object:
    payout_id = ids.encode("payout", UUID(envelope["detail"]["aggregate_id"]))
    return execute_payout(context.engine, payout_id, context.rails)

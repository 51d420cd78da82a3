"""Ledger state for tests that drive the application service directly."""

from __future__ import annotations

from ledger.application.commands import manufacturers
from ledger.application.engine import Engine
from ledger.application.principal import SYSTEM
from ledger.domain.manufacturer import Manufacturer


def register(
    service: Engine,
    *,
    name: str = "A",
    fee_bps: int,
    refund_fee_policy: str,
    payout_approval_threshold: int = 0,
    payout_approvals_required: int = 0,
) -> Manufacturer:
    return service.execute(
        manufacturers.register(
            SYSTEM,
            {
                "name": name,
                "fee_bps": fee_bps,
                "refund_fee_policy": refund_fee_policy,
                "payout_approval_threshold": payout_approval_threshold,
                "payout_approvals_required": payout_approvals_required,
            },
        )
    )

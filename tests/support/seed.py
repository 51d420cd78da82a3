"""Ledger state for tests that drive the application service directly."""

from __future__ import annotations

from ledger.application import service as commands
from ledger.application.principal import SYSTEM
from ledger.application.service import LedgerService
from ledger.domain.manufacturer import Manufacturer


def register(
    service: LedgerService,
    *,
    name: str = "A",
    fee_bps: int,
    refund_fee_policy: str,
    payout_approval_threshold: int = 0,
    payout_approvals_required: int = 0,
) -> Manufacturer:
    return service.execute(
        commands.register_manufacturer(
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

"""Ledger state for tests that drive the application service directly."""

from __future__ import annotations

from typing import Any

from ledger.application.commands import manufacturers, payments
from ledger.application.engine import Engine
from ledger.application.principal import SYSTEM
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment


def register(
    service: Engine,
    *,
    name: str = "A",
    fee_bps: int,
    refund_fee_policy: str,
    payout_approval_threshold: dict[str, int] | None = None,
    payout_approvals_required: int = 0,
) -> Manufacturer:
    return service.execute(
        manufacturers.register(
            SYSTEM,
            {
                "name": name,
                "fee_bps": fee_bps,
                "refund_fee_policy": refund_fee_policy,
                "payout_approval_threshold": payout_approval_threshold or {},
                "payout_approvals_required": payout_approvals_required,
            },
        )
    )


def payment_fields(manufacturer_id: str, amount: int, **overrides: Any) -> dict[str, Any]:
    """What payments.create takes: `amount` USD wholly for one manufacturer, on the sandbox,
    captured at once; overrides replace any field."""
    return {
        "amount": amount,
        "currency": "USD",
        "customer_id": "c",
        "provider": "sandbox",
        "payment_method": "pm",
        "capture_method": "automatic",
        "splits": [{"manufacturer_id": manufacturer_id, "amount": amount}],
        **overrides,
    }


def create_payment(service: Engine, manufacturer_id: str, amount: int, **overrides: Any) -> Payment:
    """payments.create with payment_fields(manufacturer_id, amount, **overrides), as the system."""
    return service.execute(
        payments.create(SYSTEM, payment_fields(manufacturer_id, amount, **overrides))
    )

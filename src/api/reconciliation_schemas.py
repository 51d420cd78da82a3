"""The shapes of reconciliation runs in the API (see ledger.application.reconciliations)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ReconciliationTotalsOut(BaseModel):
    payout: int | None = Field(description="What the provider says it paid (minor units).")
    provider_net: int = Field(description="The provider's lines, net of its fees.")
    matched_net: int = Field(description="The matched lines, net of fees.")
    matched: int
    breaks: int
    balanced: bool = Field(description="No breaks, and matched_net equals the payout.")


class ReconciliationSidesOut(BaseModel):
    provider: dict[str, Any] | None = Field(description="The provider's line (null: missing).")
    ledger: dict[str, Any] | None = Field(description="The ledger's record (null: missing).")


class ReconciliationBreakOut(ReconciliationSidesOut):
    kind: str = Field(
        description="missing_in_ledger, missing_at_provider, amount_mismatch, "
        "currency_mismatch, fee_mismatch or duplicate."
    )


class ReconciliationRunSummaryOut(BaseModel):
    id: str
    provider: str
    source: str
    currency: str
    created_at: str
    totals: ReconciliationTotalsOut
    breaks_count: dict[str, int]
    lines_truncated: bool = Field(description="Lines kept with the run are capped; counts not.")
    breaks: dict[str, list[ReconciliationBreakOut]] = Field(description="By kind.")


class ReconciliationRunOut(ReconciliationRunSummaryOut):
    matched: list[ReconciliationSidesOut]


class ReconciliationRunListOut(BaseModel):
    data: list[ReconciliationRunSummaryOut]


class SettlementOut(BaseModel):
    settlement_id: str = Field(description="The provider's payout id (PayPal: the report's id).")
    outcome: str = Field(description="What was booked, or that it was booked before.")

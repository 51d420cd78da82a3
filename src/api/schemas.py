"""Request and response bodies. Kept apart from domain events: the API may evolve on its own."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

from api.currencies import CURRENCY_SCHEMA
from ledger.domain.errors import UnknownCurrency
from ledger.domain.money import currency as lookup_currency
from ledger.domain.payment import MAX_AMOUNT

Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Minor units, an integer.")]
NOT_BLANK = {"pattern": "\\S"}  # the domain strips and refuses what is left empty
Text = Annotated[StrictStr, Field(min_length=1, max_length=200, json_schema_extra=NOT_BLANK)]
Reason = Annotated[StrictStr, Field(max_length=500)]
MetaValue = Annotated[StrictStr, Field(max_length=500)] | StrictInt | StrictBool | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _currency(code: str) -> str:
    try:
        lookup_currency(code)
    except UnknownCurrency as error:
        raise ValueError(error.message) from None
    return code


def _per_currency(value: dict[str, int] | None) -> dict[str, int] | None:
    for code in value or {}:
        _currency(code)
    return value


CurrencyCode = Annotated[
    StrictStr, Field(min_length=3, max_length=3, json_schema_extra=CURRENCY_SCHEMA)
]
PerCurrency = Annotated[
    dict[StrictStr, Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]],
    Field(
        max_length=200,
        json_schema_extra={"propertyNames": CURRENCY_SCHEMA},
        description='Minor units per ISO 4217 currency, e.g. {"USD": 50000, "JPY": 50000}; '
        "a currency not named has no threshold (approval for every amount) and no minimum.",
    ),
]


# ----- requests --------------------------------------------------------------------------------
class ManufacturerIn(Strict):
    name: Text
    fee_bps: Annotated[StrictInt, Field(ge=0, le=10_000)]
    refund_fee_policy: Literal["refund_fee", "keep_fee"] = "refund_fee"
    payout_approval_threshold: PerCurrency = Field(default_factory=dict)
    payout_approvals_required: Annotated[StrictInt, Field(ge=0, le=10)] = 0

    _check_thresholds = field_validator("payout_approval_threshold")(_per_currency)


class ManufacturerPatch(Strict):
    name: Text | None = None
    fee_bps: Annotated[StrictInt, Field(ge=0, le=10_000)] | None = None
    refund_fee_policy: Literal["refund_fee", "keep_fee"] | None = None
    payout_approval_threshold: PerCurrency | None = None
    payout_approvals_required: Annotated[StrictInt, Field(ge=0, le=10)] | None = None

    _check_thresholds = field_validator("payout_approval_threshold")(_per_currency)


class ManufacturerSettingsPatch(Strict):
    """Workflow settings (each change is recorded as an event; omitted fields stay)."""

    provider: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    payout_rail: Literal["sandbox", "ach"] | None = None
    payout_interval: Literal["manual", "daily", "weekly", "monthly"] | None = None
    payout_minimum: PerCurrency | None = None
    payout_approval_expiry_hours: Annotated[StrictInt, Field(ge=0, le=24 * 90)] | None = None
    refund_approval_threshold: PerCurrency | None = None
    refund_approvals_required: Annotated[StrictInt, Field(ge=0, le=10)] | None = None

    _check_currencies = field_validator("payout_minimum", "refund_approval_threshold")(
        _per_currency
    )


class BankAccountIn(Strict):
    """Sealed by the vault at once: only an encrypted token and a mask are recorded."""

    routing_number: Annotated[StrictStr, Field(pattern=r"^\d{9}$")]
    account_number: Annotated[StrictStr, Field(pattern=r"^\d{4,17}$")]
    account_type: Literal["checking", "savings"] = "checking"


class BankAccountFingerprint(BaseModel):
    """What an Idempotency-Key fingerprint of a bank-account request covers: the account only by
    its keyed hash, so the stored fingerprint cannot be brute-forced back to the number."""

    routing_number: str
    account_fingerprint: str
    account_type: str

    @classmethod
    def of(cls, account: BankAccountIn, fingerprint: str) -> BankAccountFingerprint:
        return cls(
            routing_number=account.routing_number,
            account_fingerprint=fingerprint,
            account_type=account.account_type,
        )


class SplitIn(Strict):
    manufacturer_id: Text
    amount: Amount


class PaymentIn(Strict):
    amount: Amount
    currency: CurrencyCode
    customer_id: Text
    provider: Annotated[
        StrictStr | None,
        Field(
            pattern=r"^[a-z][a-z0-9_]{0,31}$",
            description="Default: the first split's manufacturer's provider routing.",
        ),
    ] = None
    payment_method: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=200,
            description="A provider token, never a PAN.",
            json_schema_extra=NOT_BLANK,
        ),
    ]
    capture_method: Literal["automatic", "manual"] = "automatic"
    splits: Annotated[list[SplitIn], Field(min_length=1, max_length=20)]
    metadata: Annotated[
        dict[Annotated[str, Field(max_length=40)], MetaValue], Field(max_length=50)
    ] = Field(default_factory=dict)

    _check_currency = field_validator("currency")(_currency)


class CaptureIn(Strict):
    amount: Amount | None = None


class RefundIn(Strict):
    amount: Amount
    reason: Reason | None = None


# What periods.moment takes: RFC 3339 (ISO 8601 with a zone), years 1900 to 9000.
MOMENT_SCHEMA = {"format": "date-time", "pattern": "^(19[0-9]{2}|[2-8][0-9]{3}|9000)-"}
PERIOD_SCHEMA = {"pattern": "^(19|[2-8][0-9])[0-9]{2}-(0[1-9]|1[0-2])$"}  # 1900-01 .. 8999-12
Moment = Annotated[
    StrictStr,
    Field(
        max_length=40,
        description="ISO 8601 date-time with a zone, not in the future",
        json_schema_extra=MOMENT_SCHEMA,
    ),
]


class DisputeIn(Strict):
    amount: Amount
    reason: Reason | None = None
    opened_at: Moment | None = Field(
        default=None, description="When the provider opened it, if earlier (a late report)."
    )
    evidence_due_by: Annotated[StrictStr, Field(max_length=40)] | None = Field(
        default=None,
        description="ISO 8601 date-time with a zone: when the provider must have the evidence.",
    )


class DisputeCloseIn(Strict):
    outcome: Literal["won", "lost"]
    closed_at: Moment | None = Field(
        default=None, description="When the provider decided it, if earlier (a late report)."
    )


class PayoutIn(Strict):
    manufacturer_id: Text
    amount: Amount
    currency: CurrencyCode

    _check_currency = field_validator("currency")(_currency)


class PayoutRejectIn(Strict):
    reason: Reason | None = None


class SubscriptionSplitIn(Strict):
    manufacturer_id: Text
    amount: Amount


class SubscriptionIn(Strict):
    customer_id: Text
    amount: Amount
    currency: CurrencyCode
    provider: Annotated[
        StrictStr | None,
        Field(
            pattern=r"^[a-z][a-z0-9_]{0,31}$",
            description="Default: the first split's manufacturer's provider routing.",
        ),
    ] = None
    payment_method: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=200,
            description="A provider token, never a PAN.",
            json_schema_extra={"pattern": "^\\S+$"},
        ),
    ]
    splits: Annotated[list[SubscriptionSplitIn], Field(min_length=1, max_length=20)]
    interval: Literal["weekly", "monthly", "yearly"]
    start_on: Annotated[date, Field(strict=False)] | None = Field(
        None, description="First day (UTC); default today. The anchor is start_on + trial_days."
    )
    trial_days: Annotated[StrictInt, Field(ge=0, le=730)] = 0
    dunning: (
        Annotated[
            list[Annotated[StrictInt, Field(ge=1, le=60)]], Field(min_length=1, max_length=10)
        ]
        | None
    ) = Field(None, description="Retry offsets in days after a failed charge; default 1, 3, 7.")

    _check_currency = field_validator("currency")(_currency)


class CancelIn(Strict):
    reason: Reason | None = None


# ----- responses -------------------------------------------------------------------------------
class PendingBankAccountOut(BaseModel):
    masked: str
    requested_by: str
    requested_at: str


class ManufacturerOut(BaseModel):
    id: str
    name: str
    fee_bps: int
    refund_fee_policy: str
    payout_approval_threshold: dict[str, int]
    payout_approvals_required: int
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Workflow settings; a bank account shows only its mask, never its token.",
    )
    pending_bank_account: PendingBankAccountOut | None = Field(
        default=None,
        description="A payout account the manufacturer's key proposed, awaiting the platform.",
    )
    created_at: str
    updated_at: str
    version: int


class SplitOut(BaseModel):
    manufacturer_id: str
    amount: int
    fee_bps: int
    refund_fee_policy: str
    amount_captured: int
    fee: int


class ApprovalOut(BaseModel):
    approver: str = Field(description="The approving API key's id.")
    at: str
    approver_label: str | None = Field(
        None, description="The approving key's label when it approved (see /v1/keys)."
    )


class RefundOut(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str = Field(
        description="pending_approval, pending (being executed), succeeded, failed or rejected."
    )
    reason: str | None
    failure_reason: str | None = None
    approvals_required: int = 0
    approvals: list[ApprovalOut] = Field(default_factory=list)
    requested_by: str | None = None
    provider_reference: str | None = None
    created_at: str
    updated_at: str


class DisputeOut(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    evidence_due_by: str | None = None
    created_at: str
    updated_at: str


class PaymentOut(BaseModel):
    id: str
    status: str
    amount: int
    amount_captured: int
    amount_refunded: int
    amount_disputed: int
    amount_dispute_lost: int
    refundable_amount: int
    currency: str
    customer_id: str
    provider: str
    provider_reference: str | None
    payment_method: str
    capture_method: str
    splits: list[SplitOut]
    metadata: dict[str, Any]
    refunds: list[RefundOut]
    disputes: list[DisputeOut]
    failure_reason: str | None
    created_at: str
    updated_at: str
    version: int


class PayoutOut(BaseModel):
    id: str
    manufacturer_id: str
    amount: int
    currency: str
    status: str = Field(
        description="pending_approval, approved (being paid), paid, failed, rejected, returned."
    )
    approvals_required: int
    approvals: list[ApprovalOut]
    requested_by: str
    rejection: dict[str, Any] | None
    approval_expires_at: str | None = None
    provider_reference: str | None = None
    failure_reason: str | None = None
    created_at: str
    updated_at: str


class FreshnessOut(BaseModel):
    source: str = Field(description="'notification-log' (embedded) or 'dynamodb-stream' (AWS).")
    position: int | None = Field(description="Last event applied (embedded runtime).")
    head: int | None = Field(description="Last event recorded (embedded runtime).")
    lag_events: int | None = Field(description="Events recorded but not yet applied.")
    last_event_at: str | None = Field(
        None, description="Time of the newest event applied (AWS runtime)."
    )
    updated_at: str | None


class PaymentSummary(BaseModel):
    id: str
    status: str
    amount: int
    currency: str
    amount_captured: int
    amount_refunded: int
    amount_disputed: int
    refundable_amount: int
    customer_id: str
    provider: str
    manufacturer_ids: list[str]
    created_at: str
    updated_at: str


class PaymentList(BaseModel):
    data: list[PaymentSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class RefundSummary(BaseModel):
    id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    reason: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str


class RefundList(BaseModel):
    data: list[RefundSummary]
    next_cursor: str | None
    freshness: FreshnessOut


class BalanceOut(BaseModel):
    account: str
    currency: str
    debits: int
    credits: int
    balance: int = Field(description="debits - credits, in minor units")
    normal_balance: Literal["debit", "credit"] = Field(
        description="The side a healthy balance sits on: debit (assets, expenses) or credit "
        "(liabilities such as payables, revenue)."
    )
    balance_normal: int = Field(
        description="The balance on its normal side: a payable owed 7312 reads 7312."
    )
    as_of: str | None
    freshness: FreshnessOut


class TrialBalanceLine(BaseModel):
    account: str
    debits: int
    credits: int
    balance: int = Field(description="debits - credits")
    normal_balance: Literal["debit", "credit"]
    balance_normal: int = Field(description="the balance on its normal side")


class TrialBalanceCurrency(BaseModel):
    currency: str
    accounts: list[TrialBalanceLine]
    total_debits: int
    total_credits: int
    balanced: bool


class TrialBalanceOut(BaseModel):
    as_of: str | None
    currencies: list[TrialBalanceCurrency]
    freshness: FreshnessOut


class EventOut(BaseModel):
    version: int
    type: str
    recorded_at: str
    data: dict[str, Any]


class ReportOut(BaseModel):
    manufacturer_id: str
    name: str
    from_date: str
    to_date: str = Field(description="Inclusive last day.")
    currencies: list[dict[str, Any]]
    freshness: FreshnessOut


class InvoiceOut(BaseModel):
    period: str
    period_start: str
    period_end: str
    amount: int
    currency: str
    status: str = Field(description="open, paid, failed or void.")
    attempts: list[dict[str, Any]]
    next_attempt_on: str | None = None
    paid_at: str | None = None
    created_at: str
    updated_at: str


class SubscriptionOut(BaseModel):
    id: str
    customer_id: str
    provider: str
    amount: int
    currency: str
    splits: list[dict[str, Any]]
    interval: str
    anchor_on: str
    trial_ends_on: str | None
    dunning: list[int]
    status: str = Field(description="active, past_due or canceled.")
    next_billing_on: str | None
    cancellation: dict[str, Any] | None
    created_at: str
    updated_at: str


class InvoiceList(BaseModel):
    data: list[InvoiceOut]


class ResolveIn(Strict):
    note: Annotated[StrictStr, Field(min_length=1, max_length=500)]


class AttentionOut(BaseModel):
    """Provider money the ledger could not book, held for an operator."""

    id: str
    status: Literal["open", "resolved"]
    provider: str
    event_id: str
    kind: str
    reason: str
    payment_id: str | None
    amount: int | None
    currency: str | None
    reference: str | None
    resolved_by: str | None
    resolution: str | None
    created_at: str
    resolved_at: str | None


class AttentionList(BaseModel):
    data: list[AttentionOut]


class WebhookOut(BaseModel):
    outcome: str
    event_id: str | None = None
    kind: str | None = None


class BankAccountTokenOut(BaseModel):
    token: str = Field(description="Sealed account: the payment_method of an `ach` payment.")
    masked: str
    account_type: str


# ----- API keys ----------------------------------------------------------------------------------
KeyLabel = Annotated[StrictStr, Field(min_length=1, max_length=100)]


class KeyPatch(Strict):
    """Omitted fields stay; `expires_at: null` removes the expiry."""

    label: KeyLabel | None = None
    expires_at: Annotated[AwareDatetime, Field(strict=False)] | None = Field(
        None, description="ISO 8601 with a zone (send Z), in the future; null: never expires."
    )


class KeyOut(BaseModel):
    id: str
    label: str | None
    scopes: list[str]
    manufacturer_id: str | None
    status: Literal["active", "expired", "revoked"]
    created_at: str | None
    last_used_at: str | None = Field(description="To the hour: a use is recorded once an hour.")
    expires_at: str | None
    revoked_at: str | None


class KeyListOut(BaseModel):
    data: list[KeyOut]
    freshness: FreshnessOut


class StatementOut(BaseModel):
    manufacturer_id: str
    name: str
    period: str
    view: Literal["issued", "restated", "current"]
    status: Literal["open", "closed"]
    closed_at: str | None
    currencies: list[dict[str, Any]] = Field(
        description="Per currency: opening_balance, sales, platform_fees, refunds, "
        "fees_returned, disputes_lost, payouts, adjustments, closing_balance (each signed by "
        "its effect on what is owed), disputes_opened and disputes_won ({count, amount}), and "
        "with lines=true the lines behind them."
    )
    difference: list[dict[str, Any]] | None = Field(
        description="With as=restated: restated minus issued, per currency and figure."
    )
    freshness: FreshnessOut


class PnlOut(BaseModel):
    period: str
    view: Literal["issued", "restated", "current"]
    status: Literal["open", "closed"]
    closed_at: str | None
    currencies: list[dict[str, Any]] = Field(
        description="Per currency: fee_revenue, fees_returned, provider_fees, dispute_losses, "
        "adjustments, net = fee_revenue - fees_returned - provider_fees - dispute_losses + "
        "adjustments."
    )
    freshness: FreshnessOut


class PeriodCloseOut(BaseModel):
    period: str
    closed_through: str
    closed_at: str
    closed_by: str

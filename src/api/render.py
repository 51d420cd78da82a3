"""Aggregates to response bodies. Keys bound to one manufacturer see only their own splits."""

from __future__ import annotations

from typing import Any

from api.schemas import (
    ApprovalOut,
    AttentionOut,
    DisputeOut,
    InvoiceOut,
    ManufacturerOut,
    PaymentOut,
    PaymentSummary,
    PayoutOut,
    PendingBankAccountOut,
    RefundOut,
    SplitOut,
    SubscriptionOut,
)
from ledger.application.principal import Principal
from ledger.domain import ids
from ledger.domain.attention import AttentionItem
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.payment import Payment, refundable_amount
from ledger.domain.payout import Payout
from ledger.domain.subscription import Subscription


def attention_out(item: AttentionItem) -> AttentionOut:
    return AttentionOut(
        id=ids.encode("attention", item.id),
        status="open" if item.is_open else "resolved",
        provider=item.provider,
        event_id=item.event_id,
        kind=item.kind,
        reason=item.reason,
        payment_id=item.payment_id,
        amount=item.amount,
        currency=item.currency,
        reference=item.reference,
        resolved_by=item.resolved_by,
        resolution=item.resolution,
        created_at=item.created_on.isoformat(),
        resolved_at=item.resolved_at,
    )


def manufacturer_out(manufacturer: Manufacturer) -> ManufacturerOut:
    pending = getattr(manufacturer, "pending_bank_account", None)
    return ManufacturerOut(
        id=ids.encode("manufacturer", manufacturer.id),
        name=manufacturer.name,
        fee_bps=manufacturer.fee_bps,
        refund_fee_policy=manufacturer.refund_fee_policy,
        payout_approval_threshold=manufacturer.payout_approval_threshold,
        payout_approvals_required=manufacturer.payout_approvals_required,
        settings={k: v for k, v in manufacturer.settings.items() if k != "bank_account_token"},
        pending_bank_account=(
            PendingBankAccountOut(
                masked=pending["masked"],
                requested_by=pending["requested_by"],
                requested_at=pending["requested_at"],
            )
            if pending
            else None
        ),
        created_at=manufacturer.created_on.isoformat(),
        updated_at=manufacturer.modified_on.isoformat(),
        version=manufacturer.version,
    )


def refund_out(of: tuple[Payment, str]) -> RefundOut:
    """A refund of a payment, by its id."""
    payment, refund_id = of
    refund = payment.refunds[refund_id]
    return RefundOut(
        id=refund_id,
        payment_id=ids.encode("payment", payment.id),
        amount=refund["amount"],
        currency=payment.currency,
        status=refund["status"],
        reason=refund["reason"],
        failure_reason=refund["failure_reason"],
        approvals_required=refund.get("approvals_required", 0),
        approvals=[ApprovalOut(**approval) for approval in refund.get("approvals", [])],
        requested_by=refund.get("requested_by") or None,
        provider_reference=refund.get("provider_reference"),
        created_at=refund["created_at"],
        updated_at=refund["updated_at"],
    )


def dispute_out(of: tuple[Payment, str]) -> DisputeOut:
    """A dispute of a payment, by its id."""
    payment, dispute_id = of
    dispute = payment.disputes[dispute_id]
    return DisputeOut(
        id=dispute_id,
        payment_id=ids.encode("payment", payment.id),
        amount=dispute["amount"],
        currency=payment.currency,
        status=dispute["status"],
        reason=dispute["reason"],
        evidence_due_by=dispute.get("evidence_due_by"),
        created_at=dispute["created_at"],
        updated_at=dispute["updated_at"],
    )


def payment_out(payment: Payment, principal: Principal) -> PaymentOut:
    splits = []
    for index, split in enumerate(payment.splits):
        if not principal.sees_manufacturer(split["manufacturer_id"]):
            continue
        share = payment.captured_shares[index] if payment.captured_shares else None
        splits.append(
            SplitOut(
                manufacturer_id=split["manufacturer_id"],
                amount=split["amount"],
                fee_bps=split["fee_bps"],
                refund_fee_policy=split["refund_fee_policy"],
                amount_captured=share["amount"] if share else 0,
                fee=share["fee"] if share else 0,
            )
        )
    return PaymentOut(
        id=ids.encode("payment", payment.id),
        status=payment.status,
        amount=payment.amount,
        amount_captured=payment.amount_captured,
        amount_refunded=payment.amount_refunded,
        amount_disputed=payment.amount_disputed,
        amount_dispute_lost=payment.amount_dispute_lost,
        refundable_amount=payment.refundable,
        currency=payment.currency,
        customer_id=payment.customer_id,
        provider=payment.provider,
        provider_reference=payment.provider_reference,
        payment_method=payment.payment_method,
        capture_method=payment.capture_method,
        splits=splits,
        metadata=payment.metadata,
        refunds=[refund_out((payment, refund_id)) for refund_id in payment.refunds],
        disputes=[dispute_out((payment, dispute_id)) for dispute_id in payment.disputes],
        failure_reason=payment.failure_reason,
        created_at=payment.created_on.isoformat(),
        updated_at=payment.modified_on.isoformat(),
        version=payment.version,
    )


def payout_out(payout: Payout) -> PayoutOut:
    return PayoutOut(
        id=ids.encode("payout", payout.id),
        manufacturer_id=payout.manufacturer_id,
        amount=payout.amount,
        currency=payout.currency,
        status=payout.status,
        approvals_required=payout.approvals_required,
        approvals=[ApprovalOut(**approval) for approval in payout.approvals],
        requested_by=payout.requested_by,
        rejection=payout.rejection,
        approval_expires_at=payout.approval_expires_at,
        provider_reference=getattr(payout, "provider_reference", None),
        failure_reason=payout.failure_reason,
        created_at=payout.created_on.isoformat(),
        updated_at=payout.modified_on.isoformat(),
    )


def payment_summary(row: dict[str, Any], bound_to: str | None) -> PaymentSummary:
    """A payments read-model row; a bound key sees only its own manufacturer in it."""
    refundable = refundable_amount(
        row["status"], row["amount_captured"], row["amount_refunded"], row["amount_disputed"]
    )
    return PaymentSummary(
        id=row["payment_id"],
        status=row["status"],
        amount=row["amount"],
        currency=row["currency"],
        amount_captured=row["amount_captured"],
        amount_refunded=row["amount_refunded"],
        amount_disputed=row["amount_disputed"],
        refundable_amount=refundable,
        customer_id=row["customer_id"],
        provider=row["provider"],
        manufacturer_ids=[m for m in row["manufacturer_ids"] if bound_to in (None, m)],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    next_on = subscription.next_billing_on
    return SubscriptionOut(
        id=ids.encode("subscription", subscription.id),
        customer_id=subscription.customer_id,
        provider=subscription.provider,
        amount=subscription.amount,
        currency=subscription.currency,
        splits=subscription.splits,
        interval=subscription.interval,
        anchor_on=subscription.anchor_on,
        trial_ends_on=subscription.trial_ends_on,
        dunning=list(subscription.dunning),
        status=subscription.status,
        next_billing_on=next_on.isoformat() if next_on is not None else None,
        cancellation=subscription.cancellation,
        created_at=subscription.created_on.isoformat(),
        updated_at=subscription.modified_on.isoformat(),
    )


def invoice_out(invoice: dict[str, Any]) -> InvoiceOut:
    fields = set(InvoiceOut.model_fields)
    return InvoiceOut(**{k: v for k, v in invoice.items() if k in fields})

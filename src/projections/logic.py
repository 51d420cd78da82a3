"""Pure projection logic: one domain event in, the read-model changes it implies out.

No I/O here. The store applies the changes together with the per-aggregate version tracking,
so applying an event twice changes nothing and both runtimes (SQLite, DynamoDB) share this code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ledger.domain import accounts, ids
from projections.changes import Change, Increment, Post, Upsert

Handler = Callable[[Any, str, str], list[Change]]
_HANDLERS: dict[str, Handler] = {}

# Aggregates whose events the read models follow; others (idempotency records, payable
# mirrors) carry nothing a read model needs.
PROJECTED_AGGREGATES = (
    "Payment",
    "Payout",
    "Manufacturer",
    "ApiKey",
    "Subscription",
    "Books",
    "AchFile",  # its settlement books platform:cash
    "ProviderSettlement",
)


def timestamp_text(moment: datetime) -> str:
    """UTC, fixed width, so text order is time order."""
    if moment.tzinfo is UTC and moment.year >= 1000:  # every event's: 3x faster than strftime
        m = moment
        return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031 - faster than format()
            m.year,
            m.month,
            m.day,
            m.hour,
            m.minute,
            m.second,
            m.microsecond,
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[name] = handler
        return handler

    return register


def event_name(event: Any) -> str:
    return type(event).__qualname__


def is_projected_topic(topic: str) -> bool:
    """Topics look like "ledger.domain.payment:Payment.Captured"."""
    return topic.rpartition(":")[2].split(".")[0] in PROJECTED_AGGREGATES


def is_projected(event: Any) -> bool:
    return event_name(event).split(".")[0] in PROJECTED_AGGREGATES


_HOMES = {
    "Payment": ("payments", "payment_id", "payment"),
    "Payout": ("payouts", "payout_id", "payout"),
    "Manufacturer": ("manufacturers", "manufacturer_id", "manufacturer"),
    "ApiKey": ("api_keys", "key_id", "api_key"),
    "Subscription": ("subscriptions", "subscription_id", "subscription"),
}


def home_row(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The row that stands for the event's aggregate (its table and key), if it has one."""
    home = _HOMES.get(event_name(event).split(".")[0])
    if home is None:
        return None
    table, column, kind = home
    return table, {column: ids.encode(kind, event.originator_id)}


def project(event: Any) -> list[Change]:
    """Changes for one event. The journal entry an event carries is always posted."""
    at = timestamp_text(event.timestamp)
    ref = f"{event.originator_id}:{event.originator_version}"
    changes: list[Change] = []
    for posting in getattr(event, "entry", None) or []:
        changes.append(Post(posting["account"], posting["currency"], posting["amount"], at, ref))
    handler = _HANDLERS.get(event_name(event))
    if handler is not None:
        changes.extend(handler(event, at, ref))
    changes.extend(statement_lines(event, at, ref))
    return changes


def _day(at: str) -> str:
    return at[:10]


def _pay(event: Any) -> str:
    return ids.encode("payment", event.originator_id)


# ----- payments --------------------------------------------------------------------------------
@handles("Payment.Initiated")
def _payment_initiated(event: Any, at: str, ref: str) -> list[Change]:
    payment_id = _pay(event)
    changes: list[Change] = [
        Upsert(
            "payments",
            {"payment_id": payment_id},
            {
                "status": "pending",
                "amount": event.amount,
                "currency": event.currency,
                "customer_id": event.customer_id,
                "provider": event.provider,
                "capture_method": event.capture_method,
                "created_at": at,
                "updated_at": at,
                "amount_captured": 0,
                "amount_refunded": 0,
                "amount_disputed": 0,
                "amount_dispute_lost": 0,
                "manufacturer_ids": ",".join(s["manufacturer_id"] for s in event.splits),
            },
        )
    ]
    changes += [
        Upsert(
            "payment_manufacturers",
            {"payment_id": payment_id, "manufacturer_id": split["manufacturer_id"]},
            {"created_at": at, "amount": split["amount"], "shared": int(len(event.splits) > 1)},
        )
        for split in event.splits
    ]
    return changes


def _status(status: str) -> Handler:
    def handler(event: Any, at: str, ref: str) -> list[Change]:
        return [
            Upsert("payments", {"payment_id": _pay(event)}, {"status": status, "updated_at": at})
        ]

    return handler


handles("Payment.Authorized")(_status("authorized"))
handles("Payment.DebitOriginated")(_status("authorized"))
handles("Payment.DebitReturned")(_status("failed"))
handles("Payment.Failed")(_status("failed"))
handles("Payment.Voided")(_status("voided"))


@handles("Payment.Captured")
def _captured(event: Any, at: str, ref: str) -> list[Change]:
    currency = event.entry[0]["currency"]
    changes: list[Change] = [
        Upsert(
            "payments",
            {"payment_id": _pay(event)},
            {"status": "captured", "amount_captured": event.amount, "updated_at": at},
        )
    ]
    changes += [
        Increment(
            "report_days",
            {"manufacturer_id": share["manufacturer_id"], "currency": currency, "day": _day(at)},
            {"gross_captured": share["amount"], "fees": share["fee"]},
        )
        for share in event.shares
    ]
    return changes


def _reversal_report(event: Any, at: str, field: str, sign: int) -> list[Change]:
    currency = event.entry[0]["currency"]
    return [
        Increment(
            "report_days",
            {"manufacturer_id": share["manufacturer_id"], "currency": currency, "day": _day(at)},
            {field: sign * share["amount"], "fees": -sign * share["fee_returned"]},
        )
        for share in event.shares
    ]


@handles("Payment.RefundRequested")
def _refund_requested(event: Any, at: str, ref: str) -> list[Change]:
    currency = event.entry[0]["currency"]
    changes: list[Change] = [
        Upsert(
            "refunds",
            {"refund_id": event.refund_id},
            {
                "payment_id": _pay(event),
                "amount": event.amount,
                "currency": currency,
                "status": (
                    "pending_approval" if getattr(event, "approvals_required", 0) else "pending"
                ),
                "reason": event.reason,
                "failure_reason": None,
                "created_at": at,
                "updated_at": at,
            },
        ),
        Increment("payments", {"payment_id": _pay(event)}, {"amount_refunded": event.amount}),
        Upsert("payments", {"payment_id": _pay(event)}, {"updated_at": at}),
    ]
    changes += [
        Upsert(
            "refund_manufacturers",
            {"refund_id": event.refund_id, "manufacturer_id": share["manufacturer_id"]},
            {"amount": share["amount"]},
        )
        for share in event.shares
    ]
    return changes + _reversal_report(event, at, "refunds", 1)


@handles("Payment.RefundSucceeded")
def _refund_succeeded(event: Any, at: str, ref: str) -> list[Change]:
    return [
        Upsert("refunds", {"refund_id": event.refund_id}, {"status": "succeeded", "updated_at": at})
    ]


@handles("Payment.RefundApproved")
def _refund_approved(event: Any, at: str, ref: str) -> list[Change]:
    if not event.ready:
        return [Upsert("refunds", {"refund_id": event.refund_id}, {"updated_at": at})]
    return [
        Upsert("refunds", {"refund_id": event.refund_id}, {"status": "pending", "updated_at": at})
    ]


@handles("Payment.RefundFailed")
@handles("Payment.RefundRejected")
def _refund_failed(event: Any, at: str, ref: str) -> list[Change]:
    refunded = sum(share["amount"] for share in event.shares)
    status = "rejected" if event_name(event).endswith("Rejected") else "failed"
    return [
        Upsert(
            "refunds",
            {"refund_id": event.refund_id},
            {"status": status, "failure_reason": event.reason, "updated_at": at},
        ),
        Increment("payments", {"payment_id": _pay(event)}, {"amount_refunded": -refunded}),
        *_reversal_report(event, at, "refunds", -1),
    ]


@handles("Payment.DisputeOpened")
def _dispute_opened(event: Any, at: str, ref: str) -> list[Change]:
    return [
        Upsert(
            "disputes",
            {"dispute_id": event.dispute_id},
            {
                "payment_id": _pay(event),
                "amount": event.amount,
                "currency": event.entry[0]["currency"],
                "status": "open",
                "reason": event.reason,
                # events recorded before disputes had a deadline carry none
                "evidence_due_by": getattr(event, "evidence_due_by", None),
                "created_at": at,
                "updated_at": at,
            },
        ),
        Increment("payments", {"payment_id": _pay(event)}, {"amount_disputed": event.amount}),
    ]


@handles("Payment.DisputeWon")
def _dispute_won(event: Any, at: str, ref: str) -> list[Change]:
    return [
        Upsert("disputes", {"dispute_id": event.dispute_id}, {"status": "won", "updated_at": at}),
        Increment("payments", {"payment_id": _pay(event)}, {"amount_disputed": -event.amount}),
    ]


@handles("Payment.DisputeLost")
def _dispute_lost(event: Any, at: str, ref: str) -> list[Change]:
    # platform_share: what the platform bore beyond the manufacturers' shares (events before
    # it existed have none).
    lost = sum(share["amount"] for share in event.shares) + getattr(event, "platform_share", 0)
    return [
        Upsert("disputes", {"dispute_id": event.dispute_id}, {"status": "lost", "updated_at": at}),
        Increment("payments", {"payment_id": _pay(event)}, {"amount_dispute_lost": lost}),
        *_reversal_report(event, at, "disputes_lost", 1),
    ]


# ----- payouts ---------------------------------------------------------------------------------
def _po(event: Any) -> str:
    return ids.encode("payout", event.originator_id)


@handles("Payout.Requested")
def _payout_requested(event: Any, at: str, ref: str) -> list[Change]:
    status = "pending_approval" if event.approvals_required else "approved"
    return [
        Upsert(
            "payouts",
            {"payout_id": _po(event)},
            {
                "manufacturer_id": event.manufacturer_id,
                "amount": event.amount,
                "currency": event.currency,
                "status": status,
                "approvals_required": event.approvals_required,
                "approvals": 0,
                "requested_by": event.requested_by,
                "created_at": at,
                "updated_at": at,
            },
        )
    ]


@handles("Payout.Approved")
def _payout_approved(event: Any, at: str, ref: str) -> list[Change]:
    values: dict[str, Any] = {"updated_at": at}
    if getattr(event, "ready", None):
        values["status"] = "approved"
    # (events recorded before `ready` existed leave the status to Payout.Executing)
    return [
        Increment("payouts", {"payout_id": _po(event)}, {"approvals": 1}),
        Upsert("payouts", {"payout_id": _po(event)}, values),
        Upsert(
            "payout_approvals", {"payout_id": _po(event), "approver": event.approver}, {"at": at}
        ),
    ]


@handles("Payout.Rejected")
def _payout_rejected(event: Any, at: str, ref: str) -> list[Change]:
    return [Upsert("payouts", {"payout_id": _po(event)}, {"status": "rejected", "updated_at": at})]


def _payout_status(status: str) -> Handler:
    def handler(event: Any, at: str, ref: str) -> list[Change]:
        return [Upsert("payouts", {"payout_id": _po(event)}, {"status": status, "updated_at": at})]

    return handler


handles("Payout.Executing")(_payout_status("executing"))
handles("Payout.Submitted")(_payout_status("submitted"))


@handles("Payout.Failed")
def _payout_failed(event: Any, at: str, ref: str) -> list[Change]:
    return [Upsert("payouts", {"payout_id": _po(event)}, {"status": "failed", "updated_at": at})]


@handles("Payout.Paid")
@handles("Payout.Returned")
def _payout_paid(event: Any, at: str, ref: str) -> list[Change]:
    status = "returned" if event_name(event).endswith("Returned") else "paid"
    changes: list[Change] = [
        Upsert("payouts", {"payout_id": _po(event)}, {"status": status, "updated_at": at})
    ]
    for posting in event.entry:
        if accounts.is_manufacturer_payable(posting["account"]):
            changes.append(
                Increment(
                    "report_days",
                    {
                        "manufacturer_id": accounts.manufacturer_of(posting["account"]),
                        "currency": posting["currency"],
                        "day": _day(at),
                    },
                    {"payouts": posting["amount"]},
                )
            )
    return changes


# ----- manufacturers and keys ------------------------------------------------------------------
@handles("Manufacturer.Registered")
@handles("Manufacturer.TermsChanged")
def _manufacturer(event: Any, at: str, ref: str) -> list[Change]:
    values = {
        "name": event.name,
        "fee_bps": event.fee_bps,
        "refund_fee_policy": event.refund_fee_policy,
        "updated_at": at,
    }
    if event_name(event).endswith("Registered"):
        values["created_at"] = at
    return [
        Upsert(
            "manufacturers",
            {"manufacturer_id": ids.encode("manufacturer", event.originator_id)},
            values,
        )
    ]


# ----- subscriptions ---------------------------------------------------------------------------
def _sub(event: Any) -> str:
    return ids.encode("subscription", event.originator_id)


@handles("Subscription.Started")
def _subscription_started(event: Any, at: str, ref: str) -> list[Change]:
    owners = list(dict.fromkeys(split["manufacturer_id"] for split in event.splits))
    changes: list[Change] = [
        Upsert(
            "subscriptions",
            {"subscription_id": _sub(event)},
            {
                "customer_id": event.customer_id,
                "provider": event.provider,
                "amount": event.amount,
                "currency": event.currency,
                "interval": event.interval,
                "billing_status": "active",
                "canceled": 0,
                "manufacturer_ids": ",".join(owners),
                "created_at": at,
                "updated_at": at,
            },
        )
    ]
    changes += [
        Upsert(
            "subscription_manufacturers",
            {"subscription_id": _sub(event), "manufacturer_id": owner},
            {"created_at": at, "shared": int(len(owners) > 1)},
        )
        for owner in owners
    ]
    return changes


@handles("Subscription.InvoicePaid")
def _invoice_paid(event: Any, at: str, ref: str) -> list[Change]:
    values = {"billing_status": "active", "updated_at": at}
    return [Upsert("subscriptions", {"subscription_id": _sub(event)}, values)]


@handles("Subscription.InvoiceFailed")
def _invoice_failed(event: Any, at: str, ref: str) -> list[Change]:
    values: dict[str, Any] = {"updated_at": at}
    if event.next_attempt_on is not None:  # a retry is scheduled (else a cancellation follows)
        values["billing_status"] = "past_due"
    return [Upsert("subscriptions", {"subscription_id": _sub(event)}, values)]


@handles("Subscription.Canceled")
def _subscription_canceled(event: Any, at: str, ref: str) -> list[Change]:
    values = {"canceled": 1, "updated_at": at}
    return [Upsert("subscriptions", {"subscription_id": _sub(event)}, values)]


def subscription_status(row: dict[str, Any]) -> str:
    """A subscriptions row's status, as the aggregate has it."""
    return "canceled" if row.get("canceled") else str(row.get("billing_status") or "active")


@handles("ApiKey.Issued")
def _key_issued(event: Any, at: str, ref: str) -> list[Change]:
    return [
        Upsert(
            "api_keys",
            {"key_id": ids.encode("api_key", event.originator_id)},
            {
                "scopes": ",".join(event.scopes),
                "manufacturer_id": event.manufacturer_id,
                "created_at": at,
                "revoked": 0,
            },
        )
    ]


def _key(event: Any, **values: Any) -> list[Change]:
    return [Upsert("api_keys", {"key_id": ids.encode("api_key", event.originator_id)}, values)]


@handles("ApiKey.Revoked")
def _key_revoked(event: Any, at: str, ref: str) -> list[Change]:
    return _key(event, revoked=1, revoked_at=at)


@handles("ApiKey.Labelled")
def _key_labelled(event: Any, at: str, ref: str) -> list[Change]:
    return _key(event, label=event.label)


@handles("ApiKey.ExpirySet")
def _key_expiry(event: Any, at: str, ref: str) -> list[Change]:
    return _key(event, expires_at=event.expires_at)


@handles("ApiKey.Used")
def _key_used(event: Any, at: str, ref: str) -> list[Change]:
    return _key(event, last_used_at=at)


# ----- statement lines (manufacturer statements and the platform P&L) ------------------------
PLATFORM = "platform"
# Kinds that move a manufacturer's payable; the others are shown, not summed.
MOVEMENT_KINDS = (
    "sale",
    "platform_fee",
    "refund",
    "fee_returned",
    "dispute_lost",
    "payout",
    "other",
)
_MOVEMENTS = frozenset(MOVEMENT_KINDS)
INFO_KINDS = ("dispute_opened", "dispute_won")
PNL_KINDS = ("fee_revenue", "fees_returned", "provider_fees", "dispute_losses")


def _source(event: Any) -> tuple[str, str, str | None]:
    """(source type, source id, payment id) of a money-moving event."""
    name = event_name(event)
    if name.startswith("Payout."):
        return "payout", _po(event), None
    payment = _pay(event) if name.startswith("Payment.") else None
    if getattr(event, "refund_id", None):
        return "refund", event.refund_id, payment
    if getattr(event, "dispute_id", None):
        return "dispute", event.dispute_id, payment
    if payment is not None:
        return "payment", payment, payment
    return name.split(".")[0].lower(), str(event.originator_id), None


def _manufacturer_effects(event: Any) -> list[tuple[str, str, int]]:
    """(manufacturer id, kind, effect on what it is owed) for the event's shares."""
    name = event_name(event)
    shares = getattr(event, "shares", None) or []
    out: list[tuple[str, str, int]] = []
    for share in shares:
        m = share["manufacturer_id"]
        if name == "Payment.Captured":
            out += [(m, "sale", share["amount"]), (m, "platform_fee", -share["fee"])]
        elif name == "Payment.RefundRequested":
            out += [(m, "refund", -share["amount"]), (m, "fee_returned", share["fee_returned"])]
        elif name in ("Payment.RefundFailed", "Payment.RefundRejected"):
            out += [(m, "refund", share["amount"]), (m, "fee_returned", -share["fee_returned"])]
        elif name == "Payment.DisputeLost":
            out += [
                (m, "dispute_lost", -share["amount"]),
                (m, "fee_returned", share["fee_returned"]),
            ]
        elif name == "Payment.DisputeOpened":
            out.append((m, "dispute_opened", share["amount"]))
        elif name == "Payment.DisputeWon":
            out.append((m, "dispute_won", share["amount"]))
    return out


PLATFORM_ACCOUNTS = (
    accounts.PLATFORM_FEES,
    accounts.PLATFORM_PROVIDER_FEES,
    accounts.PLATFORM_DISPUTE_LOSSES,
)


def _platform_kind(name: str, account: str) -> str:
    if account == accounts.PLATFORM_DISPUTE_LOSSES:
        return "dispute_losses"  # what a lost dispute could not take back from manufacturers
    if account == accounts.PLATFORM_FEES:
        if name == "Payment.Captured":
            return "fee_revenue"
        return "dispute_losses" if name == "Payment.DisputeLost" else "fees_returned"
    return "dispute_losses" if name == "Payment.DisputeOpened" else "provider_fees"


def statement_lines(event: Any, at: str, ref: str) -> list[Change]:
    """What the event did to each manufacturer's payable (split into sale and fee, refund and
    fee returned, ...) and to the platform's revenue and expense accounts: one row per owner
    and event, one column per kind (so a 20-way split stays within one DynamoDB transaction).
    A manufacturer's rows always sum to its payable postings: an effect no rule names is
    `other`."""
    name = event_name(event)
    booking = getattr(event, "entry", None) or []
    if not booking and not getattr(event, "shares", None):
        return []
    currency = booking[0]["currency"] if booking else getattr(event, "currency", None)
    if currency is None:
        return []
    rows: dict[str, dict[str, int]] = {}  # owner -> kind -> amount, in first-touch order
    for owner, kind, amount in _manufacturer_effects(event):
        kinds = rows.setdefault(owner, {})
        kinds[kind] = kinds.get(kind, 0) + amount
    posted: dict[str, int] = {}
    for posting in booking:
        account = posting["account"]
        if accounts.is_manufacturer_payable(account):
            owner = accounts.manufacturer_of(account)
            posted[owner] = posted.get(owner, 0) - posting["amount"]
        elif account in PLATFORM_ACCOUNTS:
            kinds = rows.setdefault(PLATFORM, {})
            kind = _platform_kind(name, account)
            kinds[kind] = kinds.get(kind, 0) - posting["amount"]
    for owner, effect in posted.items():
        kinds = rows.setdefault(owner, {})
        rest = effect - sum(amount for kind, amount in kinds.items() if kind in _MOVEMENTS)
        if rest:
            kind = "payout" if name.startswith("Payout.") else "other"
            kinds[kind] = kinds.get(kind, 0) + rest
    source_type, source_id, payment_id = _source(event)
    effective = getattr(event, "effective_at", None) or at
    changes: list[Change] = []
    for owner, kinds in rows.items():
        amounts = {kind: amount for kind, amount in kinds.items() if amount}
        if not amounts:
            continue
        changes.append(
            Upsert(
                "statement_lines",
                {"owner": owner, "line_id": f"{at}#{ref}"},
                {
                    "currency": currency,
                    "effective_at": effective,
                    "recorded_at": at,
                    "source_type": source_type,
                    "source_id": source_id,
                    "payment_id": payment_id,
                    **amounts,
                },
            )
        )
    return changes


@handles("Books.PeriodClosed")
def _period_closed(event: Any, at: str, ref: str) -> list[Change]:
    return [
        Upsert(
            "period_closes",
            {"period": event.period},
            {"closed_at": at, "closed_by": event.closed_by},
        )
    ]

"""Subscription: recurring charges of a customer's stored payment method, one invoice per period.

Statuses: active -> past_due (a charge failed, a retry is scheduled) -> active (a retry paid);
active | past_due -> canceled (by a user, or by the system when every retry failed). A
subscription in its trial is active with trial_ends_on set; nothing is charged before it ends.

Periods are billed in order, each exactly once. If billing falls behind (the billing run did not
run for three months), the missed periods are caught up one at a time: due_charge returns the
oldest unsettled period, and after its outcome is recorded the next call returns the next one.
A later period waits while an earlier one is in dunning.

Dates are UTC calendar dates. Events and state carry them as ISO strings, because the event
store's transcoder has no type for date. See billing_schedule for the date rules and period keys.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import money
from ledger.domain.base import LedgerAggregate, now, seeded_id
from ledger.domain.billing_schedule import (
    DEFAULT_DUNNING,
    INTERVALS,
    MAX_TRIAL_DAYS,
    first_billing_date,
    next_retry,
    period_end,
    period_key,
    period_start,
    validate_dunning,
)
from ledger.domain.errors import IllegalTransition, InvalidInput
from ledger.domain.payment import PROVIDER_NAME
from ledger.domain.splits import bounded_amount, checked_splits

SubscriptionStatus = Literal["active", "past_due", "canceled"]
SUBSCRIPTION_STATUSES: tuple[str, ...] = get_args(SubscriptionStatus)
InvoiceStatus = Literal["open", "paid", "failed", "void"]
INVOICE_STATUSES: tuple[str, ...] = get_args(InvoiceStatus)
SETTLED_INVOICE_STATUSES = frozenset({"paid", "failed", "void"})

DUNNING_EXHAUSTED = "dunning_exhausted"
SYSTEM = "system"
MAX_START_AHEAD_DAYS = 366
MAX_TEXT = 255
_SEPARATORS = re.compile(r"[ \-]")


@dataclass(frozen=True, slots=True)
class Charge:
    """One charge the billing run should make now: an attempt to pay one period."""

    subscription_id: UUID
    period: str
    period_index: int
    period_start: date
    period_end: date
    due_on: date
    attempt: int
    amount: int
    currency: str
    customer_id: str
    provider: str
    payment_method: str
    splits: tuple[dict[str, Any], ...]

    @property
    def id_seed(self) -> str:
        """Seed for the charge's payment id: one payment per (period, attempt), so a billing run
        that crashed and runs again derives the same payment and idempotency key."""
        return f"subscription:{self.subscription_id.hex}:{self.period}:{self.attempt}"


def _today() -> date:
    current = now()
    return (current.astimezone(UTC) if current.tzinfo else current).date()


def _require_date(value: object, field: str) -> date:
    # datetime is a date subclass, and comparing one with a date raises; refuse it up front.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{field} must be a date")
    return value


def _require_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must not be blank")
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} must be at most {MAX_TEXT} characters")
    return value


def _require_payment_method(value: object) -> str:
    token = _require_text(value, "payment_method")
    if any(char.isspace() for char in token):
        raise InvalidInput("payment_method must be a provider token without spaces")
    digits = _SEPARATORS.sub("", token)
    if digits.isdigit() and 12 <= len(digits) <= 19:
        raise InvalidInput("payment_method must be a provider token, never a card number")
    return token


class Subscription(LedgerAggregate):
    """Charges amount every interval from anchor_on; see the module docstring for the rules."""

    @staticmethod
    def create_id(id_seed: str | None = None) -> UUID:
        return seeded_id(id_seed)

    @event("Started")
    def __init__(
        self,
        *,
        customer_id: str,
        provider: str,
        payment_method: str,
        amount: int,
        currency: str,
        splits: list[dict[str, Any]],
        interval: str,
        started_on: str,
        trial_days: int,
        anchor_on: str,
        dunning: list[int],
        id_seed: str | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.provider = provider
        self.payment_method = payment_method
        self.amount = amount
        self.currency = currency
        self.splits = splits
        self.interval = interval
        self.started_on = started_on
        self.trial_days = trial_days
        self.anchor_on = anchor_on
        self.trial_ends_on: str | None = anchor_on if trial_days else None
        self.dunning = dunning
        self.status: str = "active"
        # The oldest period not yet settled, the attempt due for it and the day that attempt is
        # due; these stay as they were on cancellation so a charge in flight can still be recorded.
        self.period_index = 0
        self.attempt = 1
        self.next_attempt_on: str | None = anchor_on
        self.invoices: dict[str, dict[str, Any]] = {}
        self.cancellation: dict[str, Any] | None = None

    @classmethod
    def start(
        cls,
        *,
        customer_id: str,
        provider: str,
        payment_method: str,
        amount: int,
        currency_code: str,
        splits: Sequence[Mapping[str, Any]],
        interval: str,
        start_on: date | None = None,
        trial_days: int = 0,
        dunning: Sequence[int] = DEFAULT_DUNNING,
        id_seed: str | None = None,
    ) -> Subscription:
        """splits: [{manufacturer_id, amount}]; fee terms are read when each charge is made.

        start_on defaults to today (UTC, by the ledger clock) and may not be in the past: a
        backdated start would charge the missed periods at once.
        """
        _require_text(customer_id, "customer_id")
        if not isinstance(provider, str) or not PROVIDER_NAME.match(provider):
            raise InvalidInput("provider must be a lowercase provider name")
        _require_payment_method(payment_method)
        bounded_amount(amount, "amount")
        money.currency(currency_code)
        clean_splits = checked_splits(splits, amount, what="subscription")
        if interval not in INTERVALS:
            raise InvalidInput(f"interval must be one of {', '.join(INTERVALS)}")
        if type(trial_days) is not int or not 0 <= trial_days <= MAX_TRIAL_DAYS:
            raise InvalidInput(f"trial_days must be a whole number from 0 to {MAX_TRIAL_DAYS}")
        offsets = validate_dunning(dunning)
        today = _today()
        start_day = today if start_on is None else _require_date(start_on, "start_on")
        if start_day < today:
            raise InvalidInput("start_on must not be in the past")
        if start_day > today + timedelta(days=MAX_START_AHEAD_DAYS):
            raise InvalidInput(f"start_on must be within {MAX_START_AHEAD_DAYS} days from today")
        return cls(
            customer_id=customer_id,
            provider=provider,
            payment_method=payment_method,
            amount=amount,
            currency=currency_code,
            splits=clean_splits,
            interval=interval,
            started_on=start_day.isoformat(),
            trial_days=trial_days,
            anchor_on=first_billing_date(start_day, trial_days).isoformat(),
            dunning=list(offsets),
            id_seed=id_seed,
        )

    # ----- queries ---------------------------------------------------------------------------
    @property
    def is_canceled(self) -> bool:
        return self.status == "canceled"

    @property
    def manufacturer_ids(self) -> list[str]:
        return [split["manufacturer_id"] for split in self.splits]

    @property
    def anchor(self) -> date:
        return date.fromisoformat(self.anchor_on)

    @property
    def current_period(self) -> str | None:
        """The key of the period being billed; None once canceled."""
        if self.status == "canceled":
            return None
        return period_key(self.anchor, self.interval, self.period_index)

    @property
    def next_billing_on(self) -> date | None:
        """The day of the next charge attempt (a retry when past_due); None once canceled."""
        return None if self.next_attempt_on is None else date.fromisoformat(self.next_attempt_on)

    def in_trial(self, as_of: date) -> bool:
        _require_date(as_of, "as_of")
        return self.trial_ends_on is not None and as_of < date.fromisoformat(self.trial_ends_on)

    def is_settled(self, period: str) -> bool:
        """Whether the period needs no more charges: paid, failed for good, or void."""
        invoice = self.invoices.get(period)
        return invoice is not None and invoice["status"] in SETTLED_INVOICE_STATUSES

    def attempt_outcome(self, period: str, attempt: int) -> str | None:
        """'succeeded' or 'failed' once that attempt's outcome is recorded, else None."""
        found = self._recorded_attempt(period, attempt)
        return None if found is None else str(found["outcome"])

    def invoice_list(self) -> list[dict[str, Any]]:
        """Invoices oldest first (copies). An invoice exists once its period's first attempt has
        an outcome."""
        return [copy.deepcopy(invoice) for invoice in self.invoices.values()]

    def due_charge(self, as_of: date) -> Charge | None:
        """The charge to make on as_of: the first attempt of the oldest unsettled period, or its
        retry once the retry's day has come. None when canceled, in trial, not yet due, or
        waiting for the next retry day. One period at a time: record the outcome, then ask
        again to catch up a further missed period."""
        _require_date(as_of, "as_of")
        if self.status == "canceled" or self.next_attempt_on is None:
            return None
        due_on = date.fromisoformat(self.next_attempt_on)
        if as_of < due_on:
            return None
        n = self.period_index
        start = period_start(self.anchor, self.interval, n)
        return Charge(
            subscription_id=self.id,
            period=start.isoformat(),
            period_index=n,
            period_start=start,
            period_end=period_end(self.anchor, self.interval, n),
            due_on=due_on,
            attempt=self.attempt,
            amount=self.amount,
            currency=self.currency,
            customer_id=self.customer_id,
            provider=self.provider,
            payment_method=self.payment_method,
            splits=tuple(dict(split) for split in self.splits),
        )

    # ----- charge outcomes -------------------------------------------------------------------
    def record_charge_succeeded(self, period: str, payment_id: str, attempt: int) -> bool:
        """Record that the attempt paid the period. Returns False, raising no event, when this
        exact outcome is already recorded (a redelivered message); a conflicting outcome for
        the attempt, or a payment for a period already settled, raises IllegalTransition.

        A charge in flight when a user canceled is still recorded: the money was taken."""
        _require_text(payment_id, "payment_id")
        recorded = self._recorded_attempt(period, attempt)
        if recorded is not None:
            if recorded["outcome"] == "succeeded" and recorded["payment_id"] == payment_id:
                return False
            raise IllegalTransition(
                f"attempt {attempt} for period {period} is already recorded as "
                f"{recorded['outcome']} with payment {recorded['payment_id']}"
            )
        self._require_current(period, attempt)
        self._invoice_paid(
            period=period,
            period_end=period_end(self.anchor, self.interval, self.period_index).isoformat(),
            payment_id=payment_id,
            attempt=attempt,
            amount=self.amount,
            currency=self.currency,
        )
        return True

    @event("InvoicePaid")
    def _invoice_paid(
        self,
        *,
        period: str,
        period_end: str,
        payment_id: str,
        attempt: int,
        amount: int,
        currency: str,
    ) -> None:
        invoice = self._invoice(period, period_end, amount, currency)
        invoice["attempts"].append(self._attempt_record(attempt, payment_id, "succeeded", None))
        invoice["status"] = "paid"
        invoice["next_attempt_on"] = None
        invoice["paid_at"] = self.event_time.isoformat()
        if self.status != "canceled":
            self.status = "active"
            self.period_index += 1
            self.attempt = 1
            self.next_attempt_on = period_start(
                self.anchor, self.interval, self.period_index
            ).isoformat()

    def record_charge_failed(
        self,
        period: str,
        payment_id: str | None,
        attempt: int,
        reason: str,
        *,
        failed_on: date | None = None,
    ) -> bool:
        """Record that the attempt failed (payment_id is None when no payment was created).

        The subscription goes past_due with a retry from the dunning schedule; when this was the
        last attempt the invoice fails for good and the subscription is canceled
        (reason 'dunning_exhausted'). failed_on defaults to today by the ledger clock. Returns
        False for an exact duplicate; a conflicting outcome raises IllegalTransition."""
        if payment_id is not None:
            _require_text(payment_id, "payment_id")
        _require_text(reason, "reason")
        failed_day = _today() if failed_on is None else _require_date(failed_on, "failed_on")
        recorded = self._recorded_attempt(period, attempt)
        if recorded is not None:
            if recorded["outcome"] == "failed" and recorded["payment_id"] == payment_id:
                return False
            raise IllegalTransition(
                f"attempt {attempt} for period {period} is already recorded as "
                f"{recorded['outcome']} with payment {recorded['payment_id']}"
            )
        self._require_current(period, attempt)
        retry_on: date | None = None
        if self.status != "canceled":
            invoice = self.invoices.get(period)
            first_failed = (
                failed_day if invoice is None else date.fromisoformat(invoice["dunning_from"])
            )
            retry_on = next_retry(
                self.dunning,
                failures=attempt,
                first_failed_on=first_failed,
                last_failed_on=failed_day,
            )
        exhausted = self.status != "canceled" and retry_on is None
        self._invoice_failed(
            period=period,
            period_end=period_end(self.anchor, self.interval, self.period_index).isoformat(),
            payment_id=payment_id,
            attempt=attempt,
            reason=reason,
            amount=self.amount,
            currency=self.currency,
            failed_on=failed_day.isoformat(),
            next_attempt_on=None if retry_on is None else retry_on.isoformat(),
        )
        if exhausted:
            self._canceled(by=SYSTEM, reason=DUNNING_EXHAUSTED)
        return True

    @event("InvoiceFailed")
    def _invoice_failed(
        self,
        *,
        period: str,
        period_end: str,
        payment_id: str | None,
        attempt: int,
        reason: str,
        amount: int,
        currency: str,
        failed_on: str,
        next_attempt_on: str | None,
    ) -> None:
        invoice = self._invoice(period, period_end, amount, currency)
        invoice["attempts"].append(self._attempt_record(attempt, payment_id, "failed", reason))
        if invoice["dunning_from"] is None:
            invoice["dunning_from"] = failed_on
        if self.status == "canceled":
            return
        invoice["next_attempt_on"] = next_attempt_on
        if next_attempt_on is None:
            invoice["status"] = "failed"
        else:
            self.status = "past_due"
            self.attempt = attempt + 1
            self.next_attempt_on = next_attempt_on

    # ----- cancellation ----------------------------------------------------------------------
    def cancel(self, by: str, reason: str | None = None) -> None:
        """Cancel now: no further charges; an invoice awaiting a retry becomes void. No
        proration or refund is made here."""
        if self.status == "canceled":
            raise IllegalTransition("the subscription is already canceled")
        _require_text(by, "by")
        if reason is not None:
            _require_text(reason, "reason")
        self._canceled(by=by, reason=reason)

    @event("Canceled")
    def _canceled(self, *, by: str, reason: str | None) -> None:
        self.status = "canceled"
        self.next_attempt_on = None
        self.cancellation = {"by": by, "reason": reason, "at": self.event_time.isoformat()}
        for invoice in self.invoices.values():
            if invoice["status"] == "open":
                invoice["status"] = "void"
                invoice["next_attempt_on"] = None
                invoice["updated_at"] = self.event_time.isoformat()

    # ----- helpers ---------------------------------------------------------------------------
    def _recorded_attempt(self, period: str, attempt: int) -> dict[str, Any] | None:
        if type(attempt) is not int:
            raise InvalidInput("attempt must be an integer")
        invoice = self.invoices.get(period)
        if invoice is None:
            return None
        for record in invoice["attempts"]:
            if record["attempt"] == attempt:
                found: dict[str, Any] = record
                return found
        return None

    def _require_current(self, period: str, attempt: int) -> None:
        current = period_key(self.anchor, self.interval, self.period_index)
        if period != current:
            invoice = self.invoices.get(period)
            if invoice is not None and invoice["status"] in SETTLED_INVOICE_STATUSES:
                raise IllegalTransition(f"period {period} is already {invoice['status']}")
            raise IllegalTransition(f"period {period} is not the period being billed ({current})")
        invoice = self.invoices.get(period)
        if invoice is not None and invoice["status"] in ("paid", "failed"):
            raise IllegalTransition(f"period {period} is already {invoice['status']}")
        if attempt != self.attempt:
            raise IllegalTransition(
                f"attempt {attempt} is not the attempt due for period {period} "
                f"(attempt {self.attempt} is)"
            )

    def _invoice(self, period: str, end: str, amount: int, currency: str) -> dict[str, Any]:
        """The period's invoice, created on its first recorded attempt."""
        at = self.event_time.isoformat()
        invoice = self.invoices.get(period)
        if invoice is None:
            invoice = {
                "period": period,
                "period_start": period,
                "period_end": end,
                "amount": amount,
                "currency": currency,
                "status": "void" if self.status == "canceled" else "open",
                "attempts": [],
                "dunning_from": None,
                "next_attempt_on": None,
                "paid_at": None,
                "created_at": at,
            }
            self.invoices[period] = invoice
        invoice["updated_at"] = at
        return invoice

    def _attempt_record(
        self, attempt: int, payment_id: str | None, outcome: str, reason: str | None
    ) -> dict[str, Any]:
        return {
            "attempt": attempt,
            "payment_id": payment_id,
            "outcome": outcome,
            "reason": reason,
            "at": self.event_time.isoformat(),
        }

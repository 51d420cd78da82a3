"""Property-based tests: random command sequences keep every ledger invariant, and the
incremental read models always equal a rebuild from the full history.

Among the rules: approval thresholds are per currency (a currency with none set needs approval
for every amount), and Idempotency-Keys are scoped per account (the platform, or one
manufacturer), so a retry with any key of the same account replays and never refunds twice."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from ledger.application.commands import (
    disputes,
    manufacturers,
    payments,
    payouts,
    periods,
    refunds,
)
from ledger.application.errors import IdempotencyKeyReused
from ledger.application.principal import Principal
from ledger.application.queries import payable as payable_of
from ledger.application.registries import PAYABLES
from ledger.application.replies import Idempotency
from ledger.bootstrap import build
from ledger.domain import accounts
from ledger.domain.errors import DomainError
from ledger.domain.journal import assert_balanced
from ledger.settings import Settings
from projections import statements
from projections.follower import Follower
from projections.logic import PLATFORM
from projections.stores.sqlite import SqliteReadModels
from tests.conftest import ManualClock

ADMIN = Principal("key_requester", frozenset({"admin"}))
APPROVERS = [
    Principal(f"key_approver_{i}", frozenset({"payouts:approve", "refunds:approve"}))
    for i in range(3)
]
amounts = st.integers(min_value=1, max_value=50_000)
CURRENCIES = ["USD", "JPY", "BHD"]
# Thresholds for some of the currencies (the others have none: everything needs approval).
thresholds = st.dictionaries(st.sampled_from(CURRENCIES), st.integers(0, 20_000), max_size=3)
IDEMPOTENCY_KEYS = ["refund-1", "refund-2", "refund-3"]


def approvals_expected(terms: tuple[dict[str, int], int], currency: str, amount: int) -> int:
    """The per-currency rule, modelled on its own."""
    limits, required = terms
    if not required:
        return 0
    limit = limits.get(currency)
    return (
        required if (limit is None and amount > 0) or (limit is not None and amount >= limit) else 0
    )


class LedgerMachine(RuleBasedStateMachine):
    payments = Bundle("payments")
    disputes = Bundle("disputes")
    payouts = Bundle("payouts")
    refunds = Bundle("refunds")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 1, 10, 12, 0, tzinfo=UTC))
        self.container = build(Settings(persistence="popo"), clock=self.clock)
        self.engine = self.container.engine
        self.manufacturers: list[str] = []
        self.refused: dict[str, int] = defaultdict(int)
        self.payout_terms: dict[str, tuple[dict[str, int], int]] = {}
        self.refund_terms: dict[str, tuple[dict[str, int], int]] = {}
        # (account, Idempotency-Key) -> (fingerprint, reply body, refusal) of its first answer
        self.keyed: dict[tuple[str, str], tuple[str, str, str | None]] = {}
        self.keyed_refunds: set[str] = set()

    @initialize(
        terms=st.lists(
            st.tuples(
                st.integers(0, 3000),
                st.sampled_from(["refund_fee", "keep_fee"]),
                thresholds,
                st.integers(0, 2),
            ),
            min_size=1,
            max_size=3,
        )
    )
    def register(self, terms: list[tuple[int, str, dict[str, int], int]]) -> None:
        for fee_bps, policy, threshold, approvals in terms:
            manufacturer = self.engine.execute(
                manufacturers.register(
                    ADMIN,
                    {
                        "name": "M",
                        "fee_bps": fee_bps,
                        "refund_fee_policy": policy,
                        "payout_approval_threshold": threshold,
                        "payout_approvals_required": approvals,
                    },
                )
            )
            public_id = f"mfr_{manufacturer.id.hex}"
            self.manufacturers.append(public_id)
            self.payout_terms[public_id] = (threshold, approvals)
            self.refund_terms[public_id] = ({}, 0)

    def _principals(self) -> list[Principal]:
        """Several keys of the platform, and several of the first manufacturer."""
        bound = self.manufacturers[0]
        return [
            ADMIN,
            Principal("key_platform_2", frozenset({"payments:write"})),
            Principal("key_bound_1", frozenset({"payments:write"}), manufacturer_id=bound),
            Principal("key_bound_2", frozenset({"payments:write"}), manufacturer_id=bound),
        ]

    def _expected_refund_approvals(self, payment_id: str, amount: int) -> int:
        payment = self.container.queries.payment(ADMIN, payment_id)
        return max(
            approvals_expected(self.refund_terms[m], payment.currency, amount)
            for m in payment.manufacturer_ids
        )

    def _try(self, command: Any) -> Any:
        try:
            return self.engine.execute(command)
        except DomainError as error:
            self.refused[error.code] += 1
            return None

    @rule(
        target=payments,
        data=st.data(),
        currency=st.sampled_from(CURRENCIES),
        capture=st.sampled_from(["automatic", "manual"]),
        method=st.sampled_from(["pm", "pm", "pm_sandbox_refund_fails"]),
    )
    def create_payment(self, data: st.DataObject, currency: str, capture: str, method: str) -> str:
        chosen = data.draw(
            st.lists(st.sampled_from(self.manufacturers), min_size=1, unique=True), "splits"
        )
        splits = [{"manufacturer_id": m, "amount": data.draw(amounts)} for m in chosen]
        payment = self.engine.execute(
            payments.create(
                ADMIN,
                {
                    "amount": sum(s["amount"] for s in splits),
                    "currency": currency,
                    "customer_id": "c",
                    "provider": "sandbox",
                    "payment_method": method,
                    "capture_method": capture,
                    "splits": splits,
                },
            )
        )
        return f"pay_{payment.id.hex}"

    @rule(payment=payments, amount=st.none() | amounts)
    def capture(self, payment: str, amount: int | None) -> None:
        self._try(payments.capture(ADMIN, payment, amount))

    @rule(payment=payments)
    def void(self, payment: str) -> None:
        self._try(payments.void(ADMIN, payment))

    @rule(target=refunds, payment=payments, amount=amounts)
    def refund(self, payment: str, amount: int) -> str:
        result = self._try(refunds.request(ADMIN, payment, amount, None))
        if not result:
            return "re_missing"
        booked, refund_id = result
        expected = self._expected_refund_approvals(payment, amount)
        assert booked.refunds[refund_id]["approvals_required"] == expected
        return str(refund_id)

    @rule(
        payment=payments,
        amount=amounts,
        who=st.integers(0, 3),
        key=st.sampled_from(IDEMPOTENCY_KEYS),
    )
    def keyed_refund(self, payment: str, amount: int, who: int, key: str) -> None:
        """A keyed refund from any key of an account: the first answer per (account, key) is
        the answer to every retry of that request, from whichever key of the account."""
        principal = self._principals()[who]
        # The model's own notion of whose key this is: the platform, or the bound manufacturer.
        account = principal.manufacturer_id or "platform"
        fingerprint = f"{payment}:{amount}"
        first = self.keyed.get((account, key))
        try:
            reply = self.engine.run(
                refunds.request(principal, payment, amount, None),
                lambda result: str(result[1]),
                Idempotency(principal.account, key, fingerprint),
            )
        except IdempotencyKeyReused:
            assert first is not None
            assert first[0] != fingerprint
            return
        except DomainError as error:  # not stored (a payment this account may not see)
            code = error.code
        else:
            code = None
        if code is not None:
            assert first is None or first[0] != fingerprint, code
            self.refused[code] += 1
            return
        if first is not None:
            assert first[0] == fingerprint
            assert (reply.body, reply.refusal, reply.replayed) == (first[1], first[2], True)
            return
        assert not reply.replayed
        self.keyed[(account, key)] = (fingerprint, reply.body, reply.refusal)
        if reply.refusal is None:
            assert reply.body not in self.keyed_refunds  # never the same refund twice
            self.keyed_refunds.add(reply.body)

    @rule(manufacturer_index=st.integers(0, 2), threshold=thresholds, approvals=st.integers(0, 2))
    def refund_policy(
        self, manufacturer_index: int, threshold: dict[str, int], approvals: int
    ) -> None:
        manufacturer = self.manufacturers[manufacturer_index % len(self.manufacturers)]
        self.engine.execute(
            manufacturers.change_settings(
                ADMIN,
                manufacturer,
                {"refund_approval_threshold": threshold, "refund_approvals_required": approvals},
            )
        )
        self.refund_terms[manufacturer] = (threshold, approvals)

    @rule(refund=refunds, approver=st.sampled_from(APPROVERS))
    def approve_refund(self, refund: str, approver: Principal) -> None:
        self._try(refunds.approve(approver, refund))

    @rule(refund=refunds)
    def reject_refund(self, refund: str) -> None:
        self._try(refunds.reject(APPROVERS[0], refund, "no"))

    @rule()
    def run_workflows(self) -> None:
        """Refunds and payouts are executed by the workflows, whenever they get to run."""
        self.container.settle()
        for row in self.container.fresh().dump()["payouts"]:
            payout = self.container.queries.payout(ADMIN, row[0])
            payable = payable_of(self.engine, payout.manufacturer_id, payout.currency)
            assert payable is not None
            reserved = payout.status in ("pending_approval", "approved", "executing", "submitted")
            assert (ids_of(payable.reservations)).count(row[0]) == int(reserved), payout.status

    def _earlier(self, days_back: int | None) -> str | None:
        """A moment days_back before now (a provider's late report), in Z form."""
        if days_back is None:
            return None
        return (self.clock.now - timedelta(days=days_back)).strftime("%Y-%m-%dT%H:%M:%SZ")

    @rule(
        target=disputes,
        payment=payments,
        amount=amounts,
        days_back=st.none() | st.integers(0, 45),
    )
    def open_dispute(self, payment: str, amount: int, days_back: int | None) -> str:
        opened_at = self._earlier(days_back)
        result = self._try(disputes.open_(ADMIN, payment, amount, None, opened_at))
        return result[1] if result else "dp_missing"

    @rule(
        dispute=consumes(disputes),
        outcome=st.sampled_from(["won", "lost"]),
        days_back=st.none() | st.integers(0, 45),
    )
    def close_dispute(self, dispute: str, outcome: str, days_back: int | None) -> None:
        self._try(disputes.close(ADMIN, dispute, outcome, self._earlier(days_back)))

    @rule(payment=payments, amount=amounts, days_back=st.integers(0, 45))
    def late_lost_dispute(self, payment: str, amount: int, days_back: int) -> None:
        """A chargeback the provider opened and decided days ago, reported only now: when its
        month is closed, statements book it into the first open month as an adjustment."""
        at = self._earlier(days_back)
        opened = self._try(disputes.open_(ADMIN, payment, amount, None, at))
        if opened is not None:
            self._try(disputes.close(ADMIN, opened[1], "lost", at))

    @rule(days=st.integers(5, 40), close=st.booleans())
    def pass_time(self, days: int, close: bool) -> None:
        """Time passes (the books of last month may close), so statements span periods."""
        self.clock.advance(days=days)
        if close:
            self.close_last_month()

    @rule()
    def close_last_month(self) -> None:
        """Close the books through the month before this one (refused if already closed)."""
        first = self.clock.now.replace(day=1)
        last_month = (first - timedelta(days=1)).strftime("%Y-%m")
        self._try(periods.close(ADMIN, last_month))

    @rule(target=payouts, data=st.data(), currency=st.sampled_from(CURRENCIES))
    def request_payout(self, data: st.DataObject, currency: str) -> str:
        manufacturer = data.draw(st.sampled_from(self.manufacturers))
        payable = payable_of(self.engine, manufacturer, currency)
        # Ask for amounts around what is available, so both sides of the rule get exercised.
        available = payable.available if payable else 0
        amount = data.draw(st.integers(1, max(1, available + 100)))
        payout = self._try(payouts.request(ADMIN, manufacturer, amount, currency))
        if not payout:
            return "po_missing"
        expected = approvals_expected(self.payout_terms[manufacturer], currency, amount)
        assert payout.approvals_required == expected
        return f"po_{payout.id.hex}"

    @rule(data=st.data(), currency=st.sampled_from(CURRENCIES))
    def respelled_manufacturer_id(self, data: st.DataObject, currency: str) -> None:
        """One spelling per id (issue 11, item 1): another spelling of a manufacturer's id is
        refused wherever money would be routed to it, and opens no second payable."""
        manufacturer = data.draw(st.sampled_from(self.manufacturers))
        digits = manufacturer.removeprefix("mfr_")
        spelling = data.draw(
            st.sampled_from(
                [
                    "mfr_" + digits.upper(),
                    "MFR_" + digits,
                    manufacturer + " ",
                    "mfr_" + digits[:16] + digits[16:].upper(),
                    "mfr_" + digits + "0",
                ]
            ).filter(lambda text: text != manufacturer)
        )
        payables = self.engine.registry_members(PAYABLES)
        split = {"manufacturer_id": spelling, "amount": 100}
        fields = {
            "amount": 100,
            "currency": currency,
            "customer_id": "c",
            "provider": "sandbox",
            "payment_method": "pm",
            "capture_method": "automatic",
            "splits": [split],
        }
        for command in (
            payments.create(ADMIN, fields),
            payouts.request(ADMIN, spelling, 1, currency),
        ):
            try:
                self.engine.execute(command)
            except DomainError:
                pass
            else:
                raise AssertionError(f"{spelling!r} was accepted as {manufacturer!r}")
        assert self.engine.registry_members(PAYABLES) == payables

    @rule(payout=payouts, approver=st.sampled_from(APPROVERS))
    def approve(self, payout: str, approver: Principal) -> None:
        self._try(payouts.approve(approver, payout))

    @rule(payout=payouts)
    def reject(self, payout: str) -> None:
        self._try(payouts.reject(APPROVERS[0], payout, "no"))

    # ----- invariants ------------------------------------------------------------------------
    @invariant()
    def keyed_refunds_exist_once_each(self) -> None:
        """Every refund a keyed request made exists, once, however often it was retried."""
        for refund_id in self.keyed_refunds:
            _, refund = self.container.queries.refund(ADMIN, refund_id)
            assert refund["amount"] > 0

    @invariant()
    def journal_entries_balance_and_payments_stay_within_captured(self) -> None:
        for notification in self.engine.recorder.select_notifications(start=1, limit=10**6):
            event: Any = self.engine.mapper.to_domain_event(notification)
            assert_balanced(getattr(event, "entry", None) or [])
        for row in self._payment_rows():
            payment = self.container.queries.payment(ADMIN, row["payment_id"])
            assert payment.amount_refunded + payment.amount_dispute_lost <= payment.amount_captured
            for index, share in enumerate(payment.captured_shares):
                # no manufacturer gives back more than it was paid on this payment
                assert 0 <= payment.amount_reversed_per_split[index] <= share["amount"]
            assert payment.amount_captured <= payment.amount

    @invariant()
    def trial_balance_is_zero_per_currency_and_mirrors_agree(self) -> None:
        totals: dict[str, int] = defaultdict(int)
        for row in self.container.fresh().trial_balance(None):
            totals[row["currency"]] += row["debits"] - row["credits"]
            if accounts.is_manufacturer_payable(row["account"]):
                payable = payable_of(
                    self.engine, accounts.manufacturer_of(row["account"]), row["currency"]
                )
                assert payable is not None
                assert payable.balance == row["credits"] - row["debits"]
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def account_balances_match_an_independent_model(self) -> None:
        """Recompute what each platform account must hold from the aggregates' own state."""
        expected: dict[tuple[str, str], int] = defaultdict(int)
        owed: dict[str, int] = defaultdict(int)  # payables + fees, per currency
        for row in self._payment_rows():
            p = self.container.queries.payment(ADMIN, row["payment_id"])
            cur = p.currency
            succeeded = sum(r["amount"] for r in p.refunds.values() if r["status"] == "succeeded")
            pending = sum(
                r["amount"]
                for r in p.refunds.values()
                if r["status"] in ("pending", "pending_approval")
            )
            held = sum(d["amount"] for d in p.disputes.values() if d["status"] == "open")
            lost = p.amount_dispute_lost
            expected[("provider:sandbox:receivable", cur)] += (
                p.amount_captured - succeeded - held - lost
            )
            expected[("provider:sandbox:refunds_pending", cur)] -= pending
            expected[("provider:sandbox:disputed", cur)] += held
            owed[cur] += p.amount_captured - succeeded - pending - lost
        for payout_id in self._paid_payouts():
            payout = self.container.queries.payout(ADMIN, payout_id)
            expected[(accounts.PLATFORM_CASH, payout.currency)] -= payout.amount
            owed[payout.currency] -= payout.amount
        actual = {
            (r["account"], r["currency"]): r["debits"] - r["credits"]
            for r in self.container.fresh().trial_balance(None)
        }
        for key, value in expected.items():
            assert actual.get(key, 0) == value, key
        for cur, total in owed.items():
            liabilities = -sum(
                v
                for (a, c), v in actual.items()
                if c == cur and (accounts.is_manufacturer_payable(a) or a == accounts.PLATFORM_FEES)
            )
            assert liabilities == total, cur
            assert -actual.get((accounts.PLATFORM_FEES, cur), 0) >= 0, (
                "fees returned exceed fees taken"
            )

    @invariant()
    def statements_chain_and_sum_to_the_payable_balances(self) -> None:
        """For every manufacturer, currency and period, in both the issued (booked) and the
        restated view: opening + movements = closing, each opening is the previous closing, and
        the last closing is the payable balance; the P&L nets sum to the fee and provider-fee
        accounts."""
        store = self.container.fresh()
        closes = store.period_closes()
        books = statements.Books.of(closes)
        balances = {
            (r["account"], r["currency"]): r["credits"] - r["debits"]
            for r in store.trial_balance(None)
        }
        for owner in [*self.manufacturers, PLATFORM]:
            rows = store.statement_lines(owner)
            if not rows:
                continue
            months = {r["effective_at"][:7] for r in rows}
            months |= {books.booked_period(r["effective_at"][:7], r["recorded_at"]) for r in rows}
            months.add(self.clock.now.strftime("%Y-%m"))
            for view in ("issued", "restated"):
                if owner == PLATFORM:
                    self._pnl_sums_to_the_accounts(rows, closes, sorted(months), view, balances)
                    continue
                closing: dict[str, int] = defaultdict(int)
                for month in sorted(months):
                    # what the API reads: the month's window of lines and the opening of the rest
                    start, end = statements.window(month)
                    narrowed = statements.statement(
                        store.statement_lines_from(owner, start, end),
                        closes,
                        month,
                        view,  # type: ignore[arg-type]
                        store.statement_opening(owner, start),
                    )
                    assert narrowed == statements.statement(rows, closes, month, view)  # type: ignore[arg-type]
                    for section in narrowed:
                        currency = section["currency"]
                        assert section["opening_balance"] == closing[currency], (view, month)
                        moved = sum(section[f] for f in (*statements.MOVEMENTS, "adjustments"))
                        assert section["opening_balance"] + moved == section["closing_balance"]
                        closing[currency] = section["closing_balance"]
                for currency, owed in closing.items():
                    payable = balances.get((accounts.manufacturer_payable(owner), currency), 0)
                    assert owed == payable, (owner, currency, view)

    @staticmethod
    def _pnl_sums_to_the_accounts(
        rows: list[dict[str, Any]],
        closes: list[dict[str, Any]],
        months: list[str],
        view: str,
        balances: dict[tuple[str, str], int],
    ) -> None:
        nets: dict[str, int] = defaultdict(int)
        for month in months:
            start, end = statements.window(month)
            narrowed = [r for r in rows if r["recorded_at"] >= start and r["effective_at"] < end]
            sections = statements.pnl(rows, closes, month, view)  # type: ignore[arg-type]
            assert statements.pnl(narrowed, closes, month, view) == sections  # type: ignore[arg-type]
            for section in sections:
                nets[section["currency"]] += section["net"]
        for currency, net in nets.items():
            fees = balances.get((accounts.PLATFORM_FEES, currency), 0)
            provider_fees = balances.get((accounts.PLATFORM_PROVIDER_FEES, currency), 0)
            assert net == fees + provider_fees, (view, currency)

    def _payment_rows(self) -> list[dict[str, Any]]:
        """Every payment in the read models, in one page."""
        return (
            self.container.fresh()
            .payments(
                manufacturer_id=None,
                status=None,
                created_from=None,
                created_to=None,
                cursor=None,
                limit=10**6,
            )
            .rows
        )

    def _paid_payouts(self) -> list[str]:
        db = self.container.fresh()
        return [row[0] for row in db.dump()["payouts"] if row[4] == "paid"]

    def teardown(self) -> None:
        try:
            rebuilt = SqliteReadModels(":memory:")
            Follower(self.engine, rebuilt).rebuild()
            assert rebuilt.dump() == self.container.fresh().dump()
            rebuilt.close()
        finally:
            self.container.close()


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerProperties = LedgerMachine.TestCase


def ids_of(reservations: dict[str, int]) -> list[str]:
    return list(reservations)

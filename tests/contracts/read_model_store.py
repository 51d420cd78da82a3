"""The read-model store port (projections.store.ReadModelStore), written once and run against
every backend: each test_read_model_store_<backend>.py subclasses ReadModelStoreContract and
says how to make an empty store.

The stores are fed what the follower and the stream projector feed them: TrackedChanges made by
projections.logic.project() from real domain events, recorded through the engine (a small
ledger history, see record_history). What a store must answer is worked out from those changes
alone (the journal postings and report increments they carry), never from another store.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from ledger.application.commands import disputes, payments, payouts, periods, refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import build
from ledger.settings import Settings
from projections import statements
from projections.changes import Increment, Post, Upsert
from projections.cursor import BadCursor
from projections.logic import timestamp_text
from projections.store import Page, ProjectionGap, ReadModelStore, TrackedChanges
from tests.conftest import ManualClock
from tests.contracts.read_model_lists import ListsContract
from tests.contracts.read_model_settlements import SettlementsContract
from tests.support.events import tracked_changes
from tests.support.seed import create_payment, register

REPORT_COLUMNS = ("gross_captured", "fees", "refunds", "disputes_lost", "payouts")


@dataclass(frozen=True)
class History:
    """Three days of a small ledger, as the read models receive it."""

    items: list[TrackedChanges]  # every projected event, in the order it was recorded
    days: list[date]  # the three days, oldest first
    a: str  # manufacturer, 250 bps, refund_fee: paid alone by p1 and p4, shares p2
    b: str  # manufacturer, no fee, keep_fee: shares p2, paid alone by p3 (EUR)
    p1: str  # day 0: 1000 USD to a, captured; refund r1 of 300 succeeded
    p2: str  # day 1: 1000 USD shared a 600 / b 400, captured; refund r2 of 500 pending
    p3: str  # day 2: 500 EUR to b, captured; a dispute of 100 lost
    p4: str  # day 2: 700 USD to a, authorized only
    r1: str
    r2: str

    def start_of(self, day: int) -> str:
        """The first moment of days[day], as the read models write moments."""
        return timestamp_text(datetime.combine(self.days[day], time(), tzinfo=UTC))


def record_history() -> History:
    """Runs the history through the engine on in-memory persistence and reads its events back.
    The clock starts three days before today: the DynamoDB store walks its daily indexes back
    from today, so its lists must see these days as recent."""
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = ManualClock(today - timedelta(days=3))
    container = build(Settings(persistence="popo"), clock=clock)
    try:
        engine = container.engine
        a = f"mfr_{register(engine, name='A', fee_bps=250, refund_fee_policy='refund_fee').id.hex}"
        b = f"mfr_{register(engine, name='B', fee_bps=0, refund_fee_policy='keep_fee').id.hex}"
        container.keys.create(["payments:read"])
        engine.execute(periods.close(SYSTEM, "2020-01"))  # the books, closed long ago
        p1 = f"pay_{create_payment(engine, a, 1000).id.hex}"
        clock.advance(days=1)
        shared = [{"manufacturer_id": a, "amount": 600}, {"manufacturer_id": b, "amount": 400}]
        p2 = f"pay_{create_payment(engine, a, 1000, splits=shared, capture_method='manual').id.hex}"
        clock.advance(minutes=5)
        engine.execute(payments.capture(SYSTEM, p2, None))
        clock.advance(minutes=5)
        _, r1 = engine.execute(refunds.request(SYSTEM, p1, 300, None))
        container.settle()  # the refund workflow executes r1
        _, key = container.keys.create(
            ["payments:read"], label="reader", expires_at=clock.now + timedelta(days=30)
        )
        container.keys.revoke(SYSTEM, f"key_{key.id.hex}")
        clock.advance(days=1)
        p3 = f"pay_{create_payment(engine, b, 500, currency='EUR').id.hex}"
        clock.advance(minutes=5)
        _, dispute = engine.execute(disputes.open_(SYSTEM, p3, 100, None))
        engine.execute(disputes.close(SYSTEM, dispute, "lost"))
        clock.advance(minutes=5)
        engine.execute(payouts.request(SYSTEM, a, 200, "USD"))
        container.settle()  # the payout workflow pays it
        clock.advance(minutes=5)
        p4 = f"pay_{create_payment(engine, a, 700, capture_method='manual').id.hex}"
        clock.advance(minutes=5)
        _, r2 = engine.execute(refunds.request(SYSTEM, p2, 500, None))  # never executed
        days = [(clock.now - timedelta(days=n)).date() for n in (2, 1, 0)]
        items = tracked_changes(engine)
    finally:
        container.close()
    return History(items, days, a, b, p1, p2, p3, p4, r1, r2)


# ----- what the changes say a store must answer -------------------------------------------
def posted(
    items: list[TrackedChanges], as_of: str | None = None
) -> dict[tuple[str, str], list[int]]:
    """(account, currency) -> [debits, credits] of every posting, up to as_of."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in items:
        for change in item.changes:
            if isinstance(change, Post) and (as_of is None or change.at <= as_of):
                side = 0 if change.amount > 0 else 1
                totals[(change.account, change.currency)][side] += abs(change.amount)
    return totals


def expected_trial_balance(items: list[TrackedChanges], prefix: str | None) -> list[dict[str, Any]]:
    return [
        {"account": account, "currency": currency, "debits": debits, "credits": credits}
        for (account, currency), (debits, credits) in sorted(
            posted(items).items(), key=lambda entry: (entry[0][1], entry[0][0])
        )
        if prefix is None or account.startswith(prefix)
    ]


def expected_report_days(items: list[TrackedChanges], manufacturer_id: str) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        for change in item.changes:
            if isinstance(change, Increment) and change.table == "report_days":
                if change.key["manufacturer_id"] != manufacturer_id:
                    continue
                key = (change.key["currency"], change.key["day"])
                row = rows.setdefault(
                    key, {"currency": key[0], "day": key[1], **dict.fromkeys(REPORT_COLUMNS, 0)}
                )
                for column, delta in change.deltas.items():
                    row[column] += delta
    return [rows[key] for key in sorted(rows)]


def expected_statement_lines(items: list[TrackedChanges], owner: str) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        for change in item.changes:
            if (
                isinstance(change, Upsert)
                and change.table == "statement_lines"
                and change.key["owner"] == owner
            ):
                rows.setdefault(change.key["line_id"], dict(change.key)).update(change.values)
    return [_present(rows[key]) for key in sorted(rows)]


def _present(row: dict[str, Any]) -> dict[str, Any]:
    """A row's columns that hold something (a store may keep an empty column or omit it)."""
    return {k: v for k, v in row.items() if v is not None}


def report_row(row: dict[str, Any]) -> dict[str, Any]:
    """The columns every store's report_days rows carry."""
    return {k: row[k] for k in ("currency", "day", *REPORT_COLUMNS)}


def every_page(fetch: Callable[[str | None], Page], key: str) -> list[list[str]]:
    """The `key` column of each page's rows, following next_cursor from the first page on."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = fetch(cursor)
        pages.append([row[key] for row in page.rows])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def payment_ids(store: ReadModelStore, **filters: Any) -> list[str]:
    """One page of payments (as many as there are), newest first."""
    query: dict[str, Any] = {
        "manufacturer_id": None,
        "status": None,
        "created_from": None,
        "created_to": None,
        "cursor": None,
        "limit": 100,
    }
    return [row["payment_id"] for row in store.payments(**{**query, **filters}).rows]


def refund_ids(store: ReadModelStore, **filters: Any) -> list[str]:
    """One page of refunds (as many as there are), newest first."""
    query: dict[str, Any] = {
        "manufacturer_id": None,
        "payment_id": None,
        "status": None,
        "cursor": None,
        "limit": 100,
    }
    return [row["refund_id"] for row in store.refunds(**{**query, **filters}).rows]


def versions_of(items: list[TrackedChanges], aggregate_id: str) -> list[TrackedChanges]:
    return [item for item in items if item.aggregate_id == aggregate_id]


class ReadModelStoreContract(ListsContract, SettlementsContract):
    """What every read-model store does. A backend's subclass provides `new_store`: a factory
    of empty stores of that backend (each test may ask for more than one)."""

    @pytest.fixture
    def new_store(self) -> Iterator[Callable[[], ReadModelStore]]:
        raise NotImplementedError("each backend's subclass makes its own stores")

    @pytest.fixture
    def store(self, new_store: Callable[[], ReadModelStore]) -> ReadModelStore:
        return new_store()

    @pytest.fixture(scope="class")
    @classmethod
    def history(cls) -> History:
        """Recorded once per backend: the tests only read it."""
        return record_history()

    @pytest.fixture
    def applied(self, store: ReadModelStore, history: History) -> ReadModelStore:
        """The store with the whole history applied, in recorded order."""
        assert store.apply(history.items, None) == len(history.items)
        return store

    # ----- apply: per-aggregate version tracking -------------------------------------------------
    def test_applying_the_same_events_twice_changes_nothing(
        self, store: ReadModelStore, history: History
    ) -> None:
        items = history.items
        assert store.apply(items, None) == len(items)
        once = store.dump()
        assert store.apply(items, None) == 0
        assert store.apply(items[2:5], None) == 0
        assert store.dump() == once

    def test_a_seen_version_is_skipped_whatever_changes_it_carries(
        self, store: ReadModelStore, history: History
    ) -> None:
        first, *_ = versions_of(history.items, history.items[-1].aggregate_id)
        assert store.apply([first], None) == 1
        once = store.dump()
        again = dataclasses.replace(first, changes=history.items[-1].changes)
        assert store.apply([again], None) == 0
        assert store.dump() == once

    def test_a_gap_in_an_aggregates_versions_raises_and_applies_nothing_of_that_event(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        one, two, three, *_ = versions_of(history.items, history.items[-1].aggregate_id)
        store, only_the_first = new_store(), new_store()
        assert store.apply([one], None) == 1
        only_the_first.apply([one], None)
        with pytest.raises(ProjectionGap):
            store.apply([three], None)
        assert store.dump() == only_the_first.dump()
        # Refused, not skipped: once its predecessor has arrived it applies.
        assert store.apply([two, three], None) == 2

    def test_events_of_different_aggregates_may_arrive_in_any_order(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        in_order, by_aggregate = new_store(), new_store()
        in_order.apply(history.items, None)
        aggregates = sorted({item.aggregate_id for item in history.items}, reverse=True)
        for aggregate_id in aggregates:  # each aggregate's events still in version order
            by_aggregate.apply(versions_of(history.items, aggregate_id), None)
        assert by_aggregate.dump() == in_order.dump()
        assert by_aggregate.trial_balance(None) == in_order.trial_balance(None)

    # ----- statements and the books ------------------------------------------------------------
    def test_statement_lines_are_kept_per_owner_in_time_order(
        self, applied: ReadModelStore, history: History
    ) -> None:
        for owner in (history.a, history.b, "platform"):
            rows = [_present(row) for row in applied.statement_lines(owner)]
            assert rows == expected_statement_lines(history.items, owner), owner
            assert rows
        assert applied.statement_lines("mfr_nobody") == []

    def test_statements_from_the_store_close_on_the_payable_balances(
        self, applied: ReadModelStore, history: History
    ) -> None:
        closes = applied.period_closes()
        period = history.days[-1].strftime("%Y-%m")
        for manufacturer in (history.a, history.b):
            rows = applied.statement_lines(manufacturer)
            for section in statements.statement(rows, closes, period, "issued"):
                debits, credits = applied.balance(
                    f"manufacturer:{manufacturer}:payable", section["currency"], None
                )
                assert section["closing_balance"] == credits - debits

    def test_a_periods_window_of_lines_and_the_opening_of_the_rest(
        self, applied: ReadModelStore, history: History
    ) -> None:
        """What a statement reads: the lines recorded from the period's start and effective
        before its end, and per currency the sum of the payable moves recorded before."""
        moving = (
            "sale",
            "platform_fee",
            "refund",
            "fee_returned",
            "dispute_lost",
            "payout",
            "other",
        )
        for owner in (history.a, history.b, "platform"):
            every = applied.statement_lines(owner)
            for day in range(len(history.days)):
                start = history.start_of(day)
                end = history.start_of(day + 1) if day + 1 < len(history.days) else "9999"
                window = applied.statement_lines_from(owner, start, end)
                expected = [
                    r for r in every if r["recorded_at"] >= start and r["effective_at"] < end
                ]
                assert window == expected, (owner, day)
                opening: dict[str, int] = {}
                for row in every:
                    if row["recorded_at"] < start:
                        moved = sum(int(row.get(kind) or 0) for kind in moving)
                        opening[row["currency"]] = opening.get(row["currency"], 0) + moved
                assert applied.statement_opening(owner, start) == opening, (owner, day)
            assert applied.statement_opening(owner, "9999") != {}
        assert applied.statement_opening("mfr_nobody", "9999") == {}
        assert applied.statement_lines_from("mfr_nobody", "0", "9999") == []

    def test_the_closes_of_the_books(self, applied: ReadModelStore) -> None:
        (close,) = applied.period_closes()
        assert close["period"] == "2020-01"
        assert close["closed_by"] == "system"
        assert close["closed_at"].endswith("Z")

    # ----- balances --------------------------------------------------------------------------
    def test_balances_are_the_sums_of_the_postings(
        self, applied: ReadModelStore, history: History
    ) -> None:
        expected = posted(history.items)
        assert len(expected) > 5
        for (account, currency), (debits, credits) in expected.items():
            assert applied.balance(account, currency, None) == (debits, credits), account
        assert applied.balance(f"manufacturer:{history.a}:payable", "EUR", None) == (0, 0)
        assert applied.balance("nobody:payable", "USD", None) == (0, 0)

    def test_posted_to_tells_an_account_never_posted_to_from_a_zero_balance(
        self, applied: ReadModelStore, history: History
    ) -> None:
        expected = posted(history.items)
        for account, currency in expected:
            assert applied.posted_to(account, currency), (account, currency)
        assert not applied.posted_to(f"manufacturer:{history.a}:payable", "EUR")
        assert not applied.posted_to("nobody:payable", "USD")
        assert not applied.posted_to(f"manufacturer:{history.a}:payabl", "USD")  # a typo

    def test_a_balance_as_of_a_moment_counts_the_postings_up_to_it(
        self, applied: ReadModelStore, history: History
    ) -> None:
        payable = f"manufacturer:{history.a}:payable"
        end_of_day_0 = history.start_of(1)
        # p1's capture: 1000 less the 2.5 % fee credited to a.
        assert applied.balance(payable, "USD", end_of_day_0) == (0, 975)
        assert applied.balance(payable, "USD", history.start_of(0)) == (0, 0)
        for as_of in (end_of_day_0, history.start_of(2)):
            for (account, currency), (debits, credits) in posted(history.items, as_of).items():
                assert applied.balance(account, currency, as_of) == (debits, credits), account
        assert applied.balance(payable, "USD", history.start_of(2)) != applied.balance(
            payable, "USD", None
        )

    def test_the_trial_balance_lists_every_account_by_currency_then_account(
        self, applied: ReadModelStore, history: History
    ) -> None:
        trial = applied.trial_balance(None)
        assert trial == expected_trial_balance(history.items, None)
        assert {row["currency"] for row in trial} == {"EUR", "USD"}
        for currency in ("EUR", "USD"):
            rows = [row for row in trial if row["currency"] == currency]
            assert sum(row["debits"] - row["credits"] for row in rows) == 0

    def test_the_trial_balance_of_an_account_prefix(
        self, applied: ReadModelStore, history: History
    ) -> None:
        payables = applied.trial_balance("manufacturer:")
        assert payables == expected_trial_balance(history.items, "manufacturer:")
        assert {row["account"] for row in payables} == {
            f"manufacturer:{history.a}:payable",
            f"manufacturer:{history.b}:payable",
        }
        own = applied.trial_balance(f"manufacturer:{history.b}:")
        assert [(row["account"], row["currency"]) for row in own] == [
            (f"manufacturer:{history.b}:payable", "EUR"),
            (f"manufacturer:{history.b}:payable", "USD"),
        ]
        assert applied.trial_balance("nobody:") == []

    # ----- payments and refunds: lists, pages, filters ---------------------------------------
    @pytest.mark.parametrize("limit", [1, 3])
    def test_payments_are_listed_newest_first_page_by_page(
        self, applied: ReadModelStore, history: History, limit: int
    ) -> None:
        pages = every_page(
            lambda cursor: applied.payments(
                manufacturer_id=None,
                status=None,
                created_from=None,
                created_to=None,
                cursor=cursor,
                limit=limit,
            ),
            "payment_id",
        )
        newest_first = [history.p4, history.p3, history.p2, history.p1]
        assert [i for page in pages for i in page] == newest_first
        assert [len(page) for page in pages[:-1]] == [limit] * (len(pages) - 1)
        assert 1 <= len(pages[-1]) <= limit

    def test_a_payment_row_carries_its_state(
        self, applied: ReadModelStore, history: History
    ) -> None:
        rows = applied.payments(
            manufacturer_id=history.b,
            status=None,
            created_from=None,
            created_to=None,
            cursor=None,
            limit=10,
        ).rows
        shared = next(row for row in rows if row["payment_id"] == history.p2)
        assert shared["manufacturer_ids"] == [history.a, history.b]
        assert (shared["status"], shared["amount"], shared["currency"]) == ("captured", 1000, "USD")
        assert (shared["amount_captured"], shared["amount_refunded"]) == (1000, 500)
        disputed = next(row for row in rows if row["payment_id"] == history.p3)
        assert disputed["manufacturer_ids"] == [history.b]
        assert (disputed["currency"], disputed["amount_dispute_lost"]) == ("EUR", 100)

    def test_payments_filtered_by_status_manufacturer_and_creation_time(
        self, applied: ReadModelStore, history: History
    ) -> None:
        since = {"created_from": history.start_of(0)}
        assert payment_ids(applied, status="authorized", **since) == [history.p4]
        assert payment_ids(applied, status="captured", **since) == [
            history.p3,
            history.p2,
            history.p1,
        ]
        assert payment_ids(applied, status="voided", **since) == []
        assert payment_ids(applied, manufacturer_id=history.a) == [
            history.p4,
            history.p2,
            history.p1,
        ]
        assert payment_ids(applied, manufacturer_id=history.a, exclusive=True) == [
            history.p4,
            history.p1,
        ]
        assert payment_ids(applied, manufacturer_id=history.b) == [history.p3, history.p2]
        assert payment_ids(applied, manufacturer_id=history.b, exclusive=True) == [history.p3]
        assert payment_ids(applied, manufacturer_id=history.b, status="authorized") == []
        # created_from inclusive, created_to exclusive
        day_1 = {"created_from": history.start_of(1), "created_to": history.start_of(2)}
        assert payment_ids(applied, **day_1) == [history.p2]
        assert payment_ids(applied, manufacturer_id=history.a, **day_1) == [history.p2]
        assert payment_ids(applied, created_from=history.start_of(2)) == [history.p4, history.p3]
        assert payment_ids(applied, manufacturer_id="mfr_" + "0" * 32) == []

    def test_a_filtered_list_pages_with_its_filter(
        self, applied: ReadModelStore, history: History
    ) -> None:
        pages = every_page(
            lambda cursor: applied.payments(
                manufacturer_id=history.a,
                status="captured",
                created_from=None,
                created_to=None,
                cursor=cursor,
                limit=1,
            ),
            "payment_id",
        )
        assert pages == [[history.p2], [history.p1]]

    def test_refunds_are_listed_newest_first_and_filtered(
        self, applied: ReadModelStore, history: History
    ) -> None:
        assert refund_ids(applied) == [history.r2, history.r1]
        assert every_page(
            lambda cursor: applied.refunds(
                manufacturer_id=None, payment_id=None, status=None, cursor=cursor, limit=1
            ),
            "refund_id",
        ) == [[history.r2], [history.r1]]
        assert refund_ids(applied, status="succeeded") == [history.r1]
        assert refund_ids(applied, manufacturer_id=history.a, exclusive=True) == [history.r1]
        # The rest within one payment (a list of all refunds is a long walk on some stores).
        p1, p2 = {"payment_id": history.p1}, {"payment_id": history.p2}
        assert refund_ids(applied, **p2) == [history.r2]
        assert refund_ids(applied, payment_id=history.p3) == []
        assert refund_ids(applied, status="pending", **p2) == [history.r2]
        assert refund_ids(applied, status="succeeded", **p2) == []
        assert refund_ids(applied, manufacturer_id=history.a, **p2) == [history.r2]
        assert refund_ids(applied, manufacturer_id=history.b, **p2) == [history.r2]
        assert refund_ids(applied, manufacturer_id=history.b, exclusive=True, **p2) == []
        assert refund_ids(applied, manufacturer_id=history.a, exclusive=True, **p1) == [history.r1]
        assert refund_ids(applied, manufacturer_id=history.b, **p1) == []
        (row,) = applied.refunds(
            manufacturer_id=None, payment_id=history.p1, status=None, cursor=None, limit=10
        ).rows
        assert (row["payment_id"], row["amount"], row["status"]) == (history.p1, 300, "succeeded")

    @pytest.mark.parametrize(
        "cursor",
        ["garbage!", "bm90IGpzb24", "WzEsMl0"],
        ids=["not-base64", "not-json", "not-two-strings"],  # the last is [1,2]
    )
    def test_a_malformed_cursor_is_refused(
        self, applied: ReadModelStore, history: History, cursor: str
    ) -> None:
        with pytest.raises(BadCursor):
            payment_ids(applied, cursor=cursor)
        with pytest.raises(BadCursor):
            payment_ids(applied, manufacturer_id=history.a, cursor=cursor)
        with pytest.raises(BadCursor):
            refund_ids(applied, cursor=cursor)
        with pytest.raises(BadCursor):
            refund_ids(applied, payment_id=history.p1, cursor=cursor)

    # ----- reports and the rest ---------------------------------------------------------------
    def test_report_days_sum_each_days_increments(
        self, applied: ReadModelStore, history: History
    ) -> None:
        first, _, last = (day.isoformat() for day in history.days)
        after = (history.days[-1] + timedelta(days=1)).isoformat()
        for manufacturer_id in (history.a, history.b):
            rows = [report_row(r) for r in applied.report_days(manufacturer_id, first, after)]
            assert rows == expected_report_days(history.items, manufacturer_id)
        rows = [report_row(r) for r in applied.report_days(history.a, first, after)]
        assert rows[0] == {
            "currency": "USD",
            "day": first,
            "gross_captured": 1000,
            "fees": 25,
            "refunds": 0,
            "disputes_lost": 0,
            "payouts": 0,
        }
        assert [r["payouts"] for r in rows] == [0, 0, 200]
        # day_from inclusive, day_to exclusive
        assert [r["day"] for r in applied.report_days(history.a, first, last)] == [
            first,
            history.days[1].isoformat(),
        ]
        assert applied.report_days(history.a, after, after) == []
        assert applied.report_days("mfr_" + "0" * 32, first, after) == []

    def test_currencies_of_a_manufacturer(self, applied: ReadModelStore, history: History) -> None:
        assert applied.currencies_of(history.a) == ["USD"]
        assert applied.currencies_of(history.b) == ["EUR", "USD"]
        assert applied.currencies_of("mfr_" + "0" * 32) == []

    def test_api_keys_are_counted(self, store: ReadModelStore, history: History) -> None:
        assert store.count_api_keys() == 0
        store.apply(history.items, None)
        assert store.count_api_keys() == 2

    def test_api_keys_are_listed_with_their_terms(
        self, applied: ReadModelStore, history: History
    ) -> None:
        plain, row = applied.api_keys()  # oldest first
        assert plain.get("label") is None  # DynamoDB: no attribute; SQLite: NULL
        assert plain["revoked"] == 0
        assert row["key_id"].startswith("key_")
        assert (row["scopes"], row["label"], row["manufacturer_id"]) == (
            "payments:read",
            "reader",
            None,
        )
        assert row["created_at"].startswith(history.days[1].isoformat())
        assert row["expires_at"].startswith((history.days[1] + timedelta(days=30)).isoformat())
        assert row["revoked"] == 1
        assert row["revoked_at"] == row["created_at"]
        assert row.get("last_used_at") is None

    # ----- reset, replace_all, dump -----------------------------------------------------------
    def test_reset_empties_every_read_model_and_forgets_versions(
        self, applied: ReadModelStore, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        applied.reset()
        assert applied.dump() == new_store().dump()
        assert applied.trial_balance(None) == []
        assert payment_ids(applied, created_from=history.start_of(0)) == []
        assert applied.count_api_keys() == 0
        assert applied.apply(history.items, None) == len(history.items)
        assert applied.trial_balance(None) == expected_trial_balance(history.items, None)

    def test_replace_all_equals_applying_the_history_to_an_empty_store(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        incremental, rebuilt = new_store(), new_store()
        incremental.apply(history.items, None)
        half = len(history.items) // 2
        rebuilt.apply(history.items[:half], None)  # whatever it held before is replaced
        batches = [
            (history.items[start : start + 5], start + 5)
            for start in range(0, len(history.items), 5)
        ]
        assert rebuilt.replace_all(iter(batches)) == len(history.items)
        assert rebuilt.dump() == incremental.dump()
        assert rebuilt.trial_balance(None) == expected_trial_balance(history.items, None)

    def test_dump_lists_every_row_in_a_stable_order(
        self, new_store: Callable[[], ReadModelStore], history: History
    ) -> None:
        empty = new_store().dump()
        whole, in_batches = new_store(), new_store()
        whole.apply(history.items, None)
        for start in range(0, len(history.items), 3):
            in_batches.apply(history.items[start : start + 3], None)
        assert whole.dump() == in_batches.dump()
        assert whole.dump() != empty
        assert sum(len(rows) for rows in whole.dump().values()) > len(history.items)

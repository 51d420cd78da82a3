"""The lists of the read-model store port (issue 12, item 7), run against every backend through
ReadModelStoreContract: payouts, disputes, manufacturers and subscriptions, from a small history
of their own recorded through the engine, newest first, filtered and paged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.application.commands import disputes, payouts, subscriptions
from ledger.application.principal import SYSTEM, Principal
from ledger.bootstrap import build
from ledger.settings import Settings
from projections.cursor import BadCursor
from projections.store import Page, ReadModelStore, TrackedChanges
from tests.conftest import ManualClock
from tests.support.events import tracked_changes
from tests.support.seed import create_payment, register

APPROVER = Principal(key_id="key_x", scopes=frozenset({"admin"}))


@dataclass(frozen=True)
class Lists:
    items: list[TrackedChanges]
    a: str  # manufacturer registered first; payouts over 1000 need two approvals
    b: str
    po1: str  # a, 100: approved (no approval needed)
    po2: str  # a, 2000: pending approval, approved once by key_x
    po3: str  # b, 300: approved
    d1: str  # on a payment wholly a's: open
    d2: str  # on a payment shared by a and b: lost
    s1: str  # a's: active
    s2: str  # a's and b's: canceled
    s3: str  # b's: active
    d1_due: str  # d1's evidence due date (d2's is a day earlier)


def record_lists() -> Lists:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = ManualClock(today - timedelta(days=3))
    container = build(Settings(persistence="popo"), clock=clock)
    try:
        engine = container.engine

        def step() -> None:
            clock.advance(minutes=7)

        a = register(
            engine,
            name="A",
            fee_bps=0,
            refund_fee_policy="keep_fee",
            payout_approval_threshold={"USD": 1000},
            payout_approvals_required=2,
        )
        step()
        b = register(engine, name="B", fee_bps=0, refund_fee_policy="keep_fee")
        a_id, b_id = f"mfr_{a.id.hex}", f"mfr_{b.id.hex}"
        own = create_payment(engine, a_id, 5000)
        shared = [
            {"manufacturer_id": a_id, "amount": 2500},
            {"manufacturer_id": b_id, "amount": 2500},
        ]
        both = create_payment(engine, a_id, 5000, splits=shared)
        create_payment(engine, b_id, 5000)
        clock.advance(days=1)
        po1 = engine.execute(payouts.request(SYSTEM, a_id, 100, "USD"))
        step()
        po2 = engine.execute(payouts.request(SYSTEM, a_id, 2000, "USD"))
        step()
        po3 = engine.execute(payouts.request(SYSTEM, b_id, 300, "USD"))
        step()
        engine.execute(payouts.approve(APPROVER, f"po_{po2.id.hex}"))
        clock.advance(days=1)
        d1_due = today + timedelta(days=10)
        d1_due_text = d1_due.strftime("%Y-%m-%dT%H:%M:%SZ")
        _, d1 = engine.execute(
            disputes.open_(SYSTEM, f"pay_{own.id.hex}", 100, None, None, d1_due_text)
        )
        step()
        d2_due = (d1_due - timedelta(days=1)).isoformat()
        _, d2 = engine.execute(
            disputes.open_(SYSTEM, f"pay_{both.id.hex}", 200, None, None, d2_due)
        )
        step()
        engine.execute(disputes.close(SYSTEM, d2, "lost"))
        made = []
        for splits in (
            [{"manufacturer_id": a_id, "amount": 900}],
            [{"manufacturer_id": a_id, "amount": 450}, {"manufacturer_id": b_id, "amount": 450}],
            [{"manufacturer_id": b_id, "amount": 900}],
        ):
            step()
            fields: dict[str, Any] = {
                "customer_id": "cus_1",
                "payment_method": "pm_tok_visa",
                "amount": 900,
                "currency": "USD",
                "interval": "monthly",
                "start_on": (today + timedelta(days=30)).date(),
                "splits": splits,
            }
            made.append(f"sub_{engine.execute(subscriptions.start(SYSTEM, fields)).id.hex}")
        step()
        engine.execute(subscriptions.cancel(SYSTEM, made[1], None))
        items = tracked_changes(engine)
    finally:
        container.close()
    return Lists(
        items,
        a_id,
        b_id,
        f"po_{po1.id.hex}",
        f"po_{po2.id.hex}",
        f"po_{po3.id.hex}",
        d1,
        d2,
        *made,
        d1_due=d1_due.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )


def ids_of(page: Page, key: str) -> list[str]:
    return [row[key] for row in page.rows]


def every_id(fetch: Callable[[str | None], Page], key: str) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = fetch(cursor)
        pages.append(ids_of(page, key))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


class ListsContract:
    @pytest.fixture(scope="class")
    @classmethod
    def lists(cls) -> Lists:
        return record_lists()

    @pytest.fixture
    def listed(self, store: ReadModelStore, lists: Lists) -> ReadModelStore:
        assert store.apply(lists.items, None) == len(lists.items)
        return store

    @staticmethod
    def _payouts(store: ReadModelStore, **filters: Any) -> list[str]:
        query: dict[str, Any] = {
            "manufacturer_id": None,
            "status": None,
            "awaiting_approval_by": None,
            "cursor": None,
            "limit": 100,
        }
        return ids_of(store.payouts(**{**query, **filters}), "payout_id")

    def test_payouts_newest_first_filtered_and_paged(
        self, listed: ReadModelStore, lists: Lists
    ) -> None:
        assert self._payouts(listed) == [lists.po3, lists.po2, lists.po1]
        assert self._payouts(listed, manufacturer_id=lists.a) == [lists.po2, lists.po1]
        assert self._payouts(listed, status="pending_approval") == [lists.po2]
        assert self._payouts(listed, manufacturer_id=lists.b, status="pending_approval") == []
        assert every_id(
            lambda cursor: listed.payouts(
                manufacturer_id=None,
                status=None,
                awaiting_approval_by=None,
                cursor=cursor,
                limit=2,
            ),
            "payout_id",
        ) == [[lists.po3, lists.po2], [lists.po1]]
        row = listed.payouts(
            manufacturer_id=lists.b, status=None, awaiting_approval_by=None, cursor=None, limit=5
        ).rows[0]
        assert (row["amount"], row["currency"], row["status"]) == (300, "USD", "approved")
        assert row["requested_by"] == SYSTEM.key_id

    def test_payouts_awaiting_one_approvers_approval(
        self, listed: ReadModelStore, lists: Lists
    ) -> None:
        assert self._payouts(listed, awaiting_approval_by="key_y") == [lists.po2]
        assert self._payouts(listed, awaiting_approval_by=APPROVER.key_id) == []  # approved it
        assert self._payouts(listed, awaiting_approval_by=SYSTEM.key_id) == []  # requested it
        assert self._payouts(listed, awaiting_approval_by="key_y", manufacturer_id=lists.b) == []

    def test_disputes_newest_first_by_status_owner_and_time(
        self, listed: ReadModelStore, lists: Lists
    ) -> None:
        def ids(**filters: Any) -> list[str]:
            query: dict[str, Any] = {
                "manufacturer_id": None,
                "status": None,
                "created_from": None,
                "created_to": None,
                "cursor": None,
                "limit": 100,
            }
            return ids_of(listed.disputes(**{**query, **filters}), "dispute_id")

        assert ids() == [lists.d2, lists.d1]
        assert ids(status="open") == [lists.d1]
        assert ids(status="lost") == [lists.d2]
        assert ids(manufacturer_id=lists.a) == [lists.d2, lists.d1]
        assert ids(manufacturer_id=lists.a, exclusive=True) == [lists.d1]
        assert ids(manufacturer_id=lists.b) == [lists.d2]
        assert ids(manufacturer_id=lists.b, exclusive=True) == []
        (lost,) = listed.disputes(
            manufacturer_id=None,
            status="lost",
            created_from=None,
            created_to=None,
            cursor=None,
            limit=5,
        ).rows
        assert (lost["amount"], lost["currency"]) == (200, "USD")
        d2_at = lost["created_at"]
        assert ids(created_from=d2_at) == [lists.d2]
        assert ids(created_to=d2_at) == [lists.d1]
        # the evidence due date: kept as fixed-width UTC text, d2's a day before d1's
        d2_due = (datetime.fromisoformat(lists.d1_due) - timedelta(days=1)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        assert lost["evidence_due_by"] == d2_due
        assert ids(due_before=lists.d1_due) == [lists.d2]
        assert ids(due_after=lists.d1_due) == [lists.d1]  # inclusive
        assert ids(due_after=d2_due, due_before=lists.d1_due) == [lists.d2]
        assert ids(due_after=lists.d1_due, status="lost") == []
        assert ids(due_before=d2_due) == []  # exclusive
        assert ids(due_before=lists.d1_due, manufacturer_id=lists.a, exclusive=True) == []
        assert every_id(
            lambda cursor: listed.disputes(
                manufacturer_id=None,
                status=None,
                created_from=None,
                created_to=None,
                cursor=cursor,
                limit=1,
            ),
            "dispute_id",
        ) == [[lists.d2], [lists.d1]]

    def test_manufacturers_newest_first(self, listed: ReadModelStore, lists: Lists) -> None:
        pages = every_id(
            lambda cursor: listed.manufacturers(manufacturer_id=None, cursor=cursor, limit=1),
            "manufacturer_id",
        )
        assert pages == [[lists.b], [lists.a]]
        (row,) = listed.manufacturers(manufacturer_id=lists.a, cursor=None, limit=5).rows
        assert (row["name"], row["fee_bps"], row["refund_fee_policy"]) == ("A", 0, "keep_fee")
        assert row["created_at"] < row["updated_at"] or row["created_at"] == row["updated_at"]

    def test_subscriptions_by_status_and_owner(self, listed: ReadModelStore, lists: Lists) -> None:
        def ids(**filters: Any) -> list[str]:
            query: dict[str, Any] = {
                "manufacturer_id": None,
                "status": None,
                "cursor": None,
                "limit": 100,
            }
            return ids_of(listed.subscriptions(**{**query, **filters}), "subscription_id")

        assert ids() == [lists.s3, lists.s2, lists.s1]
        assert ids(status="active") == [lists.s3, lists.s1]
        assert ids(status="canceled") == [lists.s2]
        assert ids(status="past_due") == []
        assert ids(manufacturer_id=lists.a) == [lists.s2, lists.s1]
        assert ids(manufacturer_id=lists.a, exclusive=True) == [lists.s1]
        assert ids(manufacturer_id=lists.b, status="active") == [lists.s3]
        rows = listed.subscriptions(manufacturer_id=None, status=None, cursor=None, limit=5).rows
        shared = next(row for row in rows if row["subscription_id"] == lists.s2)
        assert shared["status"] == "canceled"
        assert shared["manufacturer_ids"] == [lists.a, lists.b]
        assert (shared["amount"], shared["interval"]) == (900, "monthly")
        assert every_id(
            lambda cursor: listed.subscriptions(
                manufacturer_id=None, status=None, cursor=cursor, limit=2
            ),
            "subscription_id",
        ) == [[lists.s3, lists.s2], [lists.s1]]

    def test_a_malformed_cursor_is_refused_by_every_list(self, listed: ReadModelStore) -> None:
        cursor = "bm90IGpzb24"
        with pytest.raises(BadCursor):
            self._payouts(listed, cursor=cursor)
        with pytest.raises(BadCursor):
            listed.manufacturers(manufacturer_id=None, cursor=cursor, limit=5)
        with pytest.raises(BadCursor):
            listed.subscriptions(manufacturer_id=None, status=None, cursor=cursor, limit=5)
        with pytest.raises(BadCursor):
            listed.disputes(
                manufacturer_id=None,
                status=None,
                created_from=None,
                created_to=None,
                cursor=cursor,
                limit=5,
            )

"""SQLite read-model store: the embedded runtime's projections, one transaction per batch."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import uuid4

from projections.changes import TABLES, Increment, Post, Upsert
from projections.cursor import decode_cursor
from projections.logic import MOVEMENT_KINDS, subscription_status
from projections.store import Page, ProjectionGap, TrackedChanges, page_of

_META = """
CREATE TABLE IF NOT EXISTS rm_tracking (aggregate_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rm_position (
    name TEXT PRIMARY KEY, notification_id INTEGER NOT NULL, updated_at TEXT);
CREATE TABLE IF NOT EXISTS rm_postings (
    seq INTEGER PRIMARY KEY, account TEXT NOT NULL, currency TEXT NOT NULL,
    amount INTEGER NOT NULL, at TEXT NOT NULL, entry_ref TEXT NOT NULL);
-- covering (amount included): a balance as of a moment is summed from the index alone
DROP INDEX IF EXISTS rm_postings_by_account;
CREATE INDEX IF NOT EXISTS rm_postings_by_account_at
    ON rm_postings (account, currency, at, amount);
CREATE TABLE IF NOT EXISTS rm_balances (
    account TEXT NOT NULL, currency TEXT NOT NULL, debits INTEGER NOT NULL,
    credits INTEGER NOT NULL, PRIMARY KEY (account, currency));
CREATE INDEX IF NOT EXISTS rm_payments_by_created ON rm_payments (created_at, payment_id);
CREATE INDEX IF NOT EXISTS rm_pm_by_manufacturer
    ON rm_payment_manufacturers (manufacturer_id, created_at, payment_id);
CREATE INDEX IF NOT EXISTS rm_refunds_by_payment ON rm_refunds (payment_id);
CREATE INDEX IF NOT EXISTS rm_rm_by_manufacturer ON rm_refund_manufacturers (manufacturer_id);
CREATE INDEX IF NOT EXISTS rm_payouts_by_created ON rm_payouts (created_at, payout_id);
CREATE INDEX IF NOT EXISTS rm_payouts_by_manufacturer
    ON rm_payouts (manufacturer_id, created_at, payout_id);
CREATE INDEX IF NOT EXISTS rm_disputes_by_created ON rm_disputes (created_at, dispute_id);
CREATE INDEX IF NOT EXISTS rm_subscriptions_by_created
    ON rm_subscriptions (created_at, subscription_id);
CREATE INDEX IF NOT EXISTS rm_sm_by_manufacturer
    ON rm_subscription_manufacturers (manufacturer_id, created_at, subscription_id);
"""
_META_TABLES = ("rm_tracking", "rm_position", "rm_postings", "rm_balances")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_IDS_PER_QUERY = 500


class _RowFold:
    """What a batch's changes to one read-model row add up to, in the order they came: an
    Upsert sets its columns, an Increment adds to its columns (to a column set earlier in the
    batch, whose value is then known, it adds at once: COALESCE(value, 0) + delta). Applied as
    one INSERT ... ON CONFLICT DO UPDATE, which leaves a new or an existing row exactly as the
    changes one by one would have."""

    __slots__ = ("adds", "key", "sets", "table")

    def __init__(self, table: str, key: dict[str, Any]) -> None:
        self.table = table
        self.key = key
        self.sets: dict[str, Any] = {}  # column -> value it is set to
        self.adds: dict[str, int] = {}  # column -> delta still to add to the stored value

    def set(self, values: dict[str, Any]) -> None:
        adds = self.adds
        if adds:
            for column in values:
                adds.pop(column, None)
        self.sets.update(values)

    def add(self, deltas: dict[str, int]) -> None:
        sets, adds = self.sets, self.adds
        for column, delta in deltas.items():
            if column in sets:
                value = sets[column]
                sets[column] = (0 if value is None else value) + delta
            else:
                adds[column] = adds.get(column, 0) + delta

    def statement(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(the statement's shape, its parameters); rows of one shape share one statement."""
        sets, adds = self.sets, self.adds
        shape = (self.table, tuple(self.key), tuple(sets), tuple(adds))
        return shape, (*self.key.values(), *sets.values(), *adds.values())


@lru_cache(maxsize=512)
def _upsert_sql(shape: tuple[Any, ...]) -> str:
    table, keys, sets, adds = shape
    names = [*keys, *sets, *adds]
    updates = ", ".join(
        [
            *(f"{c}=excluded.{c}" for c in sets),
            *(f"{c}=COALESCE({c}, 0)+excluded.{c}" for c in adds),
        ]
    )
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return (
        f"INSERT INTO rm_{table} ({', '.join(names)}) "  # noqa: S608 - identifiers are ours
        f"VALUES ({', '.join('?' for _ in names)}) ON CONFLICT ({', '.join(keys)}) {conflict}"
    )


class SqliteReadModels:
    def __init__(self, path: str) -> None:
        # An in-memory store must be one database shared by this object's connections.
        self._path = (
            f"file:rm-{uuid4().hex}?mode=memory&cache=shared" if path == ":memory:" else path
        )
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        with self._writer:
            self._drop_if_outdated(self._writer)
            for table, (keys, values) in TABLES.items():
                columns = ", ".join([*keys, *values])
                self._writer.execute(
                    f"CREATE TABLE IF NOT EXISTS rm_{table} ({columns}, "
                    f"PRIMARY KEY ({', '.join(keys)}))"
                )
            self._writer.executescript(_META)
            self._add_new_columns()

    def _add_new_columns(self) -> None:
        """Files written before a table gained a column get it (empty: the events that fill it
        are newer than the file's rows)."""
        for table, (keys, values) in TABLES.items():
            present = {row[1] for row in self._writer.execute(f"PRAGMA table_info(rm_{table})")}
            for column in [*keys, *values]:
                if column not in present:
                    self._writer.execute(f"ALTER TABLE rm_{table} ADD COLUMN {column}")

    @staticmethod
    def _drop_if_outdated(db: sqlite3.Connection) -> None:
        """Read models whose tables lack a column this version writes are dropped whole, with
        their tracking and position, so the follower rebuilds them from the event store."""
        for table, (keys, values) in TABLES.items():
            found = {row[1] for row in db.execute(f"PRAGMA table_info(rm_{table})")}
            if found and found != {*keys, *values}:
                break
        else:
            return
        for table in [*(f"rm_{name}" for name in TABLES), *_META_TABLES]:
            db.execute(f"DROP TABLE IF EXISTS {table}")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, check_same_thread=False, isolation_level=None, timeout=30, uri=True
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        # Read models are rebuildable from the event store and the position commits with the
        # rows, so a lost last transaction after power loss is simply re-applied.
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    # ----- writes ----------------------------------------------------------------------------
    def apply(self, batch: Sequence[TrackedChanges], position: int | None) -> int:
        with self._transaction() as db:
            applied = self._apply(db, batch)
            if position is not None:
                self._set_position(db, position)
            return applied

    def _apply(self, db: sqlite3.Connection, batch: Sequence[TrackedChanges]) -> int:
        """One transaction for the batch, with its statements folded where order cannot matter:
        postings inserted together, each balance moved once by the batch's sum, each
        aggregate's tracking row read once (all of the batch's in one query) and written once,
        and each read-model row written once with what the batch's changes to it add up to
        (`_RowFold`), one executemany per statement shape (a payment's row is written by each
        of its events, a manufacturer's report day by each of its captures)."""
        applied = 0
        versions = self._versions(db, {item.aggregate_id for item in batch})
        moved: set[str] = set()
        postings: list[tuple[str, str, int, str, str]] = []
        balances: dict[tuple[str, str], list[int]] = {}
        rows: dict[tuple[Any, ...], _RowFold] = {}
        for item in batch:
            last = versions.get(item.aggregate_id, 0)
            if item.version <= last:
                continue
            if item.version != last + 1:
                raise ProjectionGap(f"{item.aggregate_id}: got version {item.version} after {last}")
            for change in item.changes:
                if type(change) is Post:
                    postings.append(
                        (
                            change.account,
                            change.currency,
                            change.amount,
                            change.at,
                            change.entry_ref,
                        )
                    )
                    sums = balances.get((change.account, change.currency))
                    if sums is None:
                        sums = balances[(change.account, change.currency)] = [0, 0]
                    if change.amount > 0:
                        sums[0] += change.amount
                    else:
                        sums[1] -= change.amount
                else:
                    assert isinstance(change, Upsert | Increment)
                    table = change.table
                    key = change.key
                    if tuple(key) != TABLES[table][0]:  # one row, one entry: the table's order
                        key = {column: key[column] for column in TABLES[table][0]}
                    where = (table, *key.values())
                    row = rows.get(where)
                    if row is None:
                        row = rows[where] = _RowFold(table, key)
                    if type(change) is Upsert:
                        row.set(change.values)
                    else:
                        assert isinstance(change, Increment)
                        row.add(change.deltas)
            versions[item.aggregate_id] = item.version
            moved.add(item.aggregate_id)
            applied += 1
        db.executemany(
            "INSERT INTO rm_postings (account, currency, amount, at, entry_ref) "
            "VALUES (?, ?, ?, ?, ?)",
            postings,
        )
        db.executemany(
            "INSERT INTO rm_balances (account, currency, debits, credits) VALUES (?,?,?,?) "
            "ON CONFLICT (account, currency) DO UPDATE SET "
            "debits=debits+excluded.debits, credits=credits+excluded.credits",
            [(account, currency, d, c) for (account, currency), (d, c) in balances.items()],
        )
        shapes: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
        for row in rows.values():
            shape, params = row.statement()
            shapes.setdefault(shape, []).append(params)
        for shape, params_list in shapes.items():
            db.executemany(_upsert_sql(shape), params_list)
        db.executemany(
            "INSERT INTO rm_tracking (aggregate_id, version) VALUES (?, ?) "
            "ON CONFLICT (aggregate_id) DO UPDATE SET version=excluded.version",
            [(aggregate_id, versions[aggregate_id]) for aggregate_id in moved],
        )
        return applied

    @staticmethod
    def _versions(db: sqlite3.Connection, aggregate_ids: set[str]) -> dict[str, int]:
        """The last applied version of each aggregate that has one."""
        wanted = list(aggregate_ids)
        found: dict[str, int] = {}
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            found.update(
                db.execute(
                    "SELECT aggregate_id, version FROM rm_tracking "  # noqa: S608 - marks only
                    f"WHERE aggregate_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        return found

    @staticmethod
    def _set_position(db: sqlite3.Connection, position: int) -> None:
        db.execute(
            "INSERT INTO rm_position (name, notification_id, updated_at) VALUES ('ledger', ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET notification_id=excluded.notification_id, "
            "updated_at=excluded.updated_at",
            (position, _now()),
        )

    def reset(self) -> None:
        with self._transaction() as db:
            self._clear(db)

    @staticmethod
    def _clear(db: sqlite3.Connection) -> None:
        for table in TABLES:
            db.execute(f"DELETE FROM rm_{table}")  # noqa: S608
        for table in _META_TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608

    def replace_all(self, batches: Iterator[tuple[list[TrackedChanges], int]]) -> int:
        """Rebuild: clear and re-apply every event in one transaction, so readers see either
        the old read models or the complete new ones."""
        applied = 0
        with self._transaction() as db:
            self._clear(db)
            for batch, position in batches:
                applied += self._apply(db, batch)
                self._set_position(db, position)
        return applied

    # ----- reads -----------------------------------------------------------------------------
    def position(self) -> tuple[int, str | None]:
        row = (
            self._reader()
            .execute("SELECT notification_id, updated_at FROM rm_position WHERE name='ledger'")
            .fetchone()
        )
        return (row[0], row[1]) if row else (0, None)

    def balance(self, account: str, currency: str, as_of: str | None) -> tuple[int, int]:
        if as_of is None:
            row = (
                self._reader()
                .execute(
                    "SELECT debits, credits FROM rm_balances WHERE account=? AND currency=?",
                    (account, currency),
                )
                .fetchone()
            )
        else:
            row = (
                self._reader()
                .execute(
                    "SELECT COALESCE(SUM(CASE WHEN amount>0 THEN amount ELSE 0 END), 0), "
                    "COALESCE(SUM(CASE WHEN amount<0 THEN -amount ELSE 0 END), 0) "
                    "FROM rm_postings WHERE account=? AND currency=? AND at<=?",
                    (account, currency, as_of),
                )
                .fetchone()
            )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def posted_to(self, account: str, currency: str) -> bool:
        row = (
            self._reader()
            .execute(
                "SELECT 1 FROM rm_balances WHERE account = ? AND currency = ?", (account, currency)
            )
            .fetchone()
        )
        return row is not None

    def trial_balance(self, account_prefix: str | None) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute(
                "SELECT account, currency, debits, credits FROM rm_balances "
                "ORDER BY currency, account"
            )
            .fetchall()
        )
        return [
            dict(row)
            for row in rows
            if account_prefix is None or row["account"].startswith(account_prefix)
        ]

    def _newest_first(
        self,
        *,
        table: str,
        key: str,
        owners: str,
        owner_key: str,
        filters: list[tuple[str, str, Any]],
        manufacturer_id: str | None,
        exclusive: bool,
        cursor: str | None,
        limit: int,
        clauses: tuple[tuple[str, tuple[Any, ...]], ...] = (),
    ) -> list[dict[str, Any]]:
        """Rows of rm_<table> newest first (created_at, then id), keyset-paginated.
        filters: (column, operator, value); None values are skipped. With manufacturer_id,
        only rows linked to it in rm_<owners> (and with exclusive, to it alone)."""
        where: list[str] = []
        params: list[Any] = []
        source = f"rm_{table} t"
        if manufacturer_id is not None:
            source += f" JOIN rm_{owners} m ON m.{owner_key} = t.{owner_key}"
            where.append("m.manufacturer_id = ?")
            params.append(manufacturer_id)
            if exclusive:
                # wholly its own: the payment (or subscription) has no other manufacturer
                whole, whole_key = (
                    ("subscription_manufacturers", "subscription_id")
                    if table == "subscriptions"
                    else ("payment_manufacturers", "payment_id")
                )
                where.append(
                    f"NOT EXISTS (SELECT 1 FROM rm_{whole} o "  # noqa: S608 - our identifiers
                    f"WHERE o.{whole_key} = t.{whole_key} AND o.manufacturer_id != ?)"
                )
                params.append(manufacturer_id)
        for column, operator, value in filters:
            if value is not None:
                where.append(f"t.{column} {operator} ?")
                params.append(value)
        for clause, values in clauses:
            where.append(clause)
            params += values
        if cursor is not None:
            created_at, row_id = decode_cursor(cursor)
            where.append(f"(t.created_at, t.{key}) < (?, ?)")
            params += [created_at, row_id]
        sql = f"SELECT t.* FROM {source}"  # noqa: S608 - identifiers are ours, values bound
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY t.created_at DESC, t.{key} DESC LIMIT ?"
        params.append(limit + 1)
        return [dict(r) for r in self._reader().execute(sql, params).fetchall()]

    def payments(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page:
        rows = self._newest_first(
            table="payments",
            key="payment_id",
            owners="payment_manufacturers",
            owner_key="payment_id",
            filters=[
                ("status", "=", status),
                ("created_at", ">=", created_from),
                ("created_at", "<", created_to),
            ],
            manufacturer_id=manufacturer_id,
            exclusive=exclusive,
            cursor=cursor,
            limit=limit,
        )
        for row in rows:
            row["manufacturer_ids"] = row["manufacturer_ids"].split(",")
        return page_of(rows, limit, "created_at", "payment_id")

    def refunds(
        self,
        *,
        manufacturer_id: str | None,
        payment_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page:
        rows = self._newest_first(
            table="refunds",
            key="refund_id",
            owners="refund_manufacturers",
            owner_key="refund_id",
            filters=[("payment_id", "=", payment_id), ("status", "=", status)],
            manufacturer_id=manufacturer_id,
            exclusive=exclusive,
            cursor=cursor,
            limit=limit,
        )
        return page_of(rows, limit, "created_at", "refund_id")

    def payouts(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        awaiting_approval_by: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        clauses: tuple[tuple[str, tuple[Any, ...]], ...] = ()
        if awaiting_approval_by is not None:
            status = "pending_approval"
            clauses = (
                (
                    "t.requested_by != ? AND NOT EXISTS (SELECT 1 FROM rm_payout_approvals a "
                    "WHERE a.payout_id = t.payout_id AND a.approver = ?)",
                    (awaiting_approval_by, awaiting_approval_by),
                ),
            )
        rows = self._newest_first(
            table="payouts",
            key="payout_id",
            owners="",
            owner_key="",
            filters=[("manufacturer_id", "=", manufacturer_id), ("status", "=", status)],
            manufacturer_id=None,
            exclusive=False,
            cursor=cursor,
            limit=limit,
            clauses=clauses,
        )
        return page_of(rows, limit, "created_at", "payout_id")

    def disputes(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        created_from: str | None,
        created_to: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
        due_after: str | None = None,
        due_before: str | None = None,
    ) -> Page:
        rows = self._newest_first(
            table="disputes",
            key="dispute_id",
            owners="payment_manufacturers",
            owner_key="payment_id",
            filters=[
                ("status", "=", status),
                ("created_at", ">=", created_from),
                ("created_at", "<", created_to),
                ("evidence_due_by", ">=", due_after),
                ("evidence_due_by", "<", due_before),
            ],
            manufacturer_id=manufacturer_id,
            exclusive=exclusive,
            cursor=cursor,
            limit=limit,
        )
        return page_of(rows, limit, "created_at", "dispute_id")

    def manufacturers(self, *, manufacturer_id: str | None, cursor: str | None, limit: int) -> Page:
        rows = self._newest_first(
            table="manufacturers",
            key="manufacturer_id",
            owners="",
            owner_key="",
            filters=[("manufacturer_id", "=", manufacturer_id)],
            manufacturer_id=None,
            exclusive=False,
            cursor=cursor,
            limit=limit,
        )
        return page_of(rows, limit, "created_at", "manufacturer_id")

    def subscriptions(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page:
        clauses: tuple[tuple[str, tuple[Any, ...]], ...] = ()
        if status == "canceled":
            clauses = (("t.canceled = 1", ()),)
        elif status is not None:
            clauses = (("t.canceled = 0 AND t.billing_status = ?", (status,)),)
        rows = self._newest_first(
            table="subscriptions",
            key="subscription_id",
            owners="subscription_manufacturers",
            owner_key="subscription_id",
            filters=[],
            manufacturer_id=manufacturer_id,
            exclusive=exclusive,
            cursor=cursor,
            limit=limit,
            clauses=clauses,
        )
        for row in rows:
            row["status"] = subscription_status(row)
            row["manufacturer_ids"] = row["manufacturer_ids"].split(",")
        return page_of(rows, limit, "created_at", "subscription_id")

    def report_days(self, manufacturer_id: str, day_from: str, day_to: str) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute(
                "SELECT currency, day, COALESCE(gross_captured,0) AS gross_captured, "
                "COALESCE(fees,0) AS fees, COALESCE(refunds,0) AS refunds, "
                "COALESCE(disputes_lost,0) AS disputes_lost, COALESCE(payouts,0) AS payouts "
                "FROM rm_report_days WHERE manufacturer_id=? AND day>=? AND day<? "
                "ORDER BY currency, day",
                (manufacturer_id, day_from, day_to),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def currencies_of(self, manufacturer_id: str) -> list[str]:
        account = f"manufacturer:{manufacturer_id}:payable"
        rows = (
            self._reader()
            .execute(
                "SELECT DISTINCT currency FROM rm_balances WHERE account=? "
                "UNION SELECT DISTINCT currency FROM rm_report_days WHERE manufacturer_id=? "
                "ORDER BY 1",
                (account, manufacturer_id),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def statement_lines(self, owner: str) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute("SELECT * FROM rm_statement_lines WHERE owner=? ORDER BY line_id", (owner,))
            .fetchall()
        )
        return [dict(r) for r in rows]

    # line_id starts with the recorded time (fixed width), so a bound on it is one on
    # recorded_at that the primary key (owner, line_id) serves.
    def statement_lines_from(
        self, owner: str, recorded_from: str, effective_before: str
    ) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute(
                "SELECT * FROM rm_statement_lines WHERE owner=? AND line_id>=? AND effective_at<? "
                "ORDER BY line_id",
                (owner, recorded_from, effective_before),
            )
            .fetchall()
        )
        return [dict(r) for r in rows]

    def statement_opening(self, owner: str, recorded_before: str) -> dict[str, int]:
        moved = " + ".join(f"COALESCE({kind}, 0)" for kind in MOVEMENT_KINDS)
        rows = (
            self._reader()
            .execute(
                f"SELECT currency, SUM({moved}) FROM rm_statement_lines "  # noqa: S608 - ours
                "WHERE owner=? AND line_id<? GROUP BY currency",
                (owner, recorded_before),
            )
            .fetchall()
        )
        return {row[0]: int(row[1]) for row in rows}

    def period_closes(self) -> list[dict[str, Any]]:
        rows = (
            self._reader()
            .execute("SELECT period, closed_at, closed_by FROM rm_period_closes ORDER BY period")
            .fetchall()
        )
        return [dict(r) for r in rows]

    def freshness(self) -> dict[str, Any]:
        position, updated_at = self.position()
        return {
            "source": "notification-log",
            "position": position,
            "head": None,
            "lag_events": None,
            "updated_at": updated_at,
        }

    def api_keys(self) -> list[dict[str, Any]]:
        rows = self._reader().execute("SELECT * FROM rm_api_keys ORDER BY created_at, key_id")
        return [dict(row) for row in rows]

    def count_api_keys(self) -> int:
        row = self._reader().execute("SELECT COUNT(*) FROM rm_api_keys").fetchone()
        return int(row[0])

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        out: dict[str, list[tuple[Any, ...]]] = {}
        db = self._reader()
        for table, (keys, values) in TABLES.items():
            cols = ", ".join([*keys, *values])
            out[table] = [
                tuple(r)
                for r in db.execute(f"SELECT {cols} FROM rm_{table} ORDER BY {cols}")  # noqa: S608
            ]
        out["postings"] = [
            tuple(r)
            for r in db.execute(
                "SELECT account, currency, amount, at, entry_ref FROM rm_postings "
                "ORDER BY entry_ref, account, currency, amount"
            )
        ]
        out["balances"] = [
            tuple(r) for r in db.execute("SELECT * FROM rm_balances ORDER BY account, currency")
        ]
        out["tracking"] = [
            tuple(r) for r in db.execute("SELECT * FROM rm_tracking ORDER BY aggregate_id")
        ]
        return out

    def close(self) -> None:
        self._writer.close()

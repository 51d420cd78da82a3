"""DynamoDB read-model store: the same changes as the SQLite store, in one table (pk, sk).

Each event's changes and its tracking item are one TransactWriteItems: the tracking item is
updated on condition that it holds the previous version, so a redelivered event fails that
condition and changes nothing, and an event arriving before its predecessor is refused
(ProjectionGap) for the stream to retry. Hot accounts (every payment posts to the platform fee
and provider receivable accounts) are spread over balance shards chosen by aggregate id and
summed on read, so no single item caps write throughput.

Item layout:
- rows of the logical tables (`projections.changes.TABLES`): pk `<table>#<key>...`, sk `row`
- balances: pk `balance#<account>#<currency>`, sk `shard#NN`, numbers `debits`, `credits`
- posting history: pk `posting#<account>#<currency>`, sk `<at>#<entry_ref>` (balances as of)
- list indexes, written once per new row: pk `ix#<index>#<value>`, sk `<created_at>#<id>`
  (payments, refunds, payouts, disputes, subscriptions by day; manufacturers in one partition)
- tracking: pk `tracking#<aggregate_id>`, sk `v`, number `version`
"""

from __future__ import annotations

import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from projections.changes import TABLES, Increment, Post, Upsert
from projections.cursor import decode_cursor
from projections.logic import MOVEMENT_KINDS, subscription_status
from projections.store import Page, ProjectionGap, TrackedChanges, page_of

BALANCE_SHARDS = 8
_HEARTBEAT = {"pk": {"S": "meta#projector"}, "sk": {"S": "heartbeat"}}
MAX_TRANSACTION_ITEMS = 100
CONFLICT_ATTEMPTS = 5
# Unbounded lists stop after this many days in a row without entries (pass created_from to
# reach past a longer gap); an empty day costs one small Query.
EMPTY_DAYS = 400


class TransactionTooLarge(Exception):
    """One event's changes do not fit one DynamoDB transaction."""


def _value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}


def _plain(attribute: dict[str, Any]) -> Any:
    if "N" in attribute:
        return int(attribute["N"])
    if "S" in attribute:
        return attribute["S"]
    if "BOOL" in attribute:
        return attribute["BOOL"]
    return None


def row_key(table: str, key: dict[str, Any]) -> dict[str, Any]:
    if table == "report_days":  # one partition per manufacturer, queried by currency and day
        return {
            "pk": {"S": f"report_days#{key['manufacturer_id']}"},
            "sk": {"S": f"{key['currency']}#{key['day']}"},
        }
    if table == "statement_lines":  # one partition per owner, in line (time) order
        return {
            "pk": {"S": f"statement_lines#{key['owner']}"},
            "sk": {"S": key["line_id"]},
        }
    if table == "period_closes":
        return {"pk": {"S": "period_closes"}, "sk": {"S": key["period"]}}
    keys, _ = TABLES[table]
    return {"pk": {"S": "#".join([table, *(str(key[k]) for k in keys)])}, "sk": {"S": "row"}}


def _due_within(due: str | None, after: str | None, before: str | None) -> bool:
    if after is None and before is None:
        return True
    if due is None:
        return False
    return (after is None or due >= after) and (before is None or due < before)


def shard_of(aggregate_id: str) -> int:
    return zlib.crc32(aggregate_id.encode()) % BALANCE_SHARDS


class _Updates:
    """Changes to one item merged into a single UpdateItem (a transaction may touch an item
    only once)."""

    def __init__(self, key: dict[str, Any]) -> None:
        self.key = key
        self.sets: dict[str, Any] = {}
        self.adds: dict[str, int] = defaultdict(int)

    def operation(self, table: str) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts = []
        if self.sets:
            clauses = []
            for index, (column, value) in enumerate(sorted(self.sets.items())):
                names[f"#s{index}"] = column
                values[f":s{index}"] = _value(value)
                clauses.append(f"#s{index} = :s{index}")
            parts.append("SET " + ", ".join(clauses))
        if self.adds:
            clauses = []
            for index, (column, delta) in enumerate(sorted(self.adds.items())):
                names[f"#a{index}"] = column
                values[f":a{index}"] = _value(delta)
                clauses.append(f"#a{index} :a{index}")
            parts.append("ADD " + ", ".join(clauses))
        return {
            "Update": {
                "TableName": table,
                "Key": self.key,
                "UpdateExpression": " ".join(parts),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }


class DynamoDBReadModels:
    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.table = table
        self.sleep = sleep
        self.write_units = 0.0  # consumed by apply_one, as DynamoDB reports it
        self.items_written = 0  # items in applied transactions (AWS bills 2 WCU per KB each)

    # ----- writes ----------------------------------------------------------------------------
    def replace_all(self, batches: Iterator[tuple[list[TrackedChanges], int]]) -> int:
        """Empty the read models, then apply every batch (positions mean nothing here)."""
        self.reset()
        return sum(self.apply(batch) for batch, _ in batches)

    def apply(self, batch: Sequence[TrackedChanges], position: int | None = None) -> int:
        applied = 0
        for item in batch:
            applied += self.apply_one(item)
        return applied

    def apply_one(self, item: TrackedChanges) -> int:
        """Returns 1 if applied, 0 if this version was already applied."""
        operations = self._operations(item)
        if len(operations) > MAX_TRANSACTION_ITEMS:
            raise TransactionTooLarge(
                f"{item.aggregate_id} v{item.version}: {len(operations)} items in one event"
            )
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                response = self.client.transact_write_items(
                    TransactItems=operations, ReturnConsumedCapacity="TOTAL"
                )
                break
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                codes = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    last = self.tracked_version(item.aggregate_id)
                    if last >= item.version:
                        return 0
                    raise ProjectionGap(
                        f"{item.aggregate_id}: got version {item.version} after {last}"
                    ) from error
                # Concurrent transactions on a shared item (a balance shard) cancel each other;
                # retry here rather than spend the stream's bounded retries on it.
                if "TransactionConflict" in codes and attempt < CONFLICT_ATTEMPTS - 1:
                    self.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311
                    continue
                raise
        self.items_written += len(operations)
        for consumed in response.get("ConsumedCapacity") or []:
            self.write_units += float(consumed.get("WriteCapacityUnits") or 0)
        return 1

    def tracked_version(self, aggregate_id: str) -> int:
        found = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"tracking#{aggregate_id}"}, "sk": {"S": "v"}},
            ConsistentRead=True,
        ).get("Item")
        return int(found["version"]["N"]) if found else 0

    def _operations(self, item: TrackedChanges) -> list[dict[str, Any]]:
        tracking: dict[str, Any] = {
            "Update": {
                "TableName": self.table,
                "Key": {"pk": {"S": f"tracking#{item.aggregate_id}"}, "sk": {"S": "v"}},
                "UpdateExpression": "SET version = :v",
                "ConditionExpression": (
                    "version = :prev" if item.version > 1 else "attribute_not_exists(version)"
                ),
                "ExpressionAttributeValues": {":v": _value(item.version)}
                | ({":prev": _value(item.version - 1)} if item.version > 1 else {}),
            }
        }
        updates: dict[tuple[str, str], _Updates] = {}
        puts: list[dict[str, Any]] = []

        def updates_for(key: dict[str, Any]) -> _Updates:
            ident = (key["pk"]["S"], key["sk"]["S"])
            if ident not in updates:
                updates[ident] = _Updates(key)
            return updates[ident]

        shard = shard_of(item.aggregate_id)
        for change in item.changes:
            if isinstance(change, Post):
                balance = updates_for(
                    {
                        "pk": {"S": f"balance#{change.account}#{change.currency}"},
                        "sk": {"S": f"shard#{shard:02d}"},
                    }
                )
                balance.sets.update(account=change.account, currency=change.currency)
                if change.amount > 0:
                    balance.adds["debits"] += change.amount
                else:
                    balance.adds["credits"] += -change.amount
                puts.append(self._put(self._posting(change)))
            elif isinstance(change, Upsert):
                updates_for(row_key(change.table, change.key)).sets.update(
                    {**change.key, **change.values}
                )
                puts += [self._put(index) for index in self._indexes(change)]
            else:
                assert isinstance(change, Increment)
                row = updates_for(row_key(change.table, change.key))
                row.sets.update(change.key)
                for column, delta in change.deltas.items():
                    row.adds[column] += delta
        return [tracking, *(u.operation(self.table) for u in updates.values()), *puts]

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self.table, "Item": item}}

    @staticmethod
    def _posting(change: Post) -> dict[str, Any]:
        return {
            "pk": {"S": f"posting#{change.account}#{change.currency}"},
            "sk": {"S": f"{change.at}#{change.entry_ref}"},
            "amount": _value(change.amount),
        }

    @staticmethod
    def _indexes(change: Upsert) -> list[dict[str, Any]]:
        """Index items for lists, written when a row is created (it carries created_at)."""
        created = change.values.get("created_at")
        if created is None:
            return []

        def index(name: str, value: str, row_id: str, **extra: Any) -> dict[str, Any]:
            return {
                "pk": {"S": f"ix#{name}#{value}"},
                "sk": {"S": f"{created}#{row_id}"},
                "id": {"S": row_id},
                **{k: _value(v) for k, v in extra.items()},
            }

        if change.table == "payments":
            return [index("payments", created[:10], change.key["payment_id"])]
        if change.table == "payment_manufacturers":
            return [
                index(
                    "mfr-payments",
                    change.key["manufacturer_id"],
                    change.key["payment_id"],
                    shared=bool(change.values.get("shared")),
                )
            ]
        if change.table == "refunds":
            return [
                index("refunds", created[:10], change.key["refund_id"]),
                index("payment-refunds", change.values["payment_id"], change.key["refund_id"]),
            ]
        if change.table == "payouts":
            payout_id = change.key["payout_id"]
            return [
                index("payouts", created[:10], payout_id),
                index("mfr-payouts", change.values["manufacturer_id"], payout_id),
            ]
        if change.table == "disputes":
            return [index("disputes", created[:10], change.key["dispute_id"])]
        if change.table == "manufacturers":  # few: one partition
            return [index("manufacturers", "all", change.key["manufacturer_id"])]
        if change.table == "subscriptions":
            return [index("subscriptions", created[:10], change.key["subscription_id"])]
        if change.table == "subscription_manufacturers":
            return [
                index(
                    "mfr-subscriptions",
                    change.key["manufacturer_id"],
                    change.key["subscription_id"],
                    shared=bool(change.values.get("shared")),
                )
            ]
        return []

    # ----- reads -----------------------------------------------------------------------------
    def _query(self, pk: str, **extra: Any) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk" + extra.pop("sk_condition", ""),
            "ExpressionAttributeValues": {":pk": {"S": pk}} | extra.pop("values", {}),
            **extra,
        }
        while True:
            page = self.client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _row(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.table, Key=row_key(table, key)).get("Item")
        if found is None:
            return None
        return {k: _plain(v) for k, v in found.items() if k not in ("pk", "sk")}

    def position(self) -> tuple[int, str | None]:
        return 0, None

    def reset(self) -> None:
        for item in self._scan():
            self.client.delete_item(TableName=self.table, Key={"pk": item["pk"], "sk": item["sk"]})

    def balance(self, account: str, currency: str, as_of: str | None) -> tuple[int, int]:
        if as_of is None:
            debits = credits = 0
            for shard in self._query(f"balance#{account}#{currency}", ConsistentRead=True):
                debits += int(shard.get("debits", {"N": "0"})["N"])
                credits += int(shard.get("credits", {"N": "0"})["N"])
            return debits, credits
        debits = credits = 0
        for posting in self._query(
            f"posting#{account}#{currency}",
            sk_condition=" AND sk <= :upto",
            values={":upto": {"S": as_of + "~"}},
        ):
            amount = int(posting["amount"]["N"])
            if amount > 0:
                debits += amount
            else:
                credits -= amount
        return debits, credits

    def posted_to(self, account: str, currency: str) -> bool:
        found = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"balance#{account}#{currency}"}},
            Limit=1,
        )
        return bool(found.get("Items"))

    def _scan(self, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {"TableName": self.table}
        if prefix is not None:
            request["FilterExpression"] = "begins_with(pk, :prefix)"
            request["ExpressionAttributeValues"] = {":prefix": {"S": prefix}}
        while True:
            page = self.client.scan(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def trial_balance(self, account_prefix: str | None) -> list[dict[str, Any]]:
        """A finance query over every account: a filtered scan, not a hot path."""
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for shard in self._scan("balance#"):
            key = (shard["currency"]["S"], shard["account"]["S"])
            totals[key][0] += int(shard.get("debits", {"N": "0"})["N"])
            totals[key][1] += int(shard.get("credits", {"N": "0"})["N"])
        return [
            {"account": account, "currency": currency, "debits": d, "credits": c}
            for (currency, account), (d, c) in sorted(totals.items())
            if account_prefix is None or account.startswith(account_prefix)
        ]

    def _upper(self, cursor: str | None, high: str | None) -> str:
        upper = high or "~"
        if cursor is not None:
            created_at, row_id = decode_cursor(cursor)
            upper = min(upper, f"{created_at}#{row_id}")
        return upper

    def _entries(self, pk: str, upper: str, low: str | None) -> Iterator[dict[str, Any]]:
        """Index entries of one partition newest first, strictly below `upper`, from `low`."""
        if low is None:
            condition, values = " AND sk <= :high", {":high": {"S": upper}}
        else:
            condition = " AND sk BETWEEN :low AND :high"
            values = {":low": {"S": low}, ":high": {"S": upper}}
        if low is not None and low > upper:
            return
        for entry in self._query(pk, sk_condition=condition, values=values, ScanIndexForward=False):
            if entry["sk"]["S"] != upper:  # the cursor row itself
                yield entry

    def _index_ids(
        self, pk: str, cursor: str | None, low: str | None, high: str | None
    ) -> Iterator[dict[str, Any]]:
        yield from self._entries(pk, self._upper(cursor, high), low)

    def _daily_ids(
        self, name: str, cursor: str | None, low: str | None, high: str | None
    ) -> Iterator[dict[str, Any]]:
        """Entries of a per-day index newest first, walking back day by day to `low`, or, with
        no lower bound, until EMPTY_DAYS days in a row hold nothing."""
        upper = self._upper(cursor, high)
        day = (
            datetime.fromisoformat(upper[:10]).date()
            if upper[:4].isdigit()
            else datetime.now(UTC).date()
        )
        stop = datetime.fromisoformat(low[:10]).date() if low else None
        empty = 0
        while (stop is not None and day >= stop) or (stop is None and empty < EMPTY_DAYS):
            found = False
            for entry in self._entries(f"ix#{name}#{day.isoformat()}", upper, low):
                found = True
                yield entry
            empty = 0 if found else empty + 1
            day -= timedelta(days=1)

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
        if manufacturer_id is not None:
            entries = self._index_ids(
                f"ix#mfr-payments#{manufacturer_id}", cursor, created_from, created_to
            )
        else:
            entries = self._daily_ids("payments", cursor, created_from, created_to)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            if exclusive and entry.get("shared", {}).get("BOOL"):
                continue
            row = self._row("payments", {"payment_id": entry["id"]["S"]})
            if row is None or (status is not None and row.get("status") != status):
                continue
            row["manufacturer_ids"] = row.get("manufacturer_ids", "").split(",")
            rows.append(row)
            if len(rows) > limit:
                break
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
        if payment_id is not None:
            entries = self._index_ids(f"ix#payment-refunds#{payment_id}", cursor, None, None)
        else:
            entries = self._daily_ids("refunds", cursor, None, None)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            row = self._row("refunds", {"refund_id": entry["id"]["S"]})
            if row is None or (status is not None and row.get("status") != status):
                continue
            if manufacturer_id is not None:
                payment = self._row("payments", {"payment_id": row["payment_id"]}) or {}
                owners = payment.get("manufacturer_ids", "").split(",")
                if manufacturer_id not in owners or (exclusive and len(owners) > 1):
                    continue
            rows.append(row)
            if len(rows) > limit:
                break
        return page_of(rows, limit, "created_at", "refund_id")

    def _listed(
        self,
        table: str,
        key: str,
        entries: Iterator[dict[str, Any]],
        keep: Callable[[dict[str, Any]], bool],
        limit: int,
    ) -> Page:
        """Rows of index entries, newest first, that `keep` keeps: limit + 1 at most."""
        rows: list[dict[str, Any]] = []
        for entry in entries:
            row = self._row(table, {key: entry["id"]["S"]})
            if row is None or not keep(row):
                continue
            rows.append(row)
            if len(rows) > limit:
                break
        return page_of(rows, limit, "created_at", key)

    def payouts(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        awaiting_approval_by: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page:
        if manufacturer_id is not None:
            entries = self._index_ids(f"ix#mfr-payouts#{manufacturer_id}", cursor, None, None)
        else:
            entries = self._daily_ids("payouts", cursor, None, None)
        if awaiting_approval_by is not None:
            status = "pending_approval"

        def keep(row: dict[str, Any]) -> bool:
            if status is not None and row.get("status") != status:
                return False
            if awaiting_approval_by is None:
                return True
            approval = {"payout_id": row["payout_id"], "approver": awaiting_approval_by}
            return (
                row.get("requested_by") != awaiting_approval_by
                and self._row("payout_approvals", approval) is None
            )

        return self._listed("payouts", "payout_id", entries, keep, limit)

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
        entries = self._daily_ids("disputes", cursor, created_from, created_to)

        def keep(row: dict[str, Any]) -> bool:
            if status is not None and row.get("status") != status:
                return False
            if not _due_within(row.get("evidence_due_by"), due_after, due_before):
                return False
            if manufacturer_id is None:
                return True
            payment = self._row("payments", {"payment_id": row["payment_id"]}) or {}
            owners = payment.get("manufacturer_ids", "").split(",")
            return manufacturer_id in owners and not (exclusive and len(owners) > 1)

        return self._listed("disputes", "dispute_id", entries, keep, limit)

    def manufacturers(self, *, manufacturer_id: str | None, cursor: str | None, limit: int) -> Page:
        entries = self._index_ids("ix#manufacturers#all", cursor, None, None)

        def keep(row: dict[str, Any]) -> bool:
            return manufacturer_id is None or row["manufacturer_id"] == manufacturer_id

        return self._listed("manufacturers", "manufacturer_id", entries, keep, limit)

    def subscriptions(
        self,
        *,
        manufacturer_id: str | None,
        status: str | None,
        cursor: str | None,
        limit: int,
        exclusive: bool = False,
    ) -> Page:
        entries: Iterator[dict[str, Any]]
        if manufacturer_id is not None:
            pk = f"ix#mfr-subscriptions#{manufacturer_id}"
            entries = (
                entry
                for entry in self._index_ids(pk, cursor, None, None)
                if not (exclusive and entry.get("shared", {}).get("BOOL"))
            )
        else:
            entries = self._daily_ids("subscriptions", cursor, None, None)

        def keep(row: dict[str, Any]) -> bool:
            row["status"] = subscription_status(row)
            row["manufacturer_ids"] = str(row.get("manufacturer_ids", "")).split(",")
            return status is None or row["status"] == status

        return self._listed("subscriptions", "subscription_id", entries, keep, limit)

    def report_days(self, manufacturer_id: str, day_from: str, day_to: str) -> list[dict[str, Any]]:
        rows = [r for r in self._report_rows(manufacturer_id) if day_from <= r["day"] < day_to]
        return sorted(rows, key=lambda r: (r["currency"], r["day"]))

    def _report_rows(self, manufacturer_id: str) -> Iterator[dict[str, Any]]:
        for item in self._query(f"report_days#{manufacturer_id}"):
            row = {k: _plain(v) for k, v in item.items() if k not in ("pk", "sk")}
            for column in ("gross_captured", "fees", "refunds", "disputes_lost", "payouts"):
                row[column] = int(row.get(column) or 0)
            yield row

    def currencies_of(self, manufacturer_id: str) -> list[str]:
        return sorted({row["currency"] for row in self._report_rows(manufacturer_id)})

    def statement_lines(self, owner: str) -> list[dict[str, Any]]:
        return [
            {k: _plain(v) for k, v in item.items() if k not in ("pk", "sk")}
            for item in self._query(f"statement_lines#{owner}")
        ]

    def statement_lines_from(
        self, owner: str, recorded_from: str, effective_before: str
    ) -> list[dict[str, Any]]:
        # sk is the line id, which starts with the recorded time
        items = self._query(
            f"statement_lines#{owner}",
            sk_condition=" AND sk >= :from",
            values={":from": {"S": recorded_from}},
        )
        rows = [{k: _plain(v) for k, v in item.items() if k not in ("pk", "sk")} for item in items]
        return [row for row in rows if row["effective_at"] < effective_before]

    def statement_opening(self, owner: str, recorded_before: str) -> dict[str, int]:
        items = self._query(
            f"statement_lines#{owner}",
            sk_condition=" AND sk < :before",
            values={":before": {"S": recorded_before}},
        )
        opening: dict[str, int] = {}
        for item in items:
            row = {k: _plain(v) for k, v in item.items()}
            moved = sum(int(row.get(kind) or 0) for kind in MOVEMENT_KINDS)
            opening[row["currency"]] = opening.get(row["currency"], 0) + moved
        return opening

    def period_closes(self) -> list[dict[str, Any]]:
        return [
            {k: _plain(v) for k, v in item.items() if k not in ("pk", "sk")}
            for item in self._query("period_closes")
        ]

    def heartbeat(self, last_event_at: str) -> None:
        """Recorded once per stream batch (not per event, which would make one hot item)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_HEARTBEAT,
                UpdateExpression="SET last_event_at = :e, updated_at = :u",
                # Batches of different shards finish in any order: never move it backwards.
                ConditionExpression="attribute_not_exists(last_event_at) OR last_event_at < :e",
                ExpressionAttributeValues={
                    ":e": {"S": last_event_at},
                    ":u": {"S": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def freshness(self) -> dict[str, Any]:
        found = self.client.get_item(TableName=self.table, Key=_HEARTBEAT).get("Item") or {}
        return {
            "source": "dynamodb-stream",
            "position": None,
            "head": None,
            "lag_events": None,
            "last_event_at": _plain(found["last_event_at"]) if "last_event_at" in found else None,
            "updated_at": _plain(found["updated_at"]) if "updated_at" in found else None,
        }

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no open resources that need closing."""

    def api_keys(self) -> list[dict[str, Any]]:
        rows = [
            {k: _plain(v) for k, v in item.items() if k not in ("pk", "sk")}
            for item in self._scan("api_keys#")
        ]
        return sorted(rows, key=lambda row: (row.get("created_at") or "", row["key_id"]))

    def count_api_keys(self) -> int:
        return sum(1 for _ in self._scan("api_keys#"))

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every item in a stable order, for rebuild == incremental checks."""
        items = [
            tuple(sorted((k, str(_plain(v))) for k, v in item.items())) for item in self._scan()
        ]
        return {"items": sorted(items)}

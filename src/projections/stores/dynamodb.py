"""DynamoDB read-model store: the same changes as the SQLite store, in one table (pk, sk) with two
sparse GSIs, written by batches without transactions (dynamodb_writes) in the layout of
dynamodb_items. Balances, report days, posting history and statement lines are kept per writer
lane (a stream shard) on distinct partition keys, so no hot account has one hot key; reads sum
the lanes a small registry item lists."""

from __future__ import annotations

import heapq
import json
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from projections.cursor import decode_cursor
from projections.logic import MOVEMENT_KINDS, subscription_status
from projections.store import Page, ProjectionGap, TrackedChanges, page_of
from projections.stores import dynamodb_items as items
from projections.stores.dynamodb_writes import BatchWriter, Outcome, Record

_HEARTBEAT = {"pk": {"S": "meta#projector"}, "sk": {"S": "heartbeat"}}
_plain = items.plain


def _due_within(due: str | None, after: str | None, before: str | None) -> bool:
    if after is None and before is None:
        return True
    if due is None:
        return False
    return (after is None or due >= after) and (before is None or due < before)


class DynamoDBReadModels:
    def __init__(
        self, client: Any, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.client = client
        self.table = table
        self.sleep = sleep
        self.writer = BatchWriter(client, table)

    # ----- writes ----------------------------------------------------------------------------
    def replace_all(self, batches: Iterator[tuple[list[TrackedChanges], int]]) -> int:
        """Empty the read models, then apply every batch (positions mean nothing here)."""
        self.reset()
        return sum(self.apply(batch) for batch, _ in batches)

    def apply(self, batch: Sequence[TrackedChanges], position: int | None = None) -> int:
        """Direct writes (a rebuild, the contract): lane `direct`, counted by the home rows."""
        records = [Record(t, items.sequence_text(i + 1)) for i, t in enumerate(batch)]
        outcome = self.writer.write(records, items.DIRECT_LANE)
        if outcome.errors:
            raise outcome.errors[0]
        if outcome.gaps:
            raise ProjectionGap("; ".join(outcome.gaps))
        return outcome.applied

    def apply_one(self, item: TrackedChanges) -> int:
        return self.apply([item])

    def apply_stream(self, records: list[Record], shard_id: str) -> Outcome:
        """One stream batch of one shard: its records' failures are reported, not raised."""
        return self.writer.write(records, shard_id)

    def tracked_version(self, home: tuple[str, dict[str, Any]] | None, aggregate_id: str) -> int:
        key = items.row_key(*home) if home is not None else items.tracking_key(aggregate_id)
        found = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        item = found.get("Item") or {}
        return int(item["av"]["N"]) if "av" in item else 0

    # ----- reads -----------------------------------------------------------------------------
    def _query(self, pk: str, **extra: Any) -> Iterator[dict[str, Any]]:
        key = extra.pop("key", "pk")
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": f"{key} = :pk" + extra.pop("sk_condition", ""),
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
        found = self.client.get_item(TableName=self.table, Key=items.row_key(table, key))
        item = found.get("Item")
        return items.row_of(item) if item is not None else None

    def lanes(self, registry: str) -> list[str]:
        found = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": registry}, "sk": {"S": "lanes"}},
            ConsistentRead=True,
        ).get("Item")
        return sorted(found["lanes"]["SS"]) if found else []

    def _chunks(self, pk: str, upto: str | None = None) -> Iterator[Any]:
        extra: dict[str, Any] = {"ConsistentRead": True}
        if upto is not None:
            extra |= {"sk_condition": " AND sk <= :upto", "values": {":upto": {"S": upto}}}
        for chunk in self._query(pk, **extra):
            yield from json.loads(zlib.decompress(chunk["z"]["B"]))

    def position(self) -> tuple[int, str | None]:
        return 0, None

    def reset(self) -> None:
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in self._scan()]
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            while requests:
                answer = self.client.batch_write_item(RequestItems={self.table: requests})
                requests = answer.get("UnprocessedItems", {}).get(self.table, [])
                if requests:
                    self.sleep(0.05)
        self.writer.registered.clear()
        self.client.put_item(
            TableName=self.table,
            Item={**items.GENERATION_KEY, "g": {"S": uuid.uuid4().hex}},
        )

    def balance(self, account: str, currency: str, as_of: str | None) -> tuple[int, int]:
        debits = credits = 0
        if as_of is None:
            for lane in self.lanes(items.account_registry(account, currency)):
                found = (
                    self.client.get_item(
                        TableName=self.table,
                        Key={
                            "pk": {"S": items.balance_pk(account, currency, lane)},
                            "sk": {"S": "c"},
                        },
                        ConsistentRead=True,
                    ).get("Item")
                    or {}
                )
                debits += int(found.get("debits", {"N": "0"})["N"])
                credits += int(found.get("credits", {"N": "0"})["N"])
            return debits, credits
        for amount in self._postings(account, currency, as_of + "~").values():
            if amount > 0:
                debits += amount
            else:
                credits -= amount
        return debits, credits

    def _postings(
        self, account: str, currency: str, upto: str | None
    ) -> dict[tuple[str, str, int], int]:
        """Each posting once, by (at, entry ref, ordinal): a retried batch may repeat a chunk."""
        owner = items.owner_of(account)
        postings: dict[tuple[str, str, int], int] = {}
        for lane in self.lanes(items.owner_registry(owner)):
            for entry in self._chunks(items.history_pk(owner, lane), upto):
                if entry[0] != "p" or entry[1] != account or entry[2] != currency:
                    continue
                _, _, _, at, ref, n, amount = entry
                if upto is None or f"{at}#{ref}" <= upto:
                    postings[(at, ref, n)] = amount
        return postings

    def posted_to(self, account: str, currency: str) -> bool:
        return bool(self.lanes(items.account_registry(account, currency)))

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

    def _balances(self) -> dict[tuple[str, str], list[int]]:
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for shard in self._scan("bal#"):
            key = (shard["currency"]["S"], shard["account"]["S"])
            totals[key][0] += int(shard.get("debits", {"N": "0"})["N"])
            totals[key][1] += int(shard.get("credits", {"N": "0"})["N"])
        return totals

    def trial_balance(self, account_prefix: str | None) -> list[dict[str, Any]]:
        """A finance query over every account: a filtered scan, not a hot path."""
        return [
            {"account": account, "currency": currency, "debits": d, "credits": c}
            for (currency, account), (d, c) in sorted(self._balances().items())
            if account_prefix is None or account.startswith(account_prefix)
        ]

    # ----- lists: sparse GSIs, several keys a list, merged newest first ------------------------
    def _upper(self, cursor: str | None, high: str | None) -> str:
        upper = high or "~"
        if cursor is not None:
            created_at, row_id = decode_cursor(cursor)
            upper = min(upper, f"{created_at}#{row_id}")
        return upper

    def _entries(
        self, index: str, pk: str, upper: str, low: str | None
    ) -> Iterator[dict[str, Any]]:
        """Index entries of one GSI key newest first, strictly below `upper`, from `low`."""
        sort = f"{index}sk"
        if low is None:
            condition, values = f" AND {sort} <= :high", {":high": {"S": upper}}
        else:
            condition = f" AND {sort} BETWEEN :low AND :high"
            values = {":low": {"S": low}, ":high": {"S": upper}}
        if low is not None and low > upper:
            return
        for entry in self._query(
            pk,
            key=f"{index}pk",
            IndexName=index,
            sk_condition=condition,
            values=values,
            ScanIndexForward=False,
        ):
            if entry[sort]["S"] != upper:  # the cursor row itself
                yield {
                    "sort": entry[sort]["S"],
                    "id": {"S": items.index_id(entry, index)},
                    "shared": bool(_plain(entry.get("shared", {"NULL": True}))),
                }

    def _merged(self, index: str, keys: list[str], upper: str, low: str | None) -> Iterator[Any]:
        parts = [self._entries(index, pk, upper, low) for pk in keys]
        return heapq.merge(*parts, key=lambda entry: entry["sort"], reverse=True)

    def _index_ids(
        self, name: str, owner: str, cursor: str | None, low: str | None, high: str | None
    ) -> Iterator[dict[str, Any]]:
        keys = [items.owner_index(name, owner, s) for s in range(items.OWNER_SHARDS)]
        yield from self._merged("gsi2", keys, self._upper(cursor, high), low)

    def _daily_ids(
        self, name: str, cursor: str | None, low: str | None, high: str | None
    ) -> Iterator[dict[str, Any]]:
        """Entries of a per-day index newest first: the days that have entries come from the
        list's day registry, from the upper bound's day back to the lower bound's."""
        upper = self._upper(cursor, high)
        condition = " AND sk <= :high"
        values = {":high": {"S": upper[:10]}}
        if low is not None:
            condition = " AND sk BETWEEN :low AND :high"
            values[":low"] = {"S": low[:10]}
        for day in self._query(
            items.days_pk(name), sk_condition=condition, values=values, ScanIndexForward=False
        ):
            keys = [items.day_index(name, day["sk"]["S"], s) for s in range(items.DAY_SHARDS)]
            yield from self._merged("gsi1", keys, upper, low)

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
                "mfr-payments", manufacturer_id, cursor, created_from, created_to
            )
        else:
            entries = self._daily_ids("payments", cursor, created_from, created_to)
        rows: list[dict[str, Any]] = []
        for entry in entries:
            if exclusive and entry["shared"]:
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
            entries = self._index_ids("payment-refunds", payment_id, cursor, None, None)
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
            entries = self._index_ids("mfr-payouts", manufacturer_id, cursor, None, None)
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
        entries = self._index_ids("manufacturers", "all", cursor, None, None)

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
            entries = (
                entry
                for entry in self._index_ids(
                    "mfr-subscriptions", manufacturer_id, cursor, None, None
                )
                if not (exclusive and entry["shared"])
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
        """Each (currency, day), summed over the lanes."""
        columns = ("gross_captured", "fees", "refunds", "disputes_lost", "payouts")
        rows: dict[str, dict[str, Any]] = {}
        for lane in self.lanes(items.owner_registry(manufacturer_id)):
            for item in self._query(items.report_pk(manufacturer_id, lane), ConsistentRead=True):
                row = rows.setdefault(
                    item["sk"]["S"],
                    {
                        "manufacturer_id": manufacturer_id,
                        "currency": item["currency"]["S"],
                        "day": item["day"]["S"],
                        **dict.fromkeys(columns, 0),
                    },
                )
                for column in columns:
                    row[column] += int(item.get(column, {"N": "0"})["N"])
        yield from rows.values()

    def currencies_of(self, manufacturer_id: str) -> list[str]:
        return sorted({row["currency"] for row in self._report_rows(manufacturer_id)})

    def statement_lines(self, owner: str) -> list[dict[str, Any]]:
        lines: dict[str, dict[str, Any]] = {}
        for lane in self.lanes(items.owner_registry(owner)):
            for entry in self._chunks(items.history_pk(owner, lane)):
                if entry[0] == "l":
                    lines[entry[1]["line_id"]] = entry[1]
        return [lines[line_id] for line_id in sorted(lines)]

    # An owner's history is kept in chunks per stream shard (lane), not in line order, so both
    # reads below go over every chunk of the owner (as statement_lines does): on DynamoDB a
    # statement costs the owner's whole history, not its month's.
    def statement_lines_from(
        self, owner: str, recorded_from: str, effective_before: str
    ) -> list[dict[str, Any]]:
        return [
            line
            for line in self.statement_lines(owner)
            if line["line_id"] >= recorded_from and line["effective_at"] < effective_before
        ]

    def statement_opening(self, owner: str, recorded_before: str) -> dict[str, int]:
        opening: dict[str, int] = {}
        for line in self.statement_lines(owner):
            if line["line_id"] < recorded_before:
                moved = sum(int(line.get(kind) or 0) for kind in MOVEMENT_KINDS)
                opening[line["currency"]] = opening.get(line["currency"], 0) + moved
        return opening

    def period_closes(self) -> list[dict[str, Any]]:
        return [items.row_of(item) for item in self._query("period_closes")]

    def heartbeat(self, last_event_at: str) -> None:
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
        rows = [items.row_of(item) for item in self._scan("api_keys#")]
        return sorted(rows, key=lambda row: (row.get("created_at") or "", row["key_id"]))

    def count_api_keys(self) -> int:
        return sum(1 for _ in self._scan("api_keys#"))

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """What the read models hold, lane and chunk boundaries summed away, in a stable order
        (rebuild == incremental): rows with their version attributes, balances, postings,
        report days and statement lines."""
        rows: list[tuple[Any, ...]] = []
        owners: set[str] = set()
        for item in self._scan():
            pk = item["pk"]["S"]
            if pk.startswith("reg#owner#"):
                owners.add(pk.removeprefix("reg#owner#"))
            elif not pk.startswith(("bal#", "hist#", "rep#", "reg#", "meta#")):
                # `dv` says a rebuild wrote the row, not what it holds
                kept = ((k, str(_plain(v))) for k, v in item.items() if k != "dv")
                rows.append(tuple(sorted(kept)))
        balances = [(c, a, d, cr) for (c, a), (d, cr) in sorted(self._balances().items())]
        postings = []
        for (currency, account), _ in sorted(self._balances().items()):
            for key, amount in self._postings(account, currency, None).items():
                postings.append((account, currency, *key, amount))
        reports = sorted(
            tuple(sorted((k, str(v)) for k, v in row.items()))
            for owner in owners
            for row in self._report_rows(owner)
        )
        lines = sorted(
            tuple(sorted((k, str(v)) for k, v in line.items()))
            for owner in owners
            for line in self.statement_lines(owner)
        )
        return {
            "rows": sorted(rows),
            "balances": balances,
            "postings": sorted(postings),
            "report_days": reports,
            "statement_lines": lines,
        }

"""The DynamoDB read models' write path: a batch of events folded into as few conditional writes
as it takes, none of them transactional (see dynamodb_items for the layout).

Per aggregate, its records' changes to each row become one UpdateItem. The aggregate's home row
is written first, on condition that it holds the version before the batch's first: a redelivered
record fails that condition and is dropped, a record whose predecessor is missing is a gap and
fails (alone with the rest of its aggregate's records in the batch). Every other row carries the
last version applied to it and is written on condition that it is older, so a row write repeated
after a crash applies once.

Balances and report days are counters, one item per (name, lane): the lane is the stream shard
the batch came from, so each counter item has one writer, which applies a batch's summed delta
on condition that the item's watermark (the last sequence number it counts) is older than the
batch's first contributing record; a retried or overlapping batch re-reads the watermark and adds
only what is newer. Counters take the records before the batch's first failure only: the stream
redelivers from that record, and the watermark must not pass it. A rebuild writes lane `direct`
and counts what its home rows took as new. Posting history and statement lines are one chunk
item per (name, lane, batch), deduplicated on read.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from projections.changes import Increment, Post, Upsert
from projections.store import TrackedChanges
from projections.stores import dynamodb_items as items

CHUNK_ENTRIES = 1000  # entries per chunk item, far below DynamoDB's 400 KB an item
CONDITION_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Record:
    tracked: TrackedChanges
    sequence: str  # fixed-width stream sequence number (items.sequence_text)


@dataclass
class Outcome:
    applied: int = 0
    new: set[int] = field(default_factory=set)  # indexes of the records applied now
    failed: list[int] = field(default_factory=list)  # record indexes, one a failed aggregate
    gaps: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


def _ident(key: dict[str, Any]) -> str:
    return f"{key['pk']['S']}\n{key['sk']['S']}"


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class _Fold:
    """One item's changes folded into a single UpdateItem."""

    def __init__(self) -> None:
        self.sets: dict[str, Any] = {}
        self.adds: dict[str, int] = defaultdict(int)

    def request(
        self, table: str, key: dict[str, Any], condition: str | None, values: dict[str, Any]
    ) -> dict[str, Any]:
        names: dict[str, str] = {}
        expression_values = dict(values)
        parts = []
        if self.sets:
            clauses = []
            for index, (column, plain) in enumerate(sorted(self.sets.items())):
                names[f"#s{index}"] = column
                expression_values[f":s{index}"] = items.value(plain)
                clauses.append(f"#s{index} = :s{index}")
            parts.append("SET " + ", ".join(clauses))
        adds = {column: delta for column, delta in self.adds.items()}
        if adds:
            clauses = []
            for index, (column, delta) in enumerate(sorted(adds.items())):
                names[f"#a{index}"] = column
                expression_values[f":a{index}"] = items.value(delta)
                clauses.append(f"#a{index} :a{index}")
            parts.append("ADD " + ", ".join(clauses))
        request: dict[str, Any] = {
            "TableName": table,
            "Key": key,
            "UpdateExpression": " ".join(parts),
            "ExpressionAttributeNames": names,
        }
        if expression_values:
            request["ExpressionAttributeValues"] = expression_values
        if condition is not None:
            request["ConditionExpression"] = condition
        return request


def _first_split(tracked: TrackedChanges) -> str | None:
    for change in tracked.changes:
        if isinstance(change, Upsert) and change.table == "payments":
            owners = change.values.get("manufacturer_ids")
            if owners:
                return str(owners).split(",")[0]
    return None


def _row_changes(tracked: TrackedChanges) -> Iterable[tuple[dict[str, Any], Upsert | Increment]]:
    first = _first_split(tracked)
    for change in tracked.changes:
        if isinstance(change, Post):
            continue
        if change.table in ("report_days", "statement_lines"):
            continue
        if change.table == "payment_manufacturers" and change.key["manufacturer_id"] == first:
            continue  # on the payments row (items.index_keys)
        yield items.row_key(change.table, change.key), change


def _fold_into(fold: _Fold, change: Upsert | Increment) -> None:
    """A later SET wins over earlier deltas; a delta after a SET adds to the value set (one
    UpdateItem cannot both SET and ADD a column)."""
    if isinstance(change, Upsert):
        row = {**change.key, **change.values}
        for column in row:
            fold.adds.pop(column, None)
        fold.sets.update(row)
        fold.sets.update(items.index_keys(change.table, row))
        return
    fold.sets.update(change.key)
    for column, delta in change.deltas.items():
        if column in fold.sets:
            fold.sets[column] = int(fold.sets[column] or 0) + delta
        else:
            fold.adds[column] += delta


class BatchWriter:
    def __init__(self, client: Any, table: str, workers: int = 8) -> None:
        self.client = client
        self.table = table
        self.workers = workers
        self.registered: set[tuple[str, str]] = set()
        self.generation: str | None = None

    # ----- the batch -------------------------------------------------------------------------
    def write(self, records: list[Record], lane: str) -> Outcome:
        """Apply the records; lane is the stream shard (or items.DIRECT_LANE)."""
        outcome = Outcome()
        self._check_generation()
        by_aggregate: dict[str, list[int]] = defaultdict(list)
        for index, record in enumerate(records):
            by_aggregate[record.tracked.aggregate_id].append(index)
        new = outcome.new
        homes = {
            aggregate: self._home_key(records[indexes[0]].tracked)
            for aggregate, indexes in by_aggregate.items()
        }
        stored, rebuilt = self._stored_versions(list(homes.values()))
        direct = lane == items.DIRECT_LANE

        def one(indexes: list[int]) -> tuple[list[int], int | None, str | Exception | None]:
            home = homes[records[indexes[0]].tracked.aggregate_id]
            try:
                version = stored.get(_ident(home), 0)
                return self._aggregate(records, indexes, version, direct)
            except ClientError as error:  # throttled or refused: this aggregate retries
                first = min(indexes, key=lambda i: records[i].tracked.version)
                return [], first, error

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for applied, failed, why in pool.map(one, by_aggregate.values()):
                new.update(applied)
                if failed is not None:
                    outcome.failed.append(failed)
                if isinstance(why, Exception):
                    outcome.errors.append(why)
                elif why is not None:
                    outcome.gaps.append(why)
        outcome.applied = len(new)
        if direct:
            counted = [records[i] for i in sorted(new)]
        else:
            stop = min((records[i].sequence for i in outcome.failed), default=None)
            # What a rebuild has counted (up to the home row's `dv`) is not counted again.
            counted = [
                r
                for r in records
                if (stop is None or r.sequence < stop)
                and r.tracked.version > rebuilt.get(_ident(homes[r.tracked.aggregate_id]), 0)
            ]
        self._counters_and_chunks(counted, lane, watermarked=not direct)
        return outcome

    # ----- rows ------------------------------------------------------------------------------
    def _aggregate(
        self, records: list[Record], indexes: list[int], stored: int, direct: bool
    ) -> tuple[list[int], int | None, str | Exception | None]:
        """(indexes newly applied, index of the first failed record, why) for one aggregate,
        whose home row held version `stored` when the batch began."""
        ordered = sorted(indexes, key=lambda i: records[i].tracked.version)
        run: list[int] = []
        failed: int | None = None
        gap: str | None = None
        for index in ordered:
            version = records[index].tracked.version
            if version <= stored or (run and version == records[run[-1]].tracked.version):
                continue  # applied before, or the same record twice in one batch
            expected = records[run[-1]].tracked.version + 1 if run else stored + 1
            if version != expected:
                failed = index
                aggregate = records[index].tracked.aggregate_id
                gap = f"{aggregate}: got version {version} after {expected - 1}"
                break
            run.append(index)
        if run:
            tracked = [records[i].tracked for i in run]
            self._register_days(tracked)
            self._rows(tracked)
            self._commit(tracked, stored, direct)
        return run, failed, gap

    def _home_key(self, tracked: TrackedChanges) -> dict[str, Any]:
        if tracked.home is not None:
            return items.row_key(*tracked.home)
        return items.tracking_key(tracked.aggregate_id)

    def _stored_versions(self, keys: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
        """The aggregate version each home row holds, and the version up to which a rebuild
        counted its records (both 0: none), by pk and sk."""
        found: dict[str, int] = {}
        rebuilt: dict[str, int] = {}
        pending = list({_ident(k): k for k in keys}.values())
        while pending:
            request = {
                self.table: {
                    "Keys": pending[:100],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, sk, av, dv",
                }
            }
            pending = pending[100:]
            answer = self.client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(self.table, []):
                if "av" in item:
                    found[_ident(item)] = int(item["av"]["N"])
                if "dv" in item:
                    rebuilt[_ident(item)] = int(item["dv"]["N"])
            pending += answer.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
        return found, rebuilt

    def _commit(self, tracked: list[TrackedChanges], stored: int, direct: bool) -> None:
        """The home row last, on condition that it still holds `stored`: once it is written
        the records count as applied (the rows before it are safe to write again)."""
        key = self._home_key(tracked[0])
        fold = _Fold()
        for each in tracked:
            for row_key, change in _row_changes(each):
                if row_key == key:
                    _fold_into(fold, change)
        fold.sets["av"] = tracked[-1].version
        if direct:  # a rebuild counted these: the stream, resumed, must not again
            fold.sets["dv"] = tracked[-1].version
        condition = "attribute_not_exists(av)" if stored == 0 else "av = :prev"
        values = {":prev": items.value(stored)} if stored else {}
        self.client.update_item(**fold.request(self.table, key, condition, values))

    def _rows(self, tracked: list[TrackedChanges]) -> None:
        """Every row but the home row, each written once with what it has not seen."""
        head = tracked[0]
        home_key = items.row_key(*head.home) if head.home is not None else None
        touched: dict[str, tuple[dict[str, Any], list[tuple[int, Upsert | Increment]]]] = {}
        for each in tracked:
            for row_key, change in _row_changes(each):
                if row_key == home_key:
                    continue
                ident = row_key["pk"]["S"] + "\n" + row_key["sk"]["S"]
                touched.setdefault(ident, (row_key, []))[1].append((each.version, change))
        for row_key, changes in touched.values():
            self._row(row_key, changes)

    def _row(self, key: dict[str, Any], changes: list[tuple[int, Upsert | Increment]]) -> None:
        floor = 0
        condition = "attribute_not_exists(rv) OR rv < :first"
        for _ in range(CONDITION_ATTEMPTS):
            fresh = [(version, change) for version, change in changes if version > floor]
            if not fresh:
                return
            fold = _Fold()
            for _version, change in fresh:
                _fold_into(fold, change)
            fold.sets["rv"] = fresh[-1][0]
            values = {":first": items.value(fresh[0][0])}
            if floor:
                condition, values = "rv = :floor", {":floor": items.value(floor)}
            try:
                self.client.update_item(**fold.request(self.table, key, condition, values))
                return
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
            floor = self._version(key, "rv")
        raise RuntimeError(f"{key['pk']['S']}: its version kept moving")  # one writer: never

    def _version(self, key: dict[str, Any], attribute: str) -> int:
        found = self.client.get_item(
            TableName=self.table, Key=key, ConsistentRead=True, ProjectionExpression=attribute
        ).get("Item")
        return int(found[attribute]["N"]) if found and attribute in found else 0

    # ----- counters and chunks ---------------------------------------------------------------
    def _counters_and_chunks(self, counted: list[Record], lane: str, watermarked: bool) -> None:
        counters: dict[str, tuple[dict[str, Any], dict[str, Any], list[tuple[str, dict[str, int]]]]]
        counters = {}
        chunks: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)  # pk -> (at, seq, entry)
        registries: set[tuple[str, str]] = set()

        def count(pk: str, sk: str, sets: dict[str, Any], seq: str, deltas: dict[str, int]) -> None:
            entry = counters.setdefault(
                f"{pk}\n{sk}", ({"pk": {"S": pk}, "sk": {"S": sk}}, sets, [])
            )
            entry[2].append((seq, deltas))

        for record in counted:
            seq = record.sequence
            ordinals: dict[tuple[str, str], int] = defaultdict(int)
            for change in record.tracked.changes:
                if isinstance(change, Post):
                    account, currency = change.account, change.currency
                    registries.add((items.account_registry(account, currency), lane))
                    side = "debits" if change.amount > 0 else "credits"
                    count(
                        items.balance_pk(account, currency, lane),
                        "c",
                        {"account": account, "currency": currency},
                        seq,
                        {side: abs(change.amount)},
                    )
                    n = ordinals[(account, currency)]
                    ordinals[(account, currency)] += 1
                    owner = items.owner_of(account)
                    registries.add((items.owner_registry(owner), lane))
                    chunks[items.history_pk(owner, lane)].append(
                        (
                            change.at,
                            seq,
                            ["p", account, currency, change.at, change.entry_ref, n, change.amount],
                        )
                    )
                elif isinstance(change, Increment) and change.table == "report_days":
                    manufacturer = change.key["manufacturer_id"]
                    registries.add((items.owner_registry(manufacturer), lane))
                    count(
                        items.report_pk(manufacturer, lane),
                        f"{change.key['currency']}#{change.key['day']}",
                        dict(change.key),
                        seq,
                        dict(change.deltas),
                    )
                elif isinstance(change, Upsert) and change.table == "statement_lines":
                    owner = change.key["owner"]
                    registries.add((items.owner_registry(owner), lane))
                    line = {**change.key, **change.values}
                    chunks[items.history_pk(owner, lane)].append(
                        (change.key["line_id"], seq, ["l", line])
                    )
        self._register(registries)
        jobs: list[Callable[[], None]] = [
            partial(self._count, key, sets, contributions, watermarked)
            for key, sets, contributions in counters.values()
        ]
        jobs += [partial(self._chunk, pk, listed) for pk, listed in chunks.items()]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(lambda job: job(), jobs))

    def _check_generation(self) -> None:
        """A reset (a rebuild, maybe from another process) starts a new generation: the lanes
        and days this process registered before it are gone, so it forgets them."""
        found = self.client.get_item(
            TableName=self.table, Key=items.GENERATION_KEY, ConsistentRead=True
        ).get("Item")
        generation = found["g"]["S"] if found else None
        if generation != self.generation:
            self.registered.clear()
            self.generation = generation

    def _register_days(self, tracked: list[TrackedChanges]) -> None:
        """The days new rows are listed on, before the rows: a list never misses a day
        (registered once a day and writer)."""
        days: set[tuple[str, str]] = set()
        for each in tracked:
            for change in each.changes:
                if isinstance(change, Upsert):
                    keys = items.index_keys(change.table, {**change.key, **change.values})
                    if "gsi1pk" in keys:
                        name, day, _shard = keys["gsi1pk"].rsplit("#", 2)
                        days.add((items.days_pk(name), day))
        for pk, day in sorted(days - self.registered):
            self.client.put_item(TableName=self.table, Item={"pk": {"S": pk}, "sk": {"S": day}})
            self.registered.add((pk, day))

    def _register(self, registries: set[tuple[str, str]]) -> None:
        """Lanes are listed before they are written: a read never misses one."""
        for registry, lane in sorted(registries - self.registered):
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": registry}, "sk": {"S": "lanes"}},
                UpdateExpression="ADD lanes :lane",
                ExpressionAttributeValues={":lane": {"SS": [lane]}},
            )
            self.registered.add((registry, lane))

    def _count(
        self,
        key: dict[str, Any],
        sets: dict[str, Any],
        contributions: list[tuple[str, dict[str, int]]],
        watermarked: bool,
    ) -> None:
        floor: str | None = None
        for _ in range(CONDITION_ATTEMPTS):
            fresh = [(s, d) for s, d in contributions if floor is None or s > floor]
            if not fresh:
                return
            fold = _Fold()
            fold.sets.update(sets)
            for _seq, deltas in fresh:
                for column, delta in deltas.items():
                    fold.adds[column] += delta
            condition: str | None = None
            values: dict[str, Any] = {}
            if watermarked:
                fold.sets["wm"] = max(s for s, _ in fresh)
                if floor is None:
                    condition = "attribute_not_exists(wm) OR wm < :first"
                    values = {":first": items.value(min(s for s, _ in fresh))}
                else:
                    condition, values = "wm = :floor", {":floor": items.value(floor)}
            try:
                self.client.update_item(**fold.request(self.table, key, condition, values))
                return
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
            found = self.client.get_item(
                TableName=self.table, Key=key, ConsistentRead=True, ProjectionExpression="wm"
            ).get("Item")
            floor = found["wm"]["S"] if found and "wm" in found else ""
        raise RuntimeError(f"{key['pk']['S']}: its watermark kept moving")  # one writer: never

    def _chunk(self, pk: str, entries: list[tuple[str, str, Any]]) -> None:
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        for start in range(0, len(entries), CHUNK_ENTRIES):
            part = entries[start : start + CHUNK_ENTRIES]
            # Named by the sequence numbers it holds: a redelivered batch writes the same item
            # again, an overlapping one another item (whose entries the reads deduplicate).
            sequences = [seq for _, seq, _ in part]
            ident = f"{min(sequences)}#{max(sequences)}"
            if pk.endswith("#" + items.DIRECT_LANE):  # no sequence numbers: kept apart
                ident = uuid.uuid4().hex
            body = zlib.compress(
                json.dumps([e for _, _, e in part], separators=(",", ":")).encode()
            )
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": pk},
                    "sk": {"S": f"{part[0][0]}#{ident}"},
                    "last": {"S": part[-1][0]},
                    "z": {"B": body},
                },
            )

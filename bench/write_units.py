"""Write and read units as AWS bills them, counted from the requests themselves.

A botocore hook on every DynamoDB client sees each call: PutItem and BatchWriteItem items are
sized from the request, UpdateItem items read back after the call (AWS bills the larger of the
item before and after; the read-back is the after, which only grows here), transaction items
count twice, every item rounds up per KB, a failed conditional write still costs its units, and a
GSI entry is one more unit whenever a write sets that index's key (the indexes here are keys
only, so a later update of other attributes writes no index). DynamoDB Local's own
ConsumedCapacity is not used: it reports transactions below what AWS bills.

Reads: 4 KB units, half for eventually consistent reads, summed per response.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
from botocore.session import Session

GSI_KEYS = {"gsi1pk": "gsi1", "gsi2pk": "gsi2"}
# Written once a manufacturer payable shard (event store) or once a name, stream shard and
# process (the read models' registries of shards and list days): not a payment's steady cost.
ONCE_TOPICS = (":ManufacturerPayable.Opened", ".registry:Registry.")
ONCE_KEYS = ("reg#", "days#")


def attribute_size(value: dict[str, Any]) -> int:
    """DynamoDB's item-size rules for one attribute value (name excluded)."""
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "B":
        return len(content)
    if kind == "N":
        digits = len(str(Decimal(str(content))).lstrip("-").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in content)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in content)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in content)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in content.items())
    return len(str(content))


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class Meter:
    """Units per table and per partition key ("table pk" or "table/gsi pk")."""

    writes: Counter[str] = field(default_factory=Counter)
    once: Counter[str] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)
    per_key: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    sizes: dict[str, int] = field(default_factory=dict)  # largest item, by event or key kind
    reader: Any = None
    uninstall: Any = None  # stops counting (install sets it)

    def reset(self) -> None:
        counters = (self.writes, self.once, self.reads, self.per_key, self.items, self.calls)
        for counter in counters:
            counter.clear()

    def _write(self, table: str, item: dict[str, Any], factor: int = 1) -> None:
        size = item_size(item)
        units = write_units(size) * factor
        pk = _key_text(item.get("pk") or item.get("aggregate_id") or {})
        topic = _key_text(item.get("topic") or {})
        if pk.startswith(ONCE_KEYS) or any(part in topic for part in ONCE_TOPICS):
            self.once[table] += units
            return
        self.writes[table] += units
        self.items[table] += 1
        self.per_key[f"{table} {pk}"] += units
        kind = topic.rpartition(":")[2] if topic != "?" else pk.split("#", 1)[0]
        self.sizes[kind] = max(self.sizes.get(kind, 0), size)

    def _index_writes(self, table: str, attributes: dict[str, Any]) -> None:
        for attribute, index in GSI_KEYS.items():
            if attribute in attributes:
                self.writes[table] += 1
                self.per_key[f"{table}/{index} {_key_text(attributes[attribute])}"] += 1

    def _after_update(self, table: str, key: dict[str, Any], request: dict[str, Any]) -> None:
        found = self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        self._write(table, found or key)
        names = set((request.get("ExpressionAttributeNames") or {}).values())
        expression = str(request.get("UpdateExpression", ""))
        set_attributes = {
            a: (found or {}).get(a, {"S": ""})
            for a in GSI_KEYS
            if a in names or f" {a} " in f" {expression} "
        }
        self._index_writes(table, set_attributes)

    # ----- botocore hooks --------------------------------------------------------------------
    def after_call(self, params: dict[str, Any], operation: str, parsed: dict[str, Any]) -> None:
        self.calls[operation] += 1
        failed = "Error" in parsed
        if operation == "PutItem":
            self._write(params["TableName"], params["Item"])
            if not failed:
                self._index_writes(params["TableName"], params["Item"])
        elif operation == "UpdateItem":
            if failed:
                self._write(params["TableName"], params["Key"])
            else:
                self._after_update(params["TableName"], params["Key"], params)
        elif operation == "DeleteItem":
            self._write(params["TableName"], params["Key"])
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        self._write(table, request["PutRequest"]["Item"])
                        self._index_writes(table, request["PutRequest"]["Item"])
                    else:
                        self._write(table, request["DeleteRequest"]["Key"])
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (_kind, body), *_ = entry.items()
                item = body.get("Item") or body.get("Key") or {}
                self._write(body["TableName"], item, factor=2)
        elif not failed:
            self._read(operation, params, parsed)

    def _read(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        consistent = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            size = item_size(parsed.get("Item") or {})
            self.reads[params["TableName"]] += math.ceil(max(size, 1) / 4096) * consistent
        elif operation == "BatchGetItem":
            for table, found in (parsed.get("Responses") or {}).items():
                factor = 1.0 if params["RequestItems"][table].get("ConsistentRead") else 0.5
                for item in found:
                    self.reads[table] += math.ceil(max(item_size(item), 1) / 4096) * factor
        elif operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in parsed.get("Items") or [])
            self.reads[params["TableName"]] += math.ceil(max(size, 1) / 4096) * consistent


def _key_text(value: dict[str, Any]) -> str:
    return str(next(iter(value.values()))) if value else "?"


def install(endpoint: str) -> Meter:
    """Counts every DynamoDB call of clients made from boto3's default session from now on."""
    meter = Meter(reader=boto3.Session().client("dynamodb", endpoint_url=endpoint))
    boto3.setup_default_session()
    session: Session = boto3.DEFAULT_SESSION._session  # type: ignore[union-attr]

    def hook(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        context = kwargs.get("context")
        if context is not None:
            context["meter_params"] = dict(params)

    def after(http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        params = (kwargs.get("context") or {}).get("meter_params")
        if params is not None:
            meter.after_call(params, model.name, parsed)

    session.register("before-parameter-build.dynamodb", hook)
    session.register("after-call.dynamodb", after)

    def uninstall() -> None:
        session.unregister("before-parameter-build.dynamodb", hook)
        session.unregister("after-call.dynamodb", after)
        boto3.DEFAULT_SESSION = None

    meter.uninstall = uninstall
    return meter

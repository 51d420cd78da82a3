"""How the DynamoDB read models lay out their items (one table, pk and sk, two sparse GSIs).

- rows of the logical tables (`projections.changes.TABLES`): pk `<table>#<key>...`, sk `row`,
  carrying `rv`, the last version of the owning aggregate applied to the row; the row that
  stands for an aggregate (its home row) also carries `av`, the aggregate's last applied version,
  and after a rebuild `dv`, the version up to which the rebuild counted (a resumed stream
  counts only what is newer).
  An aggregate without a home row (the books) has pk `agg#<aggregate id>`, sk `v`.
- list indexes are sparse GSIs on those rows, their keys set once, when the row is created:
  gsi1 by day (`<list>#<day>#<nn>`, DAY_SHARDS keys a day) and gsi2 by owner
  (`<list>#<owner>#<n>`, OWNER_SHARDS keys an owner), sort key `<created_at>#<id>`.
  The days a day list has entries on are items pk `days#<list>`, sk `<day>` (written before
  the rows, once a day and writer), so a list walks only days that have entries.
- counters, one item per (name, writer lane), so each item has exactly one writer, a stream
  shard (or `direct` for a rebuild), and `wm`, the last stream sequence number it counts:
  balances pk `bal#<account>#<currency>#<lane>`, sk `c`, numbers `debits`, `credits`;
  report days pk `rep#<manufacturer>#<lane>`, sk `<currency>#<day>`.
- chunks, one item per (owner, lane, batch): pk `hist#<owner>#<lane>` (owner: a manufacturer,
  `platform`, or the account itself, see owner_of), sk `<first moment>#<first seq>#<last seq>`,
  holding the owner's postings and statement lines of the batch in a zlib-compressed JSON list
  (deduplicated on read: a retried batch may write them again).
- a payment's first split has no payment_manufacturers row: its entry in the manufacturer's
  payments list (gsi2) and `shared` are on the payments row.
- registries list the lanes of a name: pk `reg#acct#<account>#<currency>` or `reg#owner#<owner>`,
  sk `lanes`, a string set `lanes`.
"""

from __future__ import annotations

import zlib
from typing import Any

from projections.changes import TABLES

DAY_SHARDS = 16
OWNER_SHARDS = 4
ROW_SK = "row"
INTERNAL = frozenset(
    {"pk", "sk", "rv", "av", "dv", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "shared"}
)
DIRECT_LANE = "direct"
# Set anew by every reset: writers forget the registrations they made before it.
GENERATION_KEY = {"pk": {"S": "meta#layout"}, "sk": {"S": "generation"}}


def value(plain: Any) -> dict[str, Any]:
    if plain is None:
        return {"NULL": True}
    if isinstance(plain, bool):
        return {"BOOL": plain}
    if isinstance(plain, int):
        return {"N": str(plain)}
    return {"S": str(plain)}


def plain(attribute: dict[str, Any]) -> Any:
    if "N" in attribute:
        return int(attribute["N"])
    if "S" in attribute:
        return attribute["S"]
    if "BOOL" in attribute:
        return attribute["BOOL"]
    return None


def row_of(item: dict[str, Any]) -> dict[str, Any]:
    """A row as the store's readers see it: without the keys and bookkeeping attributes."""
    return {k: plain(v) for k, v in item.items() if k not in INTERNAL}


def row_key(table: str, key: dict[str, Any]) -> dict[str, Any]:
    if table == "period_closes":  # few, listed together
        return {"pk": {"S": "period_closes"}, "sk": {"S": key["period"]}}
    keys, _ = TABLES[table]
    return {"pk": {"S": "#".join([table, *(str(key[k]) for k in keys)])}, "sk": {"S": ROW_SK}}


def tracking_key(aggregate_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"agg#{aggregate_id}"}, "sk": {"S": "v"}}


def spread(text: str, shards: int) -> int:
    return zlib.crc32(text.encode()) % shards


def day_index(name: str, day: str, shard: int) -> str:
    return f"{name}#{day}#{shard:02d}"


def days_pk(name: str) -> str:
    return f"days#{name}"


def owner_index(name: str, owner: str, shard: int) -> str:
    return f"{name}#{owner}#{shard}"


# table -> (day list name or None, owner list (name, column) or None, id column)
_INDEXED: dict[str, tuple[str | None, tuple[str, str] | None, str]] = {
    "payments": ("payments", None, "payment_id"),
    "payment_manufacturers": (None, ("mfr-payments", "manufacturer_id"), "payment_id"),
    "refunds": ("refunds", ("payment-refunds", "payment_id"), "refund_id"),
    "payouts": ("payouts", ("mfr-payouts", "manufacturer_id"), "payout_id"),
    "disputes": ("disputes", None, "dispute_id"),
    "manufacturers": (None, ("manufacturers", "all"), "manufacturer_id"),
    "subscriptions": ("subscriptions", None, "subscription_id"),
    "subscription_manufacturers": (
        None,
        ("mfr-subscriptions", "manufacturer_id"),
        "subscription_id",
    ),
}


def index_keys(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """The GSI keys of a row being created (its values carry created_at), else none."""
    created = row.get("created_at")
    spec = _INDEXED.get(table)
    if created is None or spec is None:
        return {}
    day_list, owner_list, id_column = spec
    row_id = str(row[id_column])
    sort = f"{created}#{row_id}"
    keys: dict[str, Any] = {}
    if day_list is not None:
        shard = spread(row_id, DAY_SHARDS)
        keys |= {"gsi1pk": day_index(day_list, str(created)[:10], shard), "gsi1sk": sort}
    if table == "payments" and row.get("manufacturer_ids"):
        # The first split's entry of a manufacturer's payments list is on the payments row
        # (its payment_manufacturers row is not written on DynamoDB): one item, not two.
        owners = str(row["manufacturer_ids"]).split(",")
        keys["shared"] = int(len(owners) > 1)
        shard = spread(row_id, OWNER_SHARDS)
        keys |= {"gsi2pk": owner_index("mfr-payments", owners[0], shard), "gsi2sk": sort}
    if owner_list is not None:
        name, column = owner_list
        owner = "all" if column == "all" else str(row[column])
        shard = spread(row_id, OWNER_SHARDS)
        keys |= {"gsi2pk": owner_index(name, owner, shard), "gsi2sk": sort}
    return keys


def index_id(entry: dict[str, Any], index: str) -> str:
    return str(entry[f"{index}sk"]["S"]).rpartition("#")[2]


def account_registry(account: str, currency: str) -> str:
    return f"reg#acct#{account}#{currency}"


def owner_registry(owner: str) -> str:
    return f"reg#owner#{owner}"


def balance_pk(account: str, currency: str, lane: str) -> str:
    return f"bal#{account}#{currency}#{lane}"


def owner_of(account: str) -> str:
    """Whose history chunks hold the account's postings: a manufacturer's, the platform's
    (with their statement lines), or the account's own."""
    if account.startswith("manufacturer:"):
        return account.split(":")[1]
    if account.startswith("platform:"):
        return "platform"
    return account


def history_pk(owner: str, lane: str) -> str:
    return f"hist#{owner}#{lane}"


def report_pk(manufacturer_id: str, lane: str) -> str:
    return f"rep#{manufacturer_id}#{lane}"


def sequence_text(sequence: str | int) -> str:
    """Stream sequence numbers (up to 40 digits) as fixed-width text, so text order is theirs."""
    return str(sequence).rjust(40, "0")

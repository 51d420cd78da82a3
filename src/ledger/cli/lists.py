"""`ledger list KIND` and `ledger trial-balance`: the lists and the trial balance finance reads,
as the API answers an unbound finance key: the same filters, the same rows, the same CSV
columns (tests/integration/test_cli.py checks them against the API's). JSON is
`{data, next_cursor}`; a CSV page's next cursor goes to stderr, as `next_cursor: ...`."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.cli.keys import CliError
from ledger.settings import Settings

WithDb = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
SettingsOf = Callable[..., Settings]


@dataclass(frozen=True)
class Kind:
    id_column: str | None
    columns: tuple[str, ...]
    statuses: tuple[str, ...] = ()


KINDS = {
    "payouts": Kind(
        "payout_id",
        (
            "id",
            "manufacturer_id",
            "amount",
            "currency",
            "status",
            "approvals_required",
            "approvals",
            "requested_by",
            "created_at",
            "updated_at",
        ),
        (
            "pending_approval",
            "approved",
            "executing",
            "submitted",
            "paid",
            "failed",
            "rejected",
            "returned",
        ),
    ),
    "disputes": Kind(
        "dispute_id",
        (
            "id",
            "payment_id",
            "amount",
            "currency",
            "status",
            "reason",
            "evidence_due_by",
            "created_at",
            "updated_at",
        ),
        ("open", "won", "lost"),
    ),
    "manufacturers": Kind(
        "manufacturer_id",
        ("id", "name", "fee_bps", "refund_fee_policy", "created_at", "updated_at"),
    ),
    "subscriptions": Kind(
        "subscription_id",
        (
            "id",
            "customer_id",
            "provider",
            "amount",
            "currency",
            "interval",
            "status",
            "manufacturer_ids",
            "created_at",
            "updated_at",
        ),
        ("active", "past_due", "canceled"),
    ),
    "refunds": Kind(
        "refund_id",
        (
            "id",
            "payment_id",
            "amount",
            "currency",
            "status",
            "reason",
            "failure_reason",
            "created_at",
            "updated_at",
        ),
        ("pending_approval", "pending", "succeeded", "failed", "rejected"),
    ),
    "accounts": Kind(None, ("account", "currency", "debits", "credits", "balance")),
}
TRIAL_BALANCE_COLUMNS = (
    "currency",
    "account",
    "debits",
    "credits",
    "balance",
    "normal_balance",
    "balance_normal",
)


def _cell(value: Any) -> Any:
    from projections.spreadsheet import safe_text

    if isinstance(value, list | tuple):
        value = ";".join(str(item) for item in value)
    return safe_text(value) if isinstance(value, str) else ("" if value is None else value)


def _write_csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])


def _page(container: Any, kind: str, args: argparse.Namespace) -> Any:
    from ledger.application.principal import SYSTEM
    from ledger.domain.manufacturer import Manufacturer

    queries = container.queries
    manufacturer = getattr(args, "manufacturer", None)
    if manufacturer is not None:
        found = container.engine.find(Manufacturer, "manufacturer", manufacturer)
        if found is None:
            raise CliError(f"no manufacturer {manufacturer!r} in this ledger")
    paging = {"cursor": args.cursor, "limit": args.limit}
    if kind == "payouts":
        return queries.payouts_page(
            SYSTEM,
            manufacturer_id=manufacturer,
            status=args.status,
            awaiting_my_approval=False,
            **paging,
        )
    if kind == "disputes":
        return queries.disputes_page(
            SYSTEM,
            manufacturer_id=manufacturer,
            status=args.status,
            created_from=args.created_from,
            created_to=args.created_to,
            due_after=args.due_after,
            due_before=args.due_before,
            **paging,
        )
    if kind == "manufacturers":
        return queries.manufacturers_page(SYSTEM, **paging)
    if kind == "subscriptions":
        return queries.subscriptions_page(
            SYSTEM, manufacturer_id=manufacturer, status=args.status, **paging
        )
    if kind == "refunds":
        return queries.refunds_page(SYSTEM, payment_id=args.payment, status=args.status, **paging)
    return queries.accounts_page(SYSTEM, prefix=args.prefix, **paging)


def _list(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.bootstrap import build

        kind = KINDS[args.kind]
        container = build(settings_of(args))
        try:
            page = _page(container, args.kind, args)
        finally:
            container.close()
        rows = []
        for found in page.rows:
            row = dict(found)
            if kind.id_column is not None:
                row["id"] = row.pop(kind.id_column)
            if args.kind == "accounts":
                row["balance"] = row["debits"] - row["credits"]
            rows.append({column: row.get(column) for column in kind.columns})
        if args.format == "csv":
            _write_csv(kind.columns, rows)
            if page.next_cursor is not None:
                print(f"next_cursor: {page.next_cursor}", file=sys.stderr)
        else:
            _json({"data": rows, "next_cursor": page.next_cursor})
        return 0

    return run


def _trial_balance(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.principal import SYSTEM
        from ledger.bootstrap import build
        from ledger.domain.accounts import balance_normal, normal_balance

        container = build(settings_of(args))
        try:
            found, moment = container.queries.trial_balance(SYSTEM, args.as_of)
        finally:
            container.close()
        rows = [
            {
                **row,
                "balance": row["debits"] - row["credits"],
                "normal_balance": normal_balance(row["account"]),
                "balance_normal": balance_normal(row["account"], row["debits"], row["credits"]),
            }
            for row in sorted(found, key=lambda r: (r["currency"], r["account"]))
        ]
        if args.format == "csv":
            _write_csv(TRIAL_BALANCE_COLUMNS, rows)
        else:
            _json({"as_of": moment, "accounts": rows})
        return 0

    return run


def _json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError("must be from 1 to 500")
    return value


def register(commands: Any, with_db: WithDb, settings_of: SettingsOf) -> None:
    listing = commands.add_parser(
        "list", help="the lists finance and operations read"
    ).add_subparsers(dest="kind", required=True)
    for name, kind in KINDS.items():
        sub = with_db(listing.add_parser(name, help=f"{name}, newest first"))
        if kind.statuses:
            sub.add_argument("--status", choices=kind.statuses)
        if name in ("payouts", "disputes", "subscriptions"):
            sub.add_argument("--manufacturer", help="a manufacturer id")
        if name == "disputes":
            sub.add_argument("--from", dest="created_from", help="created at or after (ISO 8601)")
            sub.add_argument("--to", dest="created_to", help="created before (ISO 8601)")
            sub.add_argument("--due-after", help="evidence due at or after (ISO 8601)")
            sub.add_argument("--due-before", help="evidence due before (ISO 8601)")
        if name == "refunds":
            sub.add_argument("--payment", help="a payment id")
        if name == "accounts":
            sub.add_argument("--prefix", help="accounts whose name starts with this")
        sub.add_argument("--limit", type=_limit, default=100, help="rows per page (1-500)")
        sub.add_argument("--cursor", help="the next_cursor of the previous page")
        sub.add_argument("--format", choices=("json", "csv"), default="json")
        sub.set_defaults(run=_list(settings_of))

    trial = with_db(
        commands.add_parser("trial-balance", help="every account's balance per currency")
    )
    trial.add_argument("--as-of", help="ISO 8601 date-time with a zone (default: now)")
    trial.add_argument("--format", choices=("json", "csv"), default="json")
    trial.set_defaults(run=_trial_balance(settings_of))

"""`ledger attention list|resolve`: provider money the ledger could not book, held for an
operator (the same queue as GET /v1/attention)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from ledger.settings import Settings

SettingsOf = Callable[[argparse.Namespace], Settings]


def _operator() -> Any:
    from ledger.application.principal import Principal

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Principal(key_id=f"cli:{who}", scopes=frozenset({"admin"}))


def _item(item: Any) -> dict[str, Any]:
    from ledger.domain import ids

    return {
        "id": ids.encode("attention", item.id),
        "status": item.status,
        "provider": item.provider,
        "event_id": item.event_id,
        "kind": item.kind,
        "reason": item.reason,
        "payment_id": item.payment_id,
        "amount": item.amount,
        "currency": item.currency,
        "reference": item.reference,
        "created_at": item.created_on.isoformat(),
        "resolved_by": item.resolved_by,
        "resolution": item.resolution,
    }


def attention_list(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        items = container.queries.attention_items(_operator())
    finally:
        container.close()
    for item in items:
        json.dump(_item(item), sys.stdout)
        sys.stdout.write("\n")
    print(f"{len(items)} item(s) need attention", file=sys.stderr)
    return 0


def attention_resolve(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.commands import attention
    from ledger.bootstrap import build
    from ledger.domain.errors import DomainError

    container = build(settings_of(args))
    try:
        item = container.engine.execute(attention.resolve(_operator(), args.id, args.note))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    finally:
        container.close()
    json.dump(_item(item), sys.stdout)
    sys.stdout.write("\n")
    return 0


def register(
    commands: Any,
    with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    settings_of: SettingsOf,
) -> None:
    attention = commands.add_parser(
        "attention", help="provider money the ledger could not book"
    ).add_subparsers(dest="attention", required=True)
    listing = with_db(attention.add_parser("list", help="print the open items as JSON lines"))
    listing.set_defaults(run=lambda args: attention_list(args, settings_of))
    resolve = with_db(attention.add_parser("resolve", help="mark an item resolved"))
    resolve.add_argument("id", help="the item's id (att_...)")
    resolve.add_argument("--note", required=True, help="what was done about it")
    resolve.set_defaults(run=lambda args: attention_resolve(args, settings_of))

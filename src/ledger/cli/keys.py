"""`ledger keys create|list|label|expire|revoke`: API keys as an operator manages them."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.domain.api_key import SCOPES
from ledger.settings import Settings

SettingsOf = Callable[[argparse.Namespace], Settings]
_DAYS = re.compile(r"^(\d{1,5})d$")
WHEN = "an ISO 8601 date-time with a zone (2027-01-31T00:00:00Z), a date (its start, UTC), or Nd"


class CliError(Exception):
    """A refusal the CLI reports as one line on stderr, exit code 2."""


def moment(text: str, now: datetime) -> datetime:
    """--expires: an ISO date-time with a zone, a date (00:00 UTC), or a number of days."""
    days = _DAYS.match(text)
    if days:
        return now + timedelta(days=int(days.group(1)))
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--expires must be {WHEN} (got {text!r})") from None
    if parsed.tzinfo is None:
        raise CliError("--expires needs a time zone (end it with Z)")
    return parsed


def create(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.bootstrap import build

    scopes = args.scope or args.env_scopes
    if not scopes:
        raise CliError(f"give at least one --scope (or LEDGER_KEY_SCOPES): {', '.join(SCOPES)}")
    container = build(settings_of(args))
    try:
        expires = moment(args.expires, container.engine.now()) if args.expires else None
        secret, _ = container.keys.create(
            scopes, args.manufacturer, label=args.label, expires_at=expires
        )
    finally:
        container.fresh()
        container.close()
    print(secret)
    return 0


def listing(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.api_keys import OPERATOR
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        rows = container.keys.listed(OPERATOR, include_revoked=not args.active)
    finally:
        container.close()
    if args.json:
        for row in rows:
            json.dump(row, sys.stdout)
            sys.stdout.write("\n")
        return 0
    columns = ("id", "status", "label", "scopes", "manufacturer_id", "created_at", "last_used_at")
    table = [
        [_cell(row[c]) for c in columns] + [_cell(row["expires_at"] or row["revoked_at"])]
        for row in rows
    ]
    header = ["id", "status", "label", "scopes", "manufacturer", "created", "last used", "ends"]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for line in [header, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"{len(rows)} key(s)", file=sys.stderr)
    return 0


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(value)
    text = str(value)
    return text[:19].replace("T", " ") if re.match(r"^\d{4}-\d\d-\d\dT", text) else text


def _changed(key: Any, container: Any, what: str) -> int:
    shown = container.keys.describe(key)
    print(f"{shown['id']} {what} ({shown['status']})", file=sys.stderr)
    return 0


def revoke(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.api_keys import OPERATOR
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        return _changed(container.keys.revoke(OPERATOR, args.key_id), container, "revoked")
    finally:
        container.close()


def label(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.api_keys import OPERATOR
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        key = container.keys.update(OPERATOR, args.key_id, label=args.label)
        return _changed(key, container, f"labelled {key.label!r}")
    finally:
        container.close()


def expire(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.api_keys import OPERATOR
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        never = args.when == "never"
        at = None if never else moment(args.when, container.engine.now())
        key = container.keys.update(OPERATOR, args.key_id, expires_at=at, clear_expiry=never)
        return _changed(key, container, f"expires {key.expires_at or 'never'}")
    finally:
        container.close()


def register(
    commands: Any,
    with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    settings_of: SettingsOf,
) -> None:
    def bind(parser: argparse.ArgumentParser, run: Callable[..., int]) -> None:
        parser.set_defaults(run=lambda args: run(args, settings_of))

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="keys", required=True)
    made = with_db(
        keys.add_parser(
            "create",
            help="create a key; prints it once on stdout",
            description="Create an API key and print its secret once (only its hash is kept). "
            f"Scopes: {', '.join(SCOPES)} ('admin' may do everything).",
        )
    )
    made.add_argument(
        "--scope",
        action="append",
        default=None,
        choices=SCOPES,
        metavar="SCOPE",
        help=f"one of {', '.join(SCOPES)}; repeat for more (env LEDGER_KEY_SCOPES, "
        "comma-separated)",
    )
    made.set_defaults(
        env_scopes=[s for s in os.environ.get("LEDGER_KEY_SCOPES", "").split(",") if s]
    )
    made.add_argument(
        "--manufacturer",
        default=os.environ.get("LEDGER_KEY_MANUFACTURER"),
        help="bind the key to one manufacturer id (env LEDGER_KEY_MANUFACTURER)",
    )
    made.add_argument("--label", help="who or what holds the key (shown in lists and approvals)")
    made.add_argument("--expires", metavar="WHEN", help=f"when it stops working: {WHEN}")
    made.add_argument(
        "--create", action="store_true", help="start a new ledger if --db names none yet"
    )
    bind(made, create)

    listed = with_db(keys.add_parser("list", help="every key: label, scopes, use, expiry, status"))
    listed.add_argument("--active", action="store_true", help="leave out revoked keys")
    listed.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    bind(listed, listing)

    gone = with_db(keys.add_parser("revoke", help="revoke a key for good (401 from then on)"))
    gone.add_argument("key_id", help="key_... as `ledger keys list` shows it")
    bind(gone, revoke)

    named = with_db(keys.add_parser("label", help="set a key's label"))
    named.add_argument("key_id")
    named.add_argument("label")
    bind(named, label)

    ends = with_db(keys.add_parser("expire", help="set when a key stops working"))
    ends.add_argument("key_id")
    ends.add_argument("when", metavar="WHEN", help=f"{WHEN}; or 'never'")
    bind(ends, expire)

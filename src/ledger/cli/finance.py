"""Finance commands: `ledger statement`, `ledger pnl`, `ledger periods close`, and the lists
and trial balance of ledger.cli.lists.

They read and write through the application as the system principal, so they see what the API
shows an unbound finance key, and refuse what it refuses (an unknown manufacturer is exit 2)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ledger.cli import lists
from ledger.settings import Settings

WithDb = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
SettingsOf = Callable[..., Settings]


def _statement(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.principal import SYSTEM
        from ledger.bootstrap import build
        from projections.statements import lines_csv, statement_csv

        container = build(settings_of(args))
        try:
            found = container.queries.finance.statement(
                SYSTEM, args.manufacturer_id, args.period, args.view, args.lines
            )
        finally:
            container.close()
        if args.format == "csv":
            name = found.manufacturer.name
            sys.stdout.write(
                lines_csv(args.manufacturer_id, args.period, found.sections)
                if args.lines
                else statement_csv(
                    args.manufacturer_id, name, args.period, found.view, found.sections
                )
            )
            return 0
        _json(
            {
                "manufacturer_id": args.manufacturer_id,
                "name": found.manufacturer.name,
                "period": args.period,
                "view": found.view,
                "closed_at": found.closed_at,
                "currencies": found.sections,
                "difference": found.difference,
            }
        )
        return 0

    return run


def _pnl(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.principal import SYSTEM
        from ledger.bootstrap import build
        from projections.statements import pnl_csv

        container = build(settings_of(args))
        try:
            found = container.queries.finance.profit_and_loss(SYSTEM, args.period, args.view)
        finally:
            container.close()
        if args.format == "csv":
            sys.stdout.write(pnl_csv(args.period, found.view, found.sections))
        else:
            _json({"period": args.period, "view": found.view, "currencies": found.sections})
        return 0

    return run


def _close(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.commands import periods
        from ledger.application.principal import SYSTEM
        from ledger.bootstrap import build

        container = build(settings_of(args))
        try:
            books = container.engine.execute(periods.close(SYSTEM, args.period))
        finally:
            container.close()
        _json(books.closes[-1])
        return 0

    return run


def _json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def register(commands: Any, with_db: WithDb, settings_of: SettingsOf) -> None:
    statement = with_db(
        commands.add_parser("statement", help="a manufacturer's statement for a month")
    )
    statement.add_argument("manufacturer_id")
    statement.add_argument("--period", required=True, help="YYYY-MM")
    statement.add_argument(
        "--as", dest="view", choices=("issued", "restated"), help="default: issued once closed"
    )
    statement.add_argument("--lines", action="store_true", help="the lines behind each figure")
    statement.add_argument("--format", choices=("json", "csv"), default="json")
    statement.set_defaults(run=_statement(settings_of))

    pnl = with_db(commands.add_parser("pnl", help="the platform's P&L for a month"))
    pnl.add_argument("--period", required=True, help="YYYY-MM")
    pnl.add_argument("--as", dest="view", choices=("issued", "restated"))
    pnl.add_argument("--format", choices=("json", "csv"), default="json")
    pnl.set_defaults(run=_pnl(settings_of))

    periods = commands.add_parser("periods", help="accounting periods").add_subparsers(
        dest="periods", required=True
    )
    close = with_db(periods.add_parser("close", help="close the books through a month"))
    close.add_argument("period", help="YYYY-MM")
    close.set_defaults(run=_close(settings_of))

    lists.register(commands, with_db, settings_of)

"""`ledger paypal settle FILE` and `ledger reconcile --provider stripe|paypal|ach FILE_OR_ID`:
provider settlements booked, and reconciliation runs recorded (JSON on stdout)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.settings import Settings

SettingsOf = Callable[[argparse.Namespace], Settings]
WithDb = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a text file"
        raise SystemExit(f"error: cannot read {path}: {reason}") from None


def _container(settings_of: SettingsOf, args: argparse.Namespace) -> Any:
    from ledger.bootstrap import build

    return build(settings_of(args))


def _paypal_settle(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.principal import SYSTEM
        from ledger.domain.errors import InvalidInput

        text = _read(Path(args.file))
        container = _container(settings_of, args)
        try:
            booked = container.settlement_reports.settle_paypal(SYSTEM, text)
        except InvalidInput as error:
            raise SystemExit(f"error: {args.file}: {error}") from None
        finally:
            container.close()
        print(booked["outcome"])
        return 0

    return run


def _reconcile(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.principal import SYSTEM
        from ledger.domain.errors import InvalidInput

        text = None if args.provider == "stripe" else _read(Path(args.source))
        container = _container(settings_of, args)
        try:
            source = None if args.provider == "paypal" else args.source
            view = container.settlement_reports.reconcile(SYSTEM, args.provider, source, text)
        except InvalidInput as error:
            raise SystemExit(f"error: {args.source}: {error}") from None
        finally:
            container.close()
        json.dump(view, sys.stdout, indent=2)
        sys.stdout.write("\n")
        counts = ", ".join(f"{n} {kind}" for kind, n in view["breaks_count"].items())
        totals = view["totals"]
        print(
            f"{view['id']}: {totals['matched']} matched, {totals['breaks']} break(s)"
            + (f" ({counts})" if counts else ""),
            file=sys.stderr,
        )
        return 0

    return run


def register(commands: Any, with_db: WithDb, settings_of: SettingsOf) -> None:
    paypal = commands.add_parser("paypal", help="PayPal settlement").add_subparsers(
        dest="paypal", required=True
    )
    settle = with_db(paypal.add_parser("settle", help="book a settlement report (STL) once"))
    settle.add_argument("file")
    settle.set_defaults(run=_paypal_settle(settings_of))

    reconcile = with_db(
        commands.add_parser("reconcile", help="match provider transactions to the ledger")
    )
    reconcile.add_argument("--provider", required=True, choices=("stripe", "paypal", "ach"))
    reconcile.add_argument(
        "source", help="stripe: a payout id; paypal: a settlement report; ach: a NACHA file"
    )
    reconcile.set_defaults(run=_reconcile(settings_of))

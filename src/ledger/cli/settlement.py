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


def _paypal_report(path: Path) -> Any:
    from ledger.bootstrap import paypal_settlement_report
    from ledger.domain.settlement import SettlementFileError

    try:
        return paypal_settlement_report(_read(path))
    except SettlementFileError as error:
        raise SystemExit(f"error: {path}: {error} (nothing changed)") from None


def _paypal_settle(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.processes.settlements import Settlement, book_settlement
        from ledger.bootstrap import build

        report = _paypal_report(Path(args.file))
        withdrawals = [t for t in report.transactions if t.type == "payout"]
        currencies = {t.currency for t in report.transactions}
        if len(currencies) > 1:
            raise SystemExit(f"error: the report mixes currencies {sorted(currencies)}")
        settlement = Settlement(
            provider="paypal",
            payout_reference=report.report_id,
            currency=currencies.pop() if currencies else "USD",
            paid=-sum(t.amount for t in withdrawals),
            transactions=report.transactions,
            settled_on=report.period_end[:10].replace("/", "-"),
        )
        container = build(settings_of(args))
        try:
            print(book_settlement(container.engine, settlement))
        finally:
            container.close()
        return 0

    return run


def _reconcile(settings_of: SettingsOf) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from ledger.application.processes import reconciliation_inputs as inputs
        from ledger.application.processes.reconciliation import reconcile
        from ledger.application.reconciliations import run_view
        from ledger.bootstrap import build

        given: Any = None
        if args.provider == "paypal":
            report = _paypal_report(Path(args.source))
            given = inputs.settlement_report("paypal", report.report_id, report.transactions)
        elif args.provider == "ach":
            entries = _ach_entries(Path(args.source))
        container = build(settings_of(args))
        try:
            if args.provider == "stripe":
                from ledger.application.ports import PayoutReports

                source = container.webhook_sources.get("stripe")
                if not isinstance(source, PayoutReports):
                    raise SystemExit("error: Stripe is not configured (LEDGER_STRIPE_API_KEY)")
                given = inputs.stripe_payout(source, args.source)
            elif args.provider == "ach":
                given = inputs.ach_file(container.engine, args.source, entries)
            view = run_view(reconcile(container.engine, given))
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


def _ach_entries(path: Path) -> list[tuple[str, int, bool, int]]:
    from ledger.bootstrap import ach_file_entries

    try:
        return ach_file_entries(_read(path))
    except ValueError as error:
        raise SystemExit(f"error: {path} is not a NACHA file: {error} (nothing changed)") from None


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

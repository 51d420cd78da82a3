"""`ledger dlq|billing|workflows|ach` commands: operating the workflows by hand."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ledger.settings import Settings

SettingsOf = Callable[[argparse.Namespace], Settings]
REDRIVE_LOOKUP = 10_000  # dead letters read to check the ids a redrive names


def _dead_letters(container: Any) -> Any:
    from ledger.bootstrap import dead_letters

    try:
        return dead_letters(container)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def _queue_name(name: str) -> str:
    from ledger.workflows import rules

    queues = rules.load().queues
    if name not in queues:
        raise SystemExit(f"error: unknown queue {name!r}; queues: {', '.join(sorted(queues))}")
    return name


def dlq_list(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        letters = _dead_letters(container).dead_letters(_queue_name(args.queue), args.limit)
    finally:
        container.close()
    for letter in letters:
        json.dump(
            {
                "message_id": letter.message_id,
                "receive_count": letter.receive_count,
                "error": letter.error,
                "body": json.loads(letter.body) if letter.body.startswith("{") else letter.body,
            },
            sys.stdout,
        )
        sys.stdout.write("\n")
    print(f"{len(letters)} dead letter(s) on {args.queue}", file=sys.stderr)
    return 0


def dlq_redrive(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.bootstrap import build

    queue = _queue_name(args.queue)
    container = build(settings_of(args))
    try:
        letters = _dead_letters(container)
        wanted = sorted(set(args.id or ()))
        if wanted:  # every id named must be a dead letter there, or nothing is moved
            held = {letter.message_id for letter in letters.dead_letters(queue, REDRIVE_LOOKUP)}
            missing = [message_id for message_id in wanted if message_id not in held]
            if missing:
                raise SystemExit(
                    f"error: no dead letter {', '.join(missing)} on {queue} (see `ledger dlq "
                    f"list {queue}`); nothing was redriven"
                )
        moved = letters.redrive(queue, wanted or None)
        if args.run_now and container.workflows is not None:
            container.settle()
    finally:
        container.close()
    print(f"redrove {moved} message(s) to {queue}", file=sys.stderr)
    if wanted and moved < len(wanted):
        raise SystemExit(f"error: redrove {moved} of the {len(wanted)} message(s) named")
    return 0


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: {name} must be a date, YYYY-MM-DD (got {text!r})") from None


def billing_run(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.processes.billing import BillingRunIncomplete, due_charges
    from ledger.application.processes.billing import billing_run as run
    from ledger.bootstrap import build

    today = datetime.now(UTC).date()
    as_of = _day(args.as_of, "--as-of") or today
    if as_of > today and not args.dry_run:
        raise SystemExit(
            f"error: --as-of {as_of} is in the future, and a run charges customers now; "
            "add --dry-run to see what would be due then"
        )
    container = build(settings_of(args))
    try:
        if args.dry_run:
            due = due_charges(container.engine, as_of)
            json.dump(
                {"as_of": as_of.isoformat(), "dry_run": True, "due": [asdict(c) for c in due]},
                sys.stdout,
                indent=2,
            )
            sys.stdout.write("\n")
            return 0
        try:
            result = run(container.engine, as_of)
        except BillingRunIncomplete as error:
            print(f"error: some subscriptions were not billed: {error}", file=sys.stderr)
            return 1
        container.settle()
    finally:
        container.close()
    json.dump(
        {
            "as_of": as_of.isoformat(),
            "charged": result.charged,
            "failed": result.failed,
            "pending": result.pending,
        },
        sys.stdout,
        indent=2,
    )
    sys.stdout.write("\n")
    return 0


def workflows_run(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.bootstrap import build

    container = build(settings_of(args))
    try:
        handled = container.settle()
    finally:
        container.close()
    print(f"handled {handled} workflow step(s)", file=sys.stderr)
    return 0


def _ach(container: Any) -> Any:
    from ledger.bootstrap import ach_files

    try:
        return ach_files(container)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def ach_originate(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.processes.ach import originate
    from ledger.bootstrap import build

    container = build(settings_of(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        container.settle()  # submit approved ACH payouts first
        files = originate(
            container.engine, _ach(container), datetime.now(UTC), deliver=lambda f: _write(out, f)
        )
    finally:
        container.close()
    if not files:
        print("nothing to originate", file=sys.stderr)
    return 0


def _write(out: Path, file: Any) -> None:
    path = out / f"ach-{file.file_number:06d}.txt"
    path.write_text(file.text)
    print(f"{path}: {file.payouts} payout(s), {file.debits} debit(s)", file=sys.stderr)


def ach_render(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.processes.ach import rerender
    from ledger.bootstrap import build

    container = build(settings_of(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        _write(out, rerender(container.engine, _ach(container), args.file_number))
    finally:
        container.close()
    return 0


def ach_returns(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.processes.ach import apply_returns
    from ledger.bootstrap import build

    path = Path(args.file)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a text file"
        raise SystemExit(f"error: cannot read {path}: {reason}") from None
    container = build(settings_of(args))
    try:
        try:
            returns = apply_returns(container.engine, _ach(container), text)
        except ValueError as error:  # not a NACHA returns file (nothing was applied)
            raise SystemExit(f"error: {path} is not a NACHA returns file: {error}") from None
        for trace, outcome in returns:
            print(f"{trace}: {outcome}")
    finally:
        container.close()
    ignored = [trace for trace, outcome in returns if outcome.startswith("ignored")]
    if ignored:
        raise SystemExit(
            f"error: {len(ignored)} of {len(returns)} return(s) were not applied: "
            f"{', '.join(ignored)} (see above)"
        )
    return 0


def ach_settle(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from ledger.application.processes.ach_settlement import settle_due, settle_file
    from ledger.bootstrap import build

    on = _day(args.on, "--on") or datetime.now(UTC).date()
    container = build(settings_of(args))
    try:
        if args.file is None:
            settled = settle_due(container.engine, on)
        else:
            settled = [settle_file(container.engine, args.file, on)]
    finally:
        container.close()
    for result in settled:
        print(
            json.dumps(
                {
                    "file_number": result.file_number,
                    "outcome": result.outcome,
                    "debits": result.debits,
                    "collected": result.collected,
                    "currency": "USD",
                }
            )
        )
    if not settled:
        print(f"no ACH file left to settle on {on.isoformat()}", file=sys.stderr)
    refused = [r for r in settled if r.outcome.startswith(("not due", "ignored"))]
    if refused:
        raise SystemExit(f"error: file {refused[0].file_number}: {refused[0].outcome}")
    return 0


def register(
    commands: Any,
    with_db: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
    settings_of: SettingsOf,
) -> None:
    def bind(parser: argparse.ArgumentParser, run: Callable[..., int]) -> None:
        parser.set_defaults(run=lambda args: run(args, settings_of))

    dlq = commands.add_parser("dlq", help="dead-letter queues").add_subparsers(
        dest="dlq", required=True
    )
    listing = with_db(dlq.add_parser("list", help="print a queue's dead letters as JSON lines"))
    listing.add_argument("queue")
    listing.add_argument("--limit", type=int, default=100)
    bind(listing, dlq_list)
    redrive = with_db(dlq.add_parser("redrive", help="move dead letters back to their queue"))
    redrive.add_argument("queue")
    redrive.add_argument("--id", action="append", help="only these message ids (repeatable)")
    redrive.add_argument(
        "--no-run", dest="run_now", action="store_false", help="embedded: do not run them now"
    )
    bind(redrive, dlq_redrive)

    billing = commands.add_parser("billing", help="recurring billing").add_subparsers(
        dest="billing", required=True
    )
    run = with_db(billing.add_parser("run", help="charge every subscription due as of a date"))
    run.add_argument(
        "--as-of", help="YYYY-MM-DD (default: today, UTC; a later day needs --dry-run)"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print what is due as of the day; charge nothing"
    )
    bind(run, billing_run)

    workflows = commands.add_parser("workflows", help="embedded workflows").add_subparsers(
        dest="workflows", required=True
    )
    bind(
        with_db(workflows.add_parser("run", help="run routed work and due schedules now")),
        workflows_run,
    )

    ach = commands.add_parser("ach", help="ACH (NACHA files)").add_subparsers(
        dest="ach", required=True
    )
    originate = with_db(ach.add_parser("originate", help="write NACHA files of pending entries"))
    originate.add_argument("--out", default="var/ach", help="directory for the files")
    bind(originate, ach_originate)
    again = with_db(ach.add_parser("render", help="write a recorded file again"))
    again.add_argument("file_number", type=int)
    again.add_argument("--out", default="var/ach", help="directory for the file")
    bind(again, ach_render)
    returns = with_db(ach.add_parser("returns", help="apply a returns file"))
    returns.add_argument("file")
    bind(returns, ach_returns)
    settle = with_db(
        ach.add_parser("settle", help="settle files whose effective date has come (idempotent)")
    )
    settle.add_argument("--on", help="settlement date YYYY-MM-DD (default today, UTC)")
    settle.add_argument("--file", type=int, help="only this file number")
    bind(settle, ach_settle)

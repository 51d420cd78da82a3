"""`ledger` command line: serve, keys, projections, reports, and the workflow commands of
ledger.cli.workflows (dlq, billing, workflows, ach). Options default to LEDGER_* env."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ledger.cli.attention import register as register_attention_commands
from ledger.cli.finance import register as register_finance_commands
from ledger.cli.keys import CliError
from ledger.cli.keys import register as register_key_commands
from ledger.cli.workflows import register as register_workflow_commands
from ledger.settings import Settings


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """The settings a command runs with. An embedded ledger that does not exist yet is created
    only when asked (--create, `ledger init`, or `ledger serve` on its default file), so a
    mistyped --db or LEDGER_DB is an error, never a new empty ledger."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "db", None) is not None:
        values["db"] = Path(args.db)
    settings = Settings(**values)
    if settings.persistence != "sqlite" or settings.db.exists():
        return settings
    named = getattr(args, "db", None) is not None or "LEDGER_DB" in os.environ
    if getattr(args, "create", False) or (getattr(args, "create_default", False) and not named):
        print(f"creating a new ledger at {settings.db}", file=sys.stderr)
        return settings
    raise CliError(
        f"no ledger at {settings.db} (check --db or LEDGER_DB; to start a new one there, "
        f"pass --create or run: {_ledger_command()} init --db {settings.db})"
    )


def _init(args: argparse.Namespace) -> int:
    from ledger.bootstrap import build

    settings = Settings(db=Path(args.db)) if args.db is not None else Settings()
    if settings.persistence != "sqlite":
        raise CliError("ledger init creates an embedded (SQLite) ledger; LEDGER_PERSISTENCE is set")
    if settings.db.exists():
        raise CliError(f"a ledger already exists at {settings.db}")
    build(settings).close()
    print(f"created a new ledger at {settings.db}", file=sys.stderr)
    return 0


def _ledger_command() -> str:
    """How to call this program again: the script beside this interpreter when there is one."""
    script = Path(sys.executable).parent / "ledger"
    if script.exists():
        try:
            return str(script.relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return "ledger"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from ledger.bootstrap import build

    settings = _settings(args, host=args.host, port=args.port)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    container = build(settings)
    if container.fresh().count_api_keys() == 0:
        print(
            "No API keys yet. Create one (shown once, only its hash is stored):\n"
            f"  {_ledger_command()} keys create --scope admin --db {settings.db}\n"
            "then call the API with 'Authorization: Bearer <key>'.",
            file=sys.stderr,
            flush=True,
        )
    print(
        f"Ledger on http://{settings.host}:{settings.port} (events: {settings.db}; "
        f"docs: http://{settings.host}:{settings.port}/docs)",
        file=sys.stderr,
        flush=True,
    )
    app = create_app(container)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,  # our own access log never prints raw paths or query strings
    )
    container.close()
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from ledger.bootstrap import build, rebuild_read_models

    container = build(_settings(args))
    try:
        applied = rebuild_read_models(container)
    finally:
        container.close()
    print(f"rebuilt read models from {applied} events", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from ledger.application.principal import SYSTEM
    from ledger.bootstrap import build
    from ledger.domain.manufacturer import Manufacturer
    from projections.reports import report_csv

    container = build(_settings(args))
    try:
        if container.engine.find(Manufacturer, "manufacturer", args.manufacturer_id) is None:
            raise CliError(f"no manufacturer {args.manufacturer_id!r} in this ledger")
        period = None if args.start or args.end else args.period
        sections = container.queries.manufacturer_report(
            SYSTEM, args.manufacturer_id, period=period, start=args.start, end=args.end
        ).sections
    finally:
        container.close()
    if args.format == "csv":
        sys.stdout.write(report_csv(args.manufacturer_id, sections))
    else:
        json.dump(
            {
                "manufacturer_id": args.manufacturer_id,
                "period": args.period,
                "currencies": sections,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line too (subcommands' parsers are of this class as well)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {_one_line(message)} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    root = _OneLineParser(prog="ledger", description="Event-sourced payments ledger.")
    commands = root.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help="SQLite event store file (env LEDGER_DB)")
        return p

    serve = with_db(commands.add_parser("serve", help="run the API with in-process projections"))
    serve.add_argument("--host", help="bind address (env LEDGER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env LEDGER_PORT, default 8000)")
    serve.add_argument(
        "--create",
        action="store_true",
        help="start a new ledger if --db names none yet (the default file is created anyway)",
    )
    serve.set_defaults(run=_serve, create_default=True)

    init = with_db(commands.add_parser("init", help="create a new, empty embedded ledger"))
    init.set_defaults(run=_init)

    register_key_commands(commands, with_db, _settings)

    projections = commands.add_parser("projections", help="read models").add_subparsers(
        dest="projections", required=True
    )
    rebuild = with_db(projections.add_parser("rebuild", help="recompute from all events"))
    rebuild.set_defaults(run=_rebuild)

    report = commands.add_parser("report", help="reports").add_subparsers(
        dest="report", required=True
    )
    manufacturer = with_db(report.add_parser("manufacturer", help="manufacturer statement"))
    manufacturer.add_argument("manufacturer_id")
    manufacturer.add_argument(
        "--period",
        default=os.environ.get("LEDGER_REPORT_PERIOD"),
        help="YYYY-MM (env LEDGER_REPORT_PERIOD), or --from and --to",
    )
    manufacturer.add_argument("--from", dest="start", help="YYYY-MM-DD")
    manufacturer.add_argument("--to", dest="end", help="YYYY-MM-DD, inclusive")
    manufacturer.add_argument(
        "--format",
        choices=("json", "csv"),
        default=os.environ.get("LEDGER_REPORT_FORMAT", "json"),
        help="json or csv (env LEDGER_REPORT_FORMAT)",
    )
    manufacturer.set_defaults(run=_report)
    register_workflow_commands(commands, with_db, _settings)
    register_attention_commands(commands, with_db, _settings)
    register_finance_commands(commands, with_db, _settings)
    return root


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Every refusal or failure is one line on stderr and a non-zero exit: 2 for what the
    caller asked wrong (bad input, a refused rule, nothing found), 1 for what failed."""
    from pydantic import ValidationError

    from ledger.domain.errors import DomainError

    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CliError as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"error: {_one_line(error.message)}", file=sys.stderr)
        return 2
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        print(f"error: invalid settings: {_one_line(problems)}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f": {error.filename}" if error.filename else ""
        print(f"error: {_one_line(error.strerror or error)}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        logging.getLogger("ledger.cli").debug("failed", exc_info=True)
        print(f"error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return 1

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
from typing import Any

from ledger.cli.finance import register as register_finance_commands
from ledger.cli.workflows import register as register_workflow_commands
from ledger.settings import Settings


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if getattr(args, "db", None) is not None:
        values["db"] = Path(args.db)
    return Settings(**values)


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


def _keys_create(args: argparse.Namespace) -> int:
    from ledger.bootstrap import build
    from ledger.domain.errors import DomainError

    scopes = args.scope or args.env_scopes
    if not scopes:
        print("error: give at least one --scope (or LEDGER_KEY_SCOPES)", file=sys.stderr)
        return 2
    container = build(_settings(args))
    try:
        secret, _ = container.keys.create(scopes, args.manufacturer)
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    finally:
        container.fresh()
        container.close()
    print(secret)
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
    from projections.reports import report_csv

    container = build(_settings(args))
    try:
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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ledger", description="Event-sourced payments ledger.")
    commands = root.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help="SQLite event store file (env LEDGER_DB)")
        return p

    serve = with_db(commands.add_parser("serve", help="run the API with in-process projections"))
    serve.add_argument("--host", help="bind address (env LEDGER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (env LEDGER_PORT, default 8000)")
    serve.set_defaults(run=_serve)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="keys", required=True)
    create = with_db(keys.add_parser("create", help="create a key; prints it once on stdout"))
    env_scopes = [s for s in os.environ.get("LEDGER_KEY_SCOPES", "").split(",") if s]
    create.add_argument(
        "--scope",
        action="append",
        default=None,
        help="repeat for more scopes (env LEDGER_KEY_SCOPES, comma-separated)",
    )
    create.set_defaults(env_scopes=env_scopes)
    create.add_argument(
        "--manufacturer",
        default=os.environ.get("LEDGER_KEY_MANUFACTURER"),
        help="bind the key to one manufacturer id (env LEDGER_KEY_MANUFACTURER)",
    )
    create.set_defaults(run=_keys_create)

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
    register_finance_commands(commands, with_db, _settings)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    from ledger.domain.errors import DomainError

    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except DomainError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2

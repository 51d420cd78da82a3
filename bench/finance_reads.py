"""Finance reads over 100,000 payments on SQLite: a manufacturer's statement for a month, the
platform P&L and the trial balance (now and as of a moment), through the HTTP app as a finance
user calls them (JSON and CSV), timed and checked.

Seeding: each kind of money move (a capture; a partial refund; a dispute opened, then lost; a
payout) is recorded once through the engine and projected by the follower, as in production.
The read-model rows that wrote (statement lines and postings) are then copied for every
synthetic payment with its own ids and times (one executemany per table) and the balances are
summed from the postings. The reads so run on exactly the rows the projection writes, at
volume, without spending minutes recording 100,000 payments' events. Half the payments are one
manufacturer's (the statement timed is its: the largest); 10 % are partly refunded, 2 % lost to
a dispute; each manufacturer is paid out monthly. 2026-01 and 2026-02 are closed, 2026-03 open.

    python -m bench.finance_reads [--payments N] [--manufacturers M] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.support.seed import create_payment, register

from api.app import create_app
from ledger.application.commands import disputes, payouts, periods, refunds
from ledger.application.principal import SYSTEM, Principal
from ledger.bootstrap import Container, build
from ledger.settings import Settings

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 90  # 2026-01-01 .. 2026-03-31
TEMPLATE_AT = datetime(2025, 12, 1, 9, tzinfo=UTC)
KINDS = ("capture", "refund", "dispute", "payout")  # recorded an hour apart, in this order
CLOSER = Principal(key_id="key_bench", scopes=frozenset({"finance:close"}))


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Template:
    """The rows one kind of money move wrote, ids replaced by {hex}, {uuid} and {mfr}, times
    kept as offsets from when the kind was recorded."""

    lines: list[tuple[timedelta, timedelta, dict[str, Any]]]  # effective, recorded offsets
    postings: list[tuple[timedelta, str, str, int, str]]  # offset, account, currency, amount, ref


def record_templates(container: Container, clock: Clock) -> tuple[dict[str, Template], str]:
    """Each kind once through the engine, projected; returns its rows per kind."""
    engine = container.engine
    maker = register(engine, name="Template", fee_bps=250, refund_fee_policy="refund_fee")
    mid = f"mfr_{maker.id.hex}"
    payment = create_payment(engine, mid, 10_000)
    pid = f"pay_{payment.id.hex}"
    clock.at += timedelta(hours=1)
    engine.execute(refunds.request(SYSTEM, pid, 2500, None))
    clock.at += timedelta(hours=1)
    _, opened = engine.execute(disputes.open_(SYSTEM, pid, 1000, None))
    engine.execute(disputes.close(SYSTEM, opened, "lost"))
    clock.at += timedelta(hours=1)
    payout = engine.execute(payouts.request(SYSTEM, mid, 3000, "USD"))
    container.settle()  # the payout is booked once executed
    assert container.follower is not None
    container.follower.catch_up()

    names = {
        payment.id.hex: "{hex}",
        str(payment.id): "{uuid}",
        payout.id.hex: "{hex}",
        str(payout.id): "{uuid}",
        mid: "{mfr}",
    }

    def generic(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for name, placeholder in names.items():
            value = value.replace(name, placeholder)
        return value

    def kind_of(at: str) -> tuple[str, datetime]:
        hours = int((_moment(at) - TEMPLATE_AT) / timedelta(hours=1))
        return KINDS[hours], TEMPLATE_AT + timedelta(hours=hours)

    kinds = {kind: Template([], []) for kind in KINDS}
    db = sqlite3.connect(container.settings.read_model_path)
    db.row_factory = sqlite3.Row
    for row in db.execute("SELECT * FROM rm_statement_lines ORDER BY line_id"):
        kind, base = kind_of(row["recorded_at"])
        values = {k: generic(v) for k, v in dict(row).items() if k != "line_id"}
        values["ref"] = generic(row["line_id"].split("#", 1)[1])
        effective = _moment(row["effective_at"]) - base
        kinds[kind].lines.append((effective, _moment(row["recorded_at"]) - base, values))
    for row in db.execute("SELECT * FROM rm_postings ORDER BY seq"):
        kind, base = kind_of(row["at"])
        kinds[kind].postings.append(
            (
                _moment(row["at"]) - base,
                generic(row["account"]),
                row["currency"],
                row["amount"],
                generic(row["entry_ref"]),
            )
        )
    db.close()
    assert all(kinds[k].lines and kinds[k].postings for k in KINDS), kinds
    return kinds, mid


def _copies(payments: int, manufacturers: list[str]) -> Iterator[tuple[str, str, str, str, str]]:
    """(kind, hex id, uuid, manufacturer, time) of every money move of the synthetic history."""
    rng = random.Random(12)
    step = timedelta(days=DAYS) / payments
    others = len(manufacturers) - 1
    for i in range(payments):
        at = START + i * step
        mfr = manufacturers[0] if i % 2 == 0 else manufacturers[1 + (i // 2) % others]
        hex_ = f"{rng.getrandbits(128):032x}"
        uuid_ = str(uuid.UUID(hex_))
        moves = [
            "capture",
            *(["refund"] if i % 10 == 3 else []),
            *(["dispute"] if i % 50 == 7 else []),
        ]
        for offset, kind in enumerate(moves):
            yield kind, hex_, uuid_, mfr, _text(at + timedelta(minutes=offset))
    for month in (1, 2, 3):
        for mfr in manufacturers:
            hex_ = f"{rng.getrandbits(128):032x}"
            yield (
                "payout",
                hex_,
                str(uuid.UUID(hex_)),
                mfr,
                _text(datetime(2026, month, 28, 18, tzinfo=UTC)),
            )


def _named(column: str) -> str:
    """SQL filling a template column's placeholders from the copy (c) it is made for."""
    inner = f"replace(replace(t.{column}, '{{hex}}', c.hex), '{{uuid}}', c.uuid)"
    return f"replace({inner}, '{{mfr}}', c.mfr)"


def seed(
    container: Container, kinds: dict[str, Template], payments: int, manufacturers: list[str]
) -> tuple[int, int]:
    """Writes the synthetic history's read-model rows in SQL (the templates joined with the
    copies); returns how many statement lines and postings it wrote."""
    db = sqlite3.connect(container.settings.read_model_path, isolation_level=None)
    # bench data: nothing to keep if the machine fails half way
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA temp_store=MEMORY")
    columns = [row[1] for row in db.execute("PRAGMA table_info(rm_statement_lines)")]
    values = [c for c in columns if c not in ("line_id", "effective_at", "recorded_at")]
    assert values[0] == "owner"
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE copies (kind, hex, uuid, mfr, at)")
    db.execute(f"CREATE TEMP TABLE lines (kind, ref, {', '.join(values)})")
    db.execute("CREATE TEMP TABLE postings (kind, account, currency, amount, ref)")
    db.executemany("INSERT INTO copies VALUES (?, ?, ?, ?, ?)", _copies(payments, manufacturers))
    marks = ", ".join("?" for _ in values)
    for kind, template in kinds.items():
        for effective, recorded, row in template.lines:
            assert effective == recorded == timedelta(0), "a kind is recorded in one instant"
            db.execute(
                f"INSERT INTO lines VALUES (?, ?, {marks})",
                (kind, row["ref"], *(row[c] for c in values)),
            )
        for offset, account, currency, amount, ref in template.postings:
            assert offset == timedelta(0)
            db.execute(
                "INSERT INTO postings VALUES (?, ?, ?, ?, ?)",
                (kind, account, currency, amount, ref),
            )
    filled = ", ".join(_named(c) for c in values)
    db.execute(
        f"INSERT INTO rm_statement_lines (line_id, effective_at, recorded_at, {', '.join(values)}) "
        f"SELECT c.at || '#' || {_named('ref')}, c.at, c.at, {filled} "
        "FROM copies c JOIN lines t ON t.kind = c.kind ORDER BY 4, 1"  # (owner, line_id)
    )
    db.execute(
        "INSERT INTO rm_postings (account, currency, amount, at, entry_ref) "
        f"SELECT {_named('account')}, t.currency, t.amount, c.at, {_named('ref')} "
        "FROM copies c JOIN postings t ON t.kind = c.kind ORDER BY c.at"
    )
    db.execute("DELETE FROM rm_balances")
    db.execute(
        "INSERT INTO rm_balances (account, currency, debits, credits) "
        "SELECT account, currency, SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), "
        "SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) FROM rm_postings "
        "GROUP BY account, currency"
    )
    db.execute("COMMIT")
    (count,) = db.execute("SELECT COUNT(*) FROM rm_statement_lines").fetchone()
    (posted,) = db.execute("SELECT COUNT(*) FROM rm_postings").fetchone()
    db.close()
    return int(count), int(posted)


def _median_seconds(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of `repeat` calls (the CPU of this process: the reads run in
    its thread, SQLite included), and the last answer."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--manufacturers", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-finance-") as tmp:
        clock = Clock(TEMPLATE_AT)
        container = build(
            Settings(persistence="sqlite", db=Path(tmp) / "ledger.sqlite3"), clock=clock
        )
        try:
            kinds, _ = record_templates(container, clock)
            made = [
                register(
                    container.engine, name=f"M{n}", fee_bps=250, refund_fee_policy="refund_fee"
                )
                for n in range(args.manufacturers)
            ]
            made_ids = [f"mfr_{maker.id.hex}" for maker in made]
            seeding, seeding_cpu = time.perf_counter(), time.process_time()
            line_count = seed(container, kinds, args.payments, made_ids)
            seeded_in = (time.perf_counter() - seeding, time.process_time() - seeding_cpu)
            clock.at = datetime(2026, 4, 2, 9, tzinfo=UTC)
            container.engine.execute(periods.close(CLOSER, "2026-02"))
            assert container.follower is not None
            container.follower.catch_up()
            secret, _ = container.keys.create(["finance:read"], None)
            auth = {"Authorization": f"Bearer {secret}"}
            report(container, auth, made_ids[0], args, line_count, seeded_in)
        finally:
            container.close()
    print(f"\ntotal {time.perf_counter() - began:.1f} s (seeding included)")


def report(
    container: Container,
    auth: dict[str, str],
    big: str,
    args: argparse.Namespace,
    lines: tuple[int, int],
    seeded_in: tuple[float, float],
) -> None:
    payments, repeat = args.payments, args.repeat
    big_payments = (payments + 1) // 2
    print(
        f"finance reads on SQLite: {payments:,} payments, {args.manufacturers} manufacturers, "
        f"{lines[0]:,} statement lines and {lines[1]:,} postings seeded in "
        f"{seeded_in[0]:.1f} s ({seeded_in[1]:.1f} s CPU); "
        f"CPython {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f}; median of {repeat}"
    )
    client = TestClient(create_app(container, follow=False))
    checks: list[str] = []

    def get(path: str, csv: bool = False, /, **params: str) -> Any:
        headers = {**auth, **({"Accept": "text/csv"} if csv else {})}
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        return answer

    statement = f"/v1/statements/manufacturers/{big}"
    runs = [
        ("statement 2026-03 (open), JSON", big_payments, lambda: get(statement, period="2026-03")),
        (
            "statement 2026-03 (open), CSV",
            big_payments,
            lambda: get(statement, True, period="2026-03"),
        ),
        (
            "statement 2026-02 issued, CSV",
            big_payments,
            lambda: get(statement, True, period="2026-02"),
        ),
        (
            "statement 2026-02 restated + difference",
            big_payments,
            lambda: get(statement, period="2026-02", **{"as": "restated"}),
        ),
        (
            "statement 2026-03 with lines, CSV",
            big_payments,
            lambda: get(statement, True, period="2026-03", lines="true"),
        ),
        (
            "platform P&L 2026-03, JSON",
            payments,
            lambda: get("/v1/reports/platform/pnl", period="2026-03"),
        ),
        (
            "platform P&L 2026-03, CSV",
            payments,
            lambda: get("/v1/reports/platform/pnl", True, period="2026-03"),
        ),
        ("trial balance now, CSV", payments, lambda: get("/v1/ledger/trial-balance", True)),
        (
            "trial balance as of 2026-03-01, JSON",
            payments,
            lambda: get("/v1/ledger/trial-balance", as_of="2026-03-01T00:00:00Z"),
        ),
    ]
    print(
        "\n| read | seconds | CPU seconds | payments covered | payments/s |\n|---|---|---|---|---|"
    )
    results: dict[str, Any] = {}
    for name, covered, call in runs:
        seconds, cpu, answer = _median_seconds(call, repeat)
        results[name] = answer
        print(f"| {name} | {seconds:.3f} | {cpu:.3f} | {covered:,} | {covered / seconds:,.0f} |")

    # The figures must be right, not only fast.
    (usd,) = results["statement 2026-03 (open), JSON"].json()["currencies"]
    payable = container.read_models.balance(f"manufacturer:{big}:payable", "USD", None)
    movements = sum(
        usd[k]
        for k in (
            "sales",
            "platform_fees",
            "refunds",
            "fees_returned",
            "disputes_lost",
            "payouts",
            "adjustments",
        )
    )
    assert usd["opening_balance"] + movements == usd["closing_balance"]
    assert usd["closing_balance"] == payable[1] - payable[0], (usd, payable)
    checks.append("statement: opening + movements = closing = the payable balance")
    trial = results["trial balance as of 2026-03-01, JSON"].json()
    assert all(c["balanced"] for c in trial["currencies"])
    checks.append("trial balance as of 2026-03-01 balances")
    (pnl,) = results["platform P&L 2026-03, JSON"].json()["currencies"]
    assert pnl["fee_revenue"] > 0
    costs = pnl["fees_returned"] + pnl["provider_fees"] + pnl["dispute_losses"]
    assert pnl["net"] == pnl["fee_revenue"] - costs + pnl["adjustments"]
    checks.append("P&L: net = revenue - returned - provider fees - dispute losses")
    print("\nchecked: " + "; ".join(checks))


if __name__ == "__main__":
    main()

"""What a payment costs on DynamoDB: write units (events and read models), the hottest partition
keys at 5,000 payments a second, and dollars per million payments all-in.

The real `api` handler (API Gateway HTTP API events) records the payments on DynamoDB Local; the
events table's stream is read back and handed to the real `projections` handler as Lambda sends
it (batches of 100 records, or one payment's records a batch, with the tumbling window's
shardId), after the mapping's filter. Every item written is counted and billed by AWS's rules
(bench.write_units). Durations are measured here, on DynamoDB Local: Lambda on AWS would differ.

    python -m bench.dynamodb_read_models [--payments N] [--single N]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.dynamodb_tables import create_ledger_tables, ledger_settings, read_stream
from tests.support.lambda_events import (
    LambdaContext,
    http_api_event,
    projection_batch,
    stream_batch,
)

from bench.dynamodb_captures import captures
from bench.write_units import Meter, install

RATE = 5_000  # payments a second, the load
MANUFACTURERS = 1_000  # Zipf-distributed volume (s = 1)
PARTITION_WCU = 1_000  # what one partition key takes a second
SHARD = "shardId-00000001-bench"
RULES = Path(__file__).resolve().parents[1] / "terraform" / "workflow_rules.json"
OWNER_SHARDS = 4  # projections.stores.dynamodb_items.OWNER_SHARDS

# On-demand prices, us-east-1, as AWS publishes them (DynamoDB after the November 2024 cut).
PRICES = {  # dollars; the others, used as literals below: API Gateway HTTP API $1.00 a million
    # requests, DynamoDB $0.625 a million write and $0.125 a million read units, EventBridge
    # $1.00 a million events, SQS $0.40 a million requests
    "lambda_gb_second_arm": 0.0000133334,
    "lambda_requests_per_million": 0.20,
}
MEMORY_GB = {"api": 1.0, "projections": 0.5, "publisher": 0.5, "worker": 0.5}  # prod tfvars
PUT_EVENTS_SECONDS = 0.025  # assumed round trip of one PutEvents call (not measurable here)


def _key() -> str:
    return f"k-{uuid.uuid4().hex[:12]}"


def zipf_top_share(count: int = MANUFACTURERS) -> float:
    return 1 / sum(1 / rank for rank in range(1, count + 1))


@dataclass
class Run:
    name: str
    payments: int = 0
    events_wcu: float = 0.0
    events_once: float = 0.0
    read_model_wcu: float = 0.0
    registry_wcu: float = 0.0
    api_rru: float = 0.0
    projection_rru: float = 0.0
    api_seconds: float = 0.0
    worker_seconds: float = 0.0
    refunds: int = 0
    batches: int = 0
    projection_seconds: float = 0.0
    records: int = 0
    records_all: int = 0
    published: int = 0
    queued: int = 0
    publisher_seconds: float = 0.0
    publisher_batches: int = 0
    per_key: Counter[str] = field(default_factory=Counter)
    touched_by: Counter[str] = field(default_factory=Counter)  # payments writing each key
    payments_of: Counter[str] = field(default_factory=Counter)
    idempotency_bytes: int = 0
    read_models_table: str = ""
    events_table: str = ""

    def per_payment(self, value: float) -> float:
        return value / self.payments if self.payments else 0.0


class Ledger:
    """One stack on DynamoDB Local: tables, container, api and projections handlers."""

    def __init__(self, endpoint: str, meter: Meter) -> None:
        from ledger.bootstrap import build
        from ledger.lambdas import api as api_lambda
        from ledger.lambdas import projections as projections_lambda
        from projections.stores.dynamodb_stream import StreamProjector

        self.endpoint = endpoint
        self.meter = meter
        self.tables = create_ledger_tables(endpoint, f"b{uuid.uuid4().hex[:10]}")
        self.container = build(ledger_settings(self.tables))
        secret, _ = self.container.keys.create(["admin"])
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.api = api_lambda.make_handler(self.container)
        projector = StreamProjector(self.container.engine.mapper, self.container.read_models)  # type: ignore[arg-type]
        self.projections = projections_lambda.make_handler(projector)
        self.seen: set[str] = set()
        self.manufacturers: dict[int, str] = {}
        self.random = random.Random(7)

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.api(
            http_api_event(method, path, body=body, headers=headers), LambdaContext()
        )
        raw = response["body"]
        if response.get("isBase64Encoded"):
            raw = base64.b64decode(raw).decode()
        assert response["statusCode"] < 300, raw
        return json.loads(raw)

    def manufacturer(self, rank: int) -> str:
        if rank not in self.manufacturers:
            made = self.call(
                "POST", "/v1/manufacturers", {"name": f"M{rank}", "fee_bps": 250}, _key()
            )
            self.manufacturers[rank] = made["id"]
        return self.manufacturers[rank]

    def draw(self) -> int:
        weights = [1 / rank for rank in range(1, MANUFACTURERS + 1)]
        return self.random.choices(range(1, MANUFACTURERS + 1), weights)[0]

    def new_records(self) -> list[dict[str, Any]]:
        records = [
            r
            for r in read_stream(self.endpoint, self.tables["stream_arn"])
            if r["dynamodb"]["SequenceNumber"] not in self.seen
        ]
        self.seen.update(r["dynamodb"]["SequenceNumber"] for r in records)
        return records


def _projected(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the mapping's filter lets through (terraform/streams.tf)."""
    from projections.logic import is_projected_topic

    return [
        r
        for r in records
        if r.get("eventName") == "INSERT"
        and is_projected_topic(r["dynamodb"].get("NewImage", {}).get("topic", {}).get("S", ""))
    ]


def _draw(ledger: Ledger, splits: int) -> list[int]:
    ranks = [ledger.draw() for _ in range(splits)]
    while len(set(ranks)) < splits:
        ranks = [ledger.draw() for _ in range(splits)]
    return ranks


def _pay(ledger: Ledger, run: Run, ranks: list[int], refund: bool) -> None:
    splits = len(ranks)
    owners = [ledger.manufacturer(rank) for rank in ranks]
    amounts = [6000, 4000][:splits] if splits > 1 else [10_000]
    body = {
        "amount": sum(amounts),
        "currency": "USD",
        "customer_id": "c",
        "payment_method": "pm",
        "splits": [
            {"manufacturer_id": m, "amount": a} for m, a in zip(owners, amounts, strict=True)
        ],
    }
    ledger.meter.reset()
    started = time.perf_counter()
    payment = ledger.call("POST", "/v1/payments", body, _key())
    run.api_seconds += time.perf_counter() - started
    if refund:
        from ledger.application.processes.execution import execute_refund

        made = ledger.call(
            "POST",
            f"/v1/payments/{payment['id']}/refunds",
            {"amount": 1234},
            _key(),
        )
        started = time.perf_counter()
        execute_refund(ledger.container.engine, made["id"])
        run.worker_seconds += time.perf_counter() - started
        run.refunds += 1
    events = ledger.tables["events"]
    run.events_wcu += ledger.meter.writes[events]
    run.events_once += ledger.meter.once[events]
    run.api_rru += sum(ledger.meter.reads.values())
    for key, units in ledger.meter.per_key.items():
        if key.startswith(events + " "):
            run.per_key[key] += units
            run.touched_by[key] += 1
    recorded = ledger.meter.sizes.get("IdempotencyRecord.Recorded", 0)
    run.idempotency_bytes = max(run.idempotency_bytes, recorded)
    for owner in owners:
        run.payments_of[owner] += 1
    run.payments += 1


def _project(ledger: Ledger, run: Run, records: list[dict[str, Any]], size: int) -> None:
    run.records_all += len(records)
    _publish(ledger, run, records)
    wanted = _projected(records)
    run.records += len(wanted)
    table = ledger.tables["read_models"]
    for start in range(0, len(wanted), size):
        batch = wanted[start : start + size]
        ledger.meter.reset()
        started = time.perf_counter()
        answer = ledger.projections(
            projection_batch(batch, ledger.tables["stream_arn"], SHARD), LambdaContext()
        )
        run.projection_seconds += time.perf_counter() - started
        assert answer["batchItemFailures"] == [], answer
        run.batches += 1
        for key, units in ledger.meter.per_key.items():
            if key.startswith(table):
                run.per_key[key] += units
        run.read_model_wcu += ledger.meter.writes[table]
        run.registry_wcu += ledger.meter.once[table]
        run.projection_rru += ledger.meter.reads[table]


def _routed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the publisher mapping's filter lets through (terraform/streams.tf): the INSERTs of
    the events a workflow rule matches."""
    from ledger.workflows import rules

    routed = rules.load().routed_detail_types()
    assert routed is not None
    return [
        r
        for r in records
        if r.get("eventName") == "INSERT"
        and r["dynamodb"].get("NewImage", {}).get("topic", {}).get("S", "").rpartition(":")[2]
        in routed
    ]


def _publish(ledger: Ledger, run: Run, records: list[dict[str, Any]]) -> None:
    """The publisher's own work on the batches its filter lets through (EventBridge stubbed:
    its round trips are PUT_EVENTS_SECONDS each), and how many entries and queue messages
    result; a batch no record of which a rule matches never invokes it."""
    from ledger.adapters.eventbridge import EventBridgePublisher
    from ledger.lambdas import publisher as publisher_lambda
    from ledger.workflows import rules

    document = json.loads(RULES.read_text())["rules"]
    routed = {t for rule in document.values() for t in rule["event_pattern"]["detail-type"]}

    class Bus:
        calls = 0

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            Bus.calls += 1
            run.published += len(Entries)
            run.queued += sum(1 for e in Entries if e["DetailType"] in routed)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}

    handler = publisher_lambda.make_handler(
        EventBridgePublisher(
            Bus(),
            "bus",
            ledger.container.engine.mapper,
            routed=rules.load().routed_detail_types(),
        )
    )
    wanted = _routed(records)
    for start in range(0, len(wanted), 100):
        started = time.perf_counter()
        handler(
            stream_batch(wanted[start : start + 100], ledger.tables["stream_arn"]), LambdaContext()
        )
        run.publisher_seconds += time.perf_counter() - started
        run.publisher_batches += 1
    run.publisher_seconds += Bus.calls * PUT_EVENTS_SECONDS


def scenario(
    endpoint: str, meter: Meter, name: str, payments: int, splits: int, refund: bool, single: bool
) -> Run:
    """Payments through the api, projected in batches of 100 records or one payment a batch;
    the manufacturers drawn are registered and projected first (not counted)."""
    ledger = Ledger(endpoint, meter)
    run = Run(name, read_models_table=ledger.tables["read_models"])
    run.events_table = ledger.tables["events"]
    draws = [_draw(ledger, splits) for _ in range(payments + 1)]
    for ranks in draws:
        for rank in ranks:
            ledger.manufacturer(rank)
    _pay(ledger, Run("warm"), draws[0], refund)
    _project(ledger, Run("warm"), ledger.new_records(), 100)
    for ranks in draws[1:]:
        _pay(ledger, run, ranks, refund)
        if single:
            _project(ledger, run, ledger.new_records(), 100)
    if not single:
        _project(ledger, run, ledger.new_records(), 100)
    ledger.container.close()
    return run


def _print_run(run: Run) -> None:
    once = run.per_payment(run.events_once + run.registry_wcu)
    print(
        f"  {run.name:<34}{run.payments:>5}{run.per_payment(run.events_wcu):>8.2f}"
        f"{run.per_payment(run.read_model_wcu):>8.2f}{once:>7.2f}"
        f"{run.records / max(run.batches, 1):>8.1f}"
        f"{1000 * run.api_seconds / max(run.payments, 1):>8.0f}"
        f"{1000 * run.projection_seconds / max(run.batches, 1):>8.0f}"
    )


def hot_keys(run: Run, events_per_payment: float) -> tuple[int, list[tuple[float, str, str]]]:
    """(stream shards at RATE, [(projected WCU/s, key, how)]) for the keys payments share."""
    shards = max(1, math.ceil(RATE * events_per_payment / PARTITION_WCU))
    top = zipf_top_share()
    out = []
    for key, units in run.per_key.items():
        lane = key.endswith("#" + SHARD)
        owner = next((m for m in run.payments_of if m in key), None)
        if " pay_" in key or "#pay_" in key or "#re_" in key:
            continue  # one payment's (or refund's) own row
        if key.startswith(run.events_table + " ") and run.touched_by[key] <= 1:
            continue  # one payment's own aggregate or idempotency record
        if " meta#" in key:
            rate, how = float(shards), "heartbeat: at most once a second a shard"
        elif owner is not None:
            # The key's family: its maker's keys of the same kind, over their shards.
            family = key[: key.index(owner) + len(owner)]
            share = sum(u for k, u in run.per_key.items() if k.startswith(family))
            per = share / run.payments_of[owner]
            spread = OWNER_SHARDS if "/gsi2 " in key else 1
            spread *= shards if lane else 1
            rate = per * RATE * top / spread
            how = f"{per:.2f}/payment of its maker x {RATE} x {top:.3f} (top share)"
            how += f" / {spread} keys" if spread > 1 else ""
        else:
            per = units / run.payments
            rate = per * RATE / (shards if lane else 1)
            how = f"{per:.3f}/payment x {RATE}" + (f" / {shards} shards" if lane else "")
        out.append((rate, key, how))
    return shards, sorted(out, reverse=True)


def _cost_lines(run: Run) -> list[tuple[str, float]]:
    million = 1_000_000
    p = PRICES
    gbs = p["lambda_gb_second_arm"]
    invoke = p["lambda_requests_per_million"]
    calls = 1 + run.refunds / run.payments  # API requests a payment
    lines = [(f"API Gateway HTTP API: {calls:.2f} req x $1.00/M", calls * 1.00)]
    api_s = run.api_seconds / run.payments / calls
    api_gbs = calls * million * api_s * MEMORY_GB["api"]
    lines.append(
        (
            f"api Lambda: {calls:.2f} inv x {1000 * api_s:.0f} ms x 1 GB = {api_gbs:,.0f} GB-s",
            api_gbs * gbs + calls * invoke,
        )
    )
    batches = run.batches / run.payments
    batch_s = run.projection_seconds / max(run.batches, 1)
    proj_gbs = batches * million * batch_s * MEMORY_GB["projections"]
    lines.append(
        (
            f"projections: {batches:.3f} inv x {1000 * batch_s:.0f} ms x 0.5 GB"
            f" = {proj_gbs:,.0f} GB-s",
            proj_gbs * gbs + batches * invoke,
        )
    )
    published = run.publisher_batches / run.payments
    pub_s = run.publisher_seconds / max(run.publisher_batches, 1)
    pub_gbs = published * million * pub_s * MEMORY_GB["publisher"]
    lines.append(
        (
            f"publisher (routed events only): {published:.3f} x {1000 * pub_s:.0f} ms x 0.5 GB"
            f" = {pub_gbs:,.0f} GB-s",
            pub_gbs * gbs + published * invoke,
        )
    )
    if run.refunds:
        work = run.refunds / run.payments
        worker_s = run.worker_seconds / run.refunds
        work_gbs = work * million * worker_s * MEMORY_GB["worker"]
        lines.append(
            (
                f"worker: {work:.2f} x {1000 * worker_s:.0f} ms x 0.5 GB = {work_gbs:,.0f} GB-s",
                work_gbs * gbs + work * invoke,
            )
        )
    wcu = run.per_payment(run.events_wcu + run.read_model_wcu)
    lines.append((f"DynamoDB writes: {wcu:.2f} WCU x $0.625/M", wcu * 0.625))
    rru = run.per_payment(run.api_rru + run.projection_rru)
    lines.append((f"DynamoDB reads: {rru:.2f} RRU x $0.125/M", rru * 0.125))
    events = run.per_payment(run.published)
    lines.append((f"EventBridge: {events:.2f} events a rule matches x $1.00/M", events * 1.00))
    queued = run.per_payment(run.queued)
    # A send each, a receive and a delete a batch of up to 10 messages.
    lines.append((f"SQS: {queued:.2f} msg x 1.2 req x $0.40/M", queued * 1.2 * 0.40))
    return lines


def costs(run: Run) -> float:
    """Dollars per million payments, all-in but the providers' fees, with the arithmetic."""
    lines = _cost_lines(run)
    total = sum(cost for _, cost in lines)
    for text, cost in lines:
        print(f"    {text:<72} ${cost:7.2f}")
    print(f"    {'total a million payments':<72} ${total:7.2f}")
    return total


def run_all(endpoint: str, payments: int, single: int) -> list[Run]:
    meter = install(endpoint)
    plans = [
        ("1 split, batches of 100", payments, 1, False, False),
        ("1 split, one payment a batch", single, 1, False, True),
        ("2 splits, batches of 100", payments // 2, 2, False, False),
        ("2 splits, one payment a batch", single, 2, False, True),
        ("1 split + refund, batches of 100", payments // 2, 1, True, False),
        ("1 split + refund, one a batch", single, 1, True, True),
    ]
    return [scenario(endpoint, meter, *plan) for plan in plans]


def report(runs: list[Run]) -> None:
    print("\n  WCU a payment, billed by AWS's rules (transactions x2, 1 KB units, GSI entries)")
    print(
        f"  {'scenario':<34}{'pay':>5}{'events':>8}{'models':>8}{'once':>7}"
        f"{'rec/bat':>8}{'api ms':>8}{'bat ms':>8}"
    )
    for run in runs:
        _print_run(run)
    print("  once: payable shards opened, registries of shards and list days (once a name)")
    base = runs[0]
    print(f"  largest idempotency record: {base.idempotency_bytes} bytes")
    events = base.per_payment(base.events_wcu)
    shards, keys = hot_keys(base, events)
    print(f"\n  Hottest shared partition keys at {RATE:,} payments/s, {MANUFACTURERS} Zipf makers")
    print(
        f"  ({shards} stream shards: the events table's {RATE * events:,.0f} WCU/s"
        f" at {PARTITION_WCU} a partition)"
    )
    for rate, key, how in keys[:10]:
        table, _, pk = key.partition(" ")
        kind = "events" if table == base.events_table else "read-models"
        kind += table.rpartition("/")[1] + table.rpartition("/")[2] if "/" in table else ""
        print(f"    {rate:7.0f} WCU/s  {kind:<17} {pk[:56]:<56} {how}")
    worst = keys[0][0] if keys else 0.0
    print(f"  hottest key: {worst:.0f} WCU/s (a partition takes {PARTITION_WCU})")
    print("\n  Dollars a million payments (on-demand, us-east-1; providers' fees excluded)")
    for run in (runs[0], runs[4]):
        print(f"  {run.name}:")
        costs(run)


def main() -> int:
    from tests.support.servers import dynamodb_local

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=100, help="payments a batched run")
    parser.add_argument("--single", type=int, default=10, help="payments a one-a-batch run")
    parser.add_argument("--captures", type=int, default=5, help="payments a capture writer")
    args = parser.parse_args()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print("DynamoDB read models: write units, hot keys and cost a payment (DynamoDB Local)")
    print(
        f"  machine : {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )
    print(f"  date    : {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    with dynamodb_local() as endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        report(run_all(endpoint, args.payments, args.single))
        captures(endpoint, args.captures)
        from bench import capture_keys

        capture_keys.report(capture_keys.capture_key_spread(endpoint, install(endpoint), 160))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

from __future__ import annotations

import base64
import json
from typing import Any

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.application.commands import refunds
from ledger.application.principal import SYSTEM
from ledger.bootstrap import Container
from tests.support.seed import create_payment, register


class FakeEventBridge:
    """Rejects the entries listed in `reject` the first `times` times they are sent."""

    def __init__(self, reject: set[str] | None = None, times: int = 1) -> None:
        self.reject = reject or set()
        self.times = times
        self.seen: dict[str, int] = {}
        self.batches: list[list[dict[str, Any]]] = []
        self.published: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        assert len(Entries) <= 10
        self.batches.append(Entries)
        results = []
        for entry in Entries:
            event_id = json.loads(entry["Detail"])["id"]
            self.seen[event_id] = self.seen.get(event_id, 0) + 1
            if event_id in self.reject and self.seen[event_id] <= self.times:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": event_id})
                self.published.append(entry)
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


def _records(container: Container) -> list[dict[str, Any]]:
    service = container.engine
    manufacturer = register(service, fee_bps=100, refund_fee_policy="refund_fee")
    for amount in (100, 200, 300, 400):
        payment = create_payment(service, f"mfr_{manufacturer.id.hex}", amount)
        service.execute(refunds.request(SYSTEM, f"pay_{payment.id.hex}", 10, None))
    container.settle()  # the refund workflow executes the refunds
    records = []
    for n in service.recorder.select_notifications(start=1, limit=1000):
        records.append(
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "SequenceNumber": str(n.id).zfill(21),
                    "NewImage": {
                        "aggregate_id": {"S": str(n.originator_id)},
                        "version": {"N": str(n.originator_version)},
                        "topic": {"S": n.topic},
                        "state": {"B": base64.b64encode(n.state).decode()},
                    },
                },
            }
        )
    return records


def test_publishes_ledger_events_in_batches_of_ten(container: Container) -> None:
    bus = FakeEventBridge()
    records = _records(container)
    failed = EventBridgePublisher(
        bus, "ledger-bus", container.engine.mapper, sleep=lambda _: None
    ).publish(records)
    assert failed == []
    types = [entry["DetailType"] for entry in bus.published]
    assert types.count("Payment.Captured") == 4
    assert types.count("Payment.RefundSucceeded") == 4
    assert "Manufacturer.Registered" in types
    assert not any(
        t.startswith(
            ("ApiKey", "IdempotencyRecord", "ManufacturerPayable", "Registry", "ProviderLink")
        )
        for t in types
    )
    assert all(len(batch) <= 10 for batch in bus.batches)
    assert all(
        entry["Source"] == "payments-ledger" and entry["EventBusName"] == "ledger-bus"
        for entry in bus.published
    )
    captured = next(
        json.loads(e["Detail"]) for e in bus.published if e["DetailType"] == "Payment.Captured"
    )
    assert captured["data"]["amount"] == 100
    assert sum(p["amount"] for p in captured["data"]["entry"]) == 0


def test_rejected_entries_are_retried_then_reported(container: Container) -> None:
    records = _records(container)
    publisher_records = [
        r for r in records if "Payment.Captured" in r["dynamodb"]["NewImage"]["topic"]["S"]
    ]
    first_id = "{}:{}".format(
        publisher_records[0]["dynamodb"]["NewImage"]["aggregate_id"]["S"],
        publisher_records[0]["dynamodb"]["NewImage"]["version"]["N"],
    )
    flaky = FakeEventBridge(reject={first_id}, times=2)
    publisher = EventBridgePublisher(flaky, "bus", container.engine.mapper, sleep=lambda _: None)
    assert publisher.publish(records) == []
    assert flaky.seen[first_id] == 3
    broken = FakeEventBridge(reject={first_id}, times=99)
    publisher = EventBridgePublisher(broken, "bus", container.engine.mapper, sleep=lambda _: None)
    assert publisher.publish(records) == [publisher_records[0]["dynamodb"]["SequenceNumber"]]


def test_requests_stay_under_the_put_events_size_limit(container: Container) -> None:
    records = _records(container)
    bus = FakeEventBridge()
    publisher = EventBridgePublisher(bus, "bus", container.engine.mapper, sleep=lambda _: None)
    big = "x" * 60_000
    original = publisher.entry

    def padded(record: dict[str, Any]) -> dict[str, Any] | None:
        """Every published detail ~60 KB: at most 4 fit one request."""
        entry = original(record)
        if entry is not None:
            entry["Detail"] = entry["Detail"][:-1] + f',"pad":"{big}"}}'
        return entry

    publisher.entry = padded  # type: ignore[method-assign]
    assert publisher.publish(records) == []
    assert all(sum(len(e["Detail"]) for e in batch) <= 256 * 1024 for batch in bus.batches)
    assert max(len(batch) for batch in bus.batches) <= 4
    assert publisher.published == len(bus.published)

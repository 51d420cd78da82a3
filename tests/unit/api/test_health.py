"""/healthz names what needs a person (dead letters, read models far behind); /readyz is what a
load balancer asks (issue 11, item 15)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from ledger.workflows import rules
from tests.conftest import Api, ManualClock

QUEUE = "refund-execution"


def health(api: Api) -> dict[str, Any]:
    answer = api.client.get("/healthz")
    assert answer.status_code == 200  # liveness: degraded is still alive
    body: dict[str, Any] = answer.json()
    return body


def dead_letter(api: Api, body: str) -> None:
    workflows = api.container.workflows
    assert workflows is not None
    queue = workflows.queue
    queue.send(QUEUE, body, dedupe_id=body)
    (message,) = queue.receive(QUEUE, visibility_seconds=30)
    queue.dead_letter(message.receipt, "boom")


def test_healthz_is_ok_with_every_queue_counted_and_the_durability_kept(api: Api) -> None:
    shown = health(api)
    assert shown["status"] == "ok"
    assert shown["problems"] == []
    assert shown["dead_letters"] == dict.fromkeys(sorted(rules.load().queues), 0)
    assert shown["projections"]["lag_seconds"] == 0
    assert shown["projections"]["oldest_pending_at"] is None
    assert shown["event_store"] == {"store": "memory", "writes": "not durable (tests)"}


# Regression: /healthz said "ok" while a refund sat in a dead-letter queue.
def test_a_dead_letter_makes_healthz_degraded_until_it_is_redriven(api: Api) -> None:
    dead_letter(api, '{"detail": {"id": "a"}}')
    dead_letter(api, '{"detail": {"id": "b"}}')
    shown = health(api)
    assert shown["status"] == "degraded"
    assert shown["dead_letters"][QUEUE] == 2
    assert shown["dead_letters"]["billing"] == 0
    assert shown["problems"] == [f"2 dead letter(s) on {QUEUE} (ledger dlq list {QUEUE})"]
    workflows = api.container.workflows
    assert workflows is not None
    assert workflows.queue.redrive(QUEUE) == 2
    assert health(api)["status"] == "ok"


def test_read_models_far_behind_make_healthz_degraded_with_the_oldest_lag(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    recorded_at = clock.now
    api.manufacturer(admin)  # recorded; nothing has caught the read models up yet
    clock.advance(seconds=30)
    early = health(api)
    assert early["status"] == "ok"  # trailing, but not by much
    assert early["projections"]["lag_seconds"] == 30
    clock.advance(minutes=5)
    late = health(api)
    assert late["status"] == "degraded"
    assert late["projections"]["lag_seconds"] == 330
    assert late["projections"]["oldest_pending_at"] == recorded_at.isoformat()
    assert late["problems"] == ["read models trail the event store by 330 s"]
    api.container.fresh()  # caught up
    assert health(api)["status"] == "ok"


def test_readyz_answers_200_while_the_stores_answer_and_503_when_not(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_letter(api, '{"detail": {"id": "c"}}')
    ready = api.client.get("/readyz")
    assert ready.status_code == 200  # degraded is still ready
    assert ready.json() == {"status": "ready"}

    def broken() -> dict[str, Any]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(api.container.read_models, "freshness", broken)
    down = api.client.get("/readyz")
    assert down.status_code == 503
    assert down.json() == {"status": "unavailable", "reason": "OperationalError"}

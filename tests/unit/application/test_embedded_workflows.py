"""The embedded workflows through the API: the in-process bus routes refund events to the
refund-execution queue, workers execute them once, retry transient failures with backoff,
dead-letter what keeps failing, and the bus position survives a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.embedded_workflows import envelope
from ledger.adapters.sandbox import SandboxProvider
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    ProviderResult,
    ProviderUnavailable,
    RefundRequest,
    VoidRequest,
)
from ledger.bootstrap import Container, build
from ledger.domain import ids
from ledger.settings import Settings
from tests.conftest import Api, ManualClock
from tests.support.providers import ScriptedProviderBase

QUEUE = "refund-execution"


class ScriptedProvider(ScriptedProviderBase):
    """The sandbox, counting refund calls; its refunds raise ProviderUnavailable while
    `unavailable` is above zero (one fewer per call)."""

    def __init__(self, unavailable: int = 0) -> None:
        self.sandbox = SandboxProvider()
        self.unavailable = unavailable
        self.refunds: list[RefundRequest] = []

    def authorize(self, request: AuthorizationRequest) -> ProviderResult:
        return self.sandbox.authorize(request)

    def capture(self, request: CaptureRequest) -> ProviderResult:
        return self.sandbox.capture(request)

    def void(self, request: VoidRequest) -> ProviderResult:
        return self.sandbox.void(request)

    def refund(self, request: RefundRequest) -> ProviderResult:
        self.refunds.append(request)
        if self.unavailable > 0:
            self.unavailable -= 1
            raise ProviderUnavailable("the provider answered 503")
        return self.sandbox.refund(request)


def install(api: Api, provider: ScriptedProvider) -> ScriptedProvider:
    api.container.engine.register_provider("sandbox", provider)
    return provider


def workflows(api: Api) -> Any:
    runner = api.container.workflows
    assert runner is not None
    return runner


def refund(
    api: Api, admin: dict[str, str], payment_id: str, amount: int, idem: str = "auto"
) -> dict[str, Any]:
    response = api.post(f"/v1/payments/{payment_id}/refunds", {"amount": amount}, admin, idem)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "pending"
    return body


def refund_status(api: Api, admin: dict[str, str], refund_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get_json(f"/v1/refunds/{refund_id}", admin)
    return body


def events(api: Api, admin: dict[str, str], payment_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get_json(f"/v1/payments/{payment_id}/events", admin)
    return listed


def refund_requested_envelope(api: Api, payment_id: str) -> dict[str, Any]:
    history = api.container.engine.events.get(ids.decode("payment", payment_id))
    (requested,) = [e for e in history if type(e).__name__ == "RefundRequested"]
    return envelope(requested)


# ----- executed once ----------------------------------------------------------------------
def test_a_requested_refund_is_executed_once_by_settle(api: Api, admin: dict[str, str]) -> None:
    provider = install(api, ScriptedProvider())
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = refund(api, admin, payment["id"], 400)
    assert api.settle() > 0
    assert [r.refund_id for r in provider.refunds] == [requested["id"]]
    request = provider.refunds[0]
    assert request.idempotency_key == requested["id"]  # the ledger's own id
    assert request.amount == 400
    done = refund_status(api, admin, requested["id"])
    assert done["status"] == "succeeded"
    assert done["provider_reference"].startswith("sbx_re_")
    assert api.settle() == 0  # nothing left to do
    assert len(provider.refunds) == 1
    assert workflows(api).queue.depth(QUEUE) == 0


def test_the_same_message_delivered_again_changes_nothing(api: Api, admin: dict[str, str]) -> None:
    provider = install(api, ScriptedProvider())
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = refund(api, admin, payment["id"], 400)
    api.settle()
    before = events(api, admin, payment["id"])
    assert [e["type"] for e in before][-2:] == ["RefundRequested", "RefundSucceeded"]
    body = refund_requested_envelope(api, payment["id"])
    queue = workflows(api).queue
    # The processed message is gone: redriving it finds nothing to move.
    assert queue.redrive(QUEUE, [f"refund-requested:{body['detail']['id']}"]) == 0
    # The same envelope again, as a redelivery with another message id.
    queue.send(QUEUE, json.dumps(body), dedupe_id="redelivered-1")
    queue.send(QUEUE, json.dumps(body), dedupe_id="redelivered-2")
    assert queue.depth(QUEUE) == 2
    assert api.settle() == 2  # both handled (and deleted)...
    assert queue.depth(QUEUE) == 0
    assert queue.dead_letters(QUEUE) == []
    assert len(provider.refunds) == 1  # ...without calling the provider again
    assert events(api, admin, payment["id"]) == before
    assert refund_status(api, admin, requested["id"])["status"] == "succeeded"


def test_a_message_sent_twice_with_one_dedupe_id_is_queued_once(
    api: Api, admin: dict[str, str]
) -> None:
    provider = install(api, ScriptedProvider())
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    refund(api, admin, payment["id"], 100)
    runner = workflows(api)
    assert runner.bus.pump() == 1
    assert runner.bus.pump() == 0  # the position moved past the event
    body = refund_requested_envelope(api, payment["id"])
    runner.queue.send(QUEUE, json.dumps(body), dedupe_id=f"refund-requested:{body['detail']['id']}")
    assert runner.queue.depth(QUEUE) == 1
    api.settle()
    assert len(provider.refunds) == 1


# ----- transient failures: retried with backoff ----------------------------------------------
def test_a_transient_failure_is_retried_after_the_backoff(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = install(api, ScriptedProvider(unavailable=2))
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = refund(api, admin, payment["id"], 400)
    queue = workflows(api).queue

    api.settle()
    assert len(provider.refunds) == 1
    assert refund_status(api, admin, requested["id"])["status"] == "pending"
    # Backoff after the first delivery: base 2 s, jittered over [1, 2] s.
    wait = queue.next_visible_in_ms(QUEUE)
    assert wait is not None
    assert 1000 <= wait <= 2000
    assert api.settle() == 0  # invisible until the backoff has passed
    clock.advance(milliseconds=wait - 1)
    assert api.settle() == 0
    assert len(provider.refunds) == 1

    clock.advance(milliseconds=1)
    api.settle()
    assert len(provider.refunds) == 2
    # The second backoff is longer: 4 s jittered over [2, 4] s.
    wait = queue.next_visible_in_ms(QUEUE)
    assert wait is not None
    assert 2000 <= wait <= 4000
    clock.advance(milliseconds=wait - 1)
    assert api.settle() == 0
    assert len(provider.refunds) == 2

    clock.advance(milliseconds=1)
    api.settle()
    assert len(provider.refunds) == 3
    assert {r.idempotency_key for r in provider.refunds} == {requested["id"]}
    done = refund_status(api, admin, requested["id"])
    assert done["status"] == "succeeded"
    types = [e["type"] for e in events(api, admin, payment["id"])]
    assert types.count("RefundSucceeded") == 1
    assert "RefundFailed" not in types  # a transient failure is never recorded
    assert queue.depth(QUEUE) == 0
    assert queue.dead_letters(QUEUE) == []


def test_a_failing_message_lands_in_the_dead_letter_queue_and_can_be_redriven(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = install(api, ScriptedProvider(unavailable=10**6))
    m = api.manufacturer(admin, fee_bps=0)
    payment = api.payment(admin, [(m, 1000)])
    requested = refund(api, admin, payment["id"], 400)
    queue = workflows(api).queue
    max_receive_count = 6  # refund-execution in workflow_rules.json

    api.settle()
    for delivery in range(2, max_receive_count + 1):
        assert queue.dead_letters(QUEUE) == []
        clock.advance(seconds=300)  # the largest backoff of the queue
        api.settle()
        assert len(provider.refunds) == delivery
    (dead,) = queue.dead_letters(QUEUE)
    assert dead.receive_count == max_receive_count
    assert dead.error is not None
    assert dead.error.startswith("ProviderUnavailable")
    assert "503" in dead.error
    assert json.loads(dead.body)["detail"]["data"]["refund_id"] == requested["id"]
    assert queue.depth(QUEUE) == 0

    clock.advance(hours=1)
    api.settle()
    assert len(provider.refunds) == max_receive_count  # dead letters are not delivered
    # Nothing was decided: the refund still reserves its amount.
    assert refund_status(api, admin, requested["id"])["status"] == "pending"
    assert api.get(f"/v1/payments/{payment['id']}", admin).json()["refundable_amount"] == 600

    provider.unavailable = 0
    assert queue.redrive(QUEUE, ["not-a-dead-letter"]) == 0
    assert queue.redrive(QUEUE) == 1
    assert queue.dead_letters(QUEUE) == []
    api.settle()
    assert len(provider.refunds) == max_receive_count + 1
    assert refund_status(api, admin, requested["id"])["status"] == "succeeded"
    assert queue.depth(QUEUE) == 0
    assert queue.dead_letters(QUEUE) == []


def test_redrive_of_listed_dead_letters_only(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = install(api, ScriptedProvider(unavailable=10**6))
    m = api.manufacturer(admin, fee_bps=0)
    first = api.payment(admin, [(m, 1000)])
    second = api.payment(admin, [(m, 1000)])
    refund(api, admin, first["id"], 100)
    refund(api, admin, second["id"], 200)
    queue = workflows(api).queue
    for _ in range(6):
        api.settle()
        clock.advance(seconds=300)
    letters = queue.dead_letters(QUEUE)
    assert len(letters) == 2
    provider.unavailable = 0
    assert queue.redrive(QUEUE, [letters[0].message_id]) == 1
    assert [d.message_id for d in queue.dead_letters(QUEUE)] == [letters[1].message_id]
    assert queue.redrive(QUEUE, []) == 0
    calls = len(provider.refunds)
    api.settle()
    assert len(provider.refunds) == calls + 1
    redriven = json.loads(letters[0].body)["detail"]["data"]["refund_id"]
    assert provider.refunds[-1].refund_id == redriven
    assert refund_status(api, admin, redriven)["status"] == "succeeded"


# ----- permanent refusals: recorded at once --------------------------------------------------
def test_a_permanent_refusal_fails_the_refund_at_once_without_retries(
    api: Api, admin: dict[str, str], clock: ManualClock
) -> None:
    provider = install(api, ScriptedProvider())
    m = api.manufacturer(admin, fee_bps=250)
    payment = api.payment(admin, [(m, 1000)], payment_method="pm_sandbox_refund_fails")
    before = api.payable(admin, m)
    requested = refund(api, admin, payment["id"], 400)
    assert api.payable(admin, m) == before + 390  # booked at once: 400 less the fee returned
    api.settle()
    assert len(provider.refunds) == 1
    failed = refund_status(api, admin, requested["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "refund_declined"
    assert api.payable(admin, m) == before  # the booking is reversed
    assert api.get(f"/v1/payments/{payment['id']}", admin).json()["refundable_amount"] == 1000
    queue = workflows(api).queue
    assert queue.depth(QUEUE) == 0
    clock.advance(hours=2)
    api.settle()
    assert len(provider.refunds) == 1  # never retried
    assert queue.dead_letters(QUEUE) == []


# ----- the bus position survives a restart ---------------------------------------------------
@contextmanager
def running(settings: Settings, clock: ManualClock) -> Iterator[Api]:
    container: Container = build(settings, clock=clock)
    try:
        with TestClient(create_app(container, follow=False)) as client:
            yield Api(client, container)
    finally:
        container.close()


def test_a_restart_does_not_route_old_events_again_but_routes_new_ones(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = Settings(persistence="sqlite", db=tmp_path / "ledger.sqlite3")
    with running(settings, clock) as api:
        admin = api.key("admin")
        first = install(api, ScriptedProvider())
        m = api.manufacturer(admin, fee_bps=0)
        payment = api.payment(admin, [(m, 1000)])
        done = refund(api, admin, payment["id"], 300)
        api.settle()
        assert len(first.refunds) == 1
        history = events(api, admin, payment["id"])
        secret = admin

    with running(settings, clock) as api:
        second = install(api, ScriptedProvider())
        assert workflows(api).bus.pump() == 0  # nothing routed again
        api.settle()
        assert second.refunds == []
        assert events(api, secret, payment["id"]) == history
        assert refund_status(api, secret, done["id"])["status"] == "succeeded"
        # (a new Api numbers its Idempotency-Keys from 1 again: name this one)
        again = refund(api, secret, payment["id"], 200, idem="after-restart")
        api.settle()
        assert [r.refund_id for r in second.refunds] == [again["id"]]
        assert refund_status(api, secret, again["id"])["status"] == "succeeded"


def test_messages_queued_before_a_restart_are_processed_after_it(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = Settings(persistence="sqlite", db=tmp_path / "ledger.sqlite3")
    with running(settings, clock) as api:
        admin = api.key("admin")
        install(api, ScriptedProvider(unavailable=10**6))
        m = api.manufacturer(admin, fee_bps=0)
        payment = api.payment(admin, [(m, 1000)])
        requested = refund(api, admin, payment["id"], 300)
        api.settle()  # routed, delivered once, failed: waiting for its retry
        assert refund_status(api, admin, requested["id"])["status"] == "pending"
    clock.advance(seconds=5)
    with running(settings, clock) as api:
        provider = install(api, ScriptedProvider())
        api.settle()
        assert [r.refund_id for r in provider.refunds] == [requested["id"]]
        assert refund_status(api, admin, requested["id"])["status"] == "succeeded"

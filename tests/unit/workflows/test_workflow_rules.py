"""The workflow map (workflow_rules.json): loading, the EventBridge pattern subset the in-process
bus evaluates, schedule expressions and the retry backoff."""

from __future__ import annotations

import copy
import importlib
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ledger.application.event_json import SCHEDULER_SOURCE, SOURCE
from ledger.domain.payment import Payment
from ledger.domain.payout import Payout
from ledger.domain.subscription import Subscription
from ledger.workflows import rules
from ledger.workflows.rules import QueueSpec, RulesError, Schedule, parse
from ledger.workflows.runtime import backoff_seconds, handler_for

_QUEUE = {
    "description": "q",
    "max_receive_count": 3,
    "visibility_timeout_seconds": 30,
    "backoff_base_seconds": 2,
    "backoff_max_seconds": 300,
}


def document(
    pattern: dict[str, Any] | None = None,
    *,
    queue: str = "work",
    rule_queue: str | None = None,
    schedule: str | None = None,
    schedule_queue: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"queues": {queue: dict(_QUEUE)}, "rules": {}, "schedules": {}}
    if pattern is not None:
        doc["rules"]["r"] = {"event_pattern": pattern, "queue": rule_queue or queue}
    if schedule is not None:
        doc["schedules"]["s"] = {
            "schedule_expression": schedule,
            "queue": schedule_queue or queue,
            "detail_type": "Thing.Requested",
        }
    return doc


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return parse(document(pattern)).rules[0].matches(event)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ----- the shipped rules file -----------------------------------------------------------------
def test_the_rules_file_loads_with_its_queues_rules_and_schedules() -> None:
    loaded = rules.load()
    assert set(loaded.queues) == {
        "refund-execution",
        "payout-execution",
        "billing",
        "payout-schedule",
    }
    assert {rule.name: rule.queue for rule in loaded.rules} == {
        "refund-requested": "refund-execution",
        "payout-approved": "payout-execution",
        "subscription-started": "billing",
    }
    assert {s.name: (s.queue, s.expression) for s in loaded.schedules} == {
        "daily-billing-run": ("billing", "cron(0 6 * * ? *)"),
        "hourly-payout-sweep": ("payout-schedule", "rate(1 hour)"),
        "daily-ach-settlement": ("payout-schedule", "cron(0 13 * * ? *)"),
    }
    for spec in loaded.queues.values():
        assert spec.max_receive_count >= 1
        assert 0 < spec.backoff_base_seconds <= spec.backoff_max_seconds


@pytest.mark.parametrize("name", sorted(rules.load().queues))
def test_every_queue_has_a_handler_module_with_handle(name: str) -> None:
    spec = rules.load().queues[name]
    module = importlib.import_module(spec.handler_module)
    assert spec.handler_module == "ledger.workflows.handlers." + name.replace("-", "_")
    assert callable(module.handle)
    assert handler_for(spec) is module.handle


def test_the_routed_detail_types_are_real_events() -> None:
    aggregates = {"Payment": Payment, "Payout": Payout, "Subscription": Subscription}
    for rule in rules.load().rules:
        assert rule.event_pattern["source"] == [SOURCE]
        for detail_type in rule.event_pattern["detail-type"]:
            aggregate, _, event = detail_type.partition(".")
            assert hasattr(aggregates[aggregate], event), detail_type


def test_the_shipped_rules_route_refund_payout_and_new_subscription_events_only() -> None:
    loaded = rules.load()

    def envelope(detail_type: str, source: str = SOURCE) -> dict[str, Any]:
        return {"source": source, "detail-type": detail_type, "detail": {"id": "x:1"}}

    assert [q for _, q in loaded.route(envelope("Payment.RefundRequested"))] == ["refund-execution"]
    assert [q for _, q in loaded.route(envelope("Payment.RefundApproved"))] == ["refund-execution"]
    assert [q for _, q in loaded.route(envelope("Payout.Requested"))] == ["payout-execution"]
    assert [q for _, q in loaded.route(envelope("Payout.Approved"))] == ["payout-execution"]
    assert [q for _, q in loaded.route(envelope("Subscription.Started"))] == ["billing"]
    assert loaded.route(envelope("Subscription.InvoicePaid")) == []
    assert loaded.route(envelope("Payment.Captured")) == []
    assert loaded.route(envelope("Payment.RefundRequested", source="someone-else")) == []
    assert loaded.route(envelope("Payouts.SweepRequested", source=SCHEDULER_SOURCE)) == []


# ----- the pattern subset ---------------------------------------------------------------------
EVENT: dict[str, Any] = {
    "source": "payments-ledger",
    "detail-type": "Payment.RefundRequested",
    "detail": {
        "type": "Payment.RefundRequested",
        "version": 3,
        "data": {"amount": 500, "reason": None, "tags": ["vip", "eu"], "status": "pending"},
    },
}


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["payments-ledger"]},
        {"source": ["other", "payments-ledger"]},
        {"detail-type": [{"prefix": "Payment."}]},
        {"detail-type": [{"anything-but": "Payment.Captured"}]},
        {"detail-type": [{"anything-but": ["Payment.Captured", "Payout.Paid"]}]},
        {"detail": {"type": ["Payment.RefundRequested"]}},
        {"detail": {"version": [3]}},
        {"detail": {"data": {"amount": [500]}}},
        {"detail": {"data": {"reason": [None]}}},  # present and null
        {"detail": {"data": {"tags": ["eu"]}}},  # any element of an array
        {"detail": {"data": {"amount": [{"exists": True}]}}},
        {"detail": {"data": {"missing": [{"exists": False}]}}},
        {"detail": {"data": {"status": ["succeeded", {"prefix": "pend"}]}}},  # OR of options
        {"source": ["payments-ledger"], "detail": {"data": {"amount": [500]}}},  # AND of keys
    ],
)
def test_patterns_that_match(pattern: dict[str, Any]) -> None:
    assert matches(pattern, EVENT)


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": ["payments"]},  # exact, not a prefix
        {"source": ["PAYMENTS-LEDGER"]},  # case-sensitive
        {"detail-type": [{"prefix": "Payout."}]},
        {"detail-type": [{"anything-but": "Payment.RefundRequested"}]},
        {"detail-type": [{"anything-but": ["x", "Payment.RefundRequested"]}]},
        {"detail": {"type": ["Payment.Captured"]}},
        {"detail": {"version": ["3"]}},  # a string is not the number
        {"detail": {"data": {"amount": [501]}}},
        {"detail": {"data": {"missing": [None]}}},  # null needs the key present
        {"detail": {"data": {"missing": ["x"]}}},
        {"detail": {"data": {"missing": [{"anything-but": "x"}]}}},  # absent never matches
        {"detail": {"data": {"missing": [{"prefix": ""}]}}},
        {"detail": {"data": {"amount": [{"prefix": "5"}]}}},  # prefix is for strings
        {"detail": {"data": {"amount": [{"exists": False}]}}},
        {"detail": {"data": {"missing": [{"exists": True}]}}},
        {"detail": {"data": {"tags": ["us"]}}},
        {"detail": {"nothere": {"x": ["y"]}}},  # nested object absent
        {"detail-type": {"nested": ["x"]}},  # nested pattern over a string value
        {"source": ["payments-ledger"], "detail": {"data": {"amount": [1]}}},  # AND fails
    ],
)
def test_patterns_that_do_not_match(pattern: dict[str, Any]) -> None:
    assert not matches(pattern, EVENT)


def test_a_non_object_event_never_matches() -> None:
    rule = parse(document({"source": ["a"]})).rules[0]
    assert not rule.matches("a")  # type: ignore[arg-type]
    assert not rule.matches({})


@pytest.mark.parametrize(
    "operator",
    [
        {"numeric": [">", 0]},
        {"wildcard": "Payment.*"},
        {"suffix": "Requested"},
        {"equals-ignore-case": "payment.refundrequested"},
        {"cidr": "10.0.0.0/24"},
        {"prefix": "a", "exists": True},  # two operators in one option
        {},
    ],
)
def test_unsupported_operators_are_refused_at_load(operator: dict[str, Any]) -> None:
    with pytest.raises(RulesError):
        parse(document({"detail-type": [operator]}))


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"source": []},
        {"source": "payments-ledger"},  # values are lists
        {"detail": {}},
        {"detail": {"type": [{"numeric": ["=", 1]}]}},  # checked when nested too
    ],
)
def test_malformed_patterns_are_refused_at_load(pattern: dict[str, Any]) -> None:
    with pytest.raises(RulesError):
        parse(document(pattern))


@pytest.mark.parametrize(
    "option",
    [
        # EventBridge reads these as "anything but a value with this prefix"; the in-process
        # bus would compare the value with the dict itself and match everything.
        {"anything-but": {"prefix": "Payment."}},
        {"anything-but": [{"prefix": "Payment."}]},
        {"prefix": 5},  # fails with TypeError when an event is routed
        {"prefix": ["Payment."]},
        {"exists": "false"},  # a truthy string: the opposite of what it says
        {"anything-but": []},
    ],
)
def test_operators_with_operands_outside_the_subset_are_refused_at_load(
    option: dict[str, Any],
) -> None:
    with pytest.raises(RulesError):
        parse(document({"detail-type": [option]}))


def test_a_rule_naming_an_unknown_queue_is_refused() -> None:
    with pytest.raises(RulesError, match="unknown queue"):
        parse(document({"source": ["a"]}, rule_queue="nowhere"))


def test_a_schedule_naming_an_unknown_queue_is_refused() -> None:
    with pytest.raises(RulesError, match="unknown queue"):
        parse(document(schedule="rate(1 hour)", schedule_queue="nowhere"))


@pytest.mark.parametrize("name", ["Refunds", "refund_execution", "1queue", "-q", "q" * 42])
def test_queue_names_must_be_lowercase_words_joined_by_dashes(name: str) -> None:
    with pytest.raises(RulesError):
        parse(document(queue=name))


def test_the_rules_document_round_trips_its_queue_settings() -> None:
    parsed = parse(document(queue="refund-execution"))
    assert parsed.queues["refund-execution"] == QueueSpec(
        name="refund-execution",
        description="q",
        max_receive_count=3,
        visibility_timeout_seconds=30,
        backoff_base_seconds=2,
        backoff_max_seconds=300,
    )


# ----- schedules ------------------------------------------------------------------------------
def hourly() -> Schedule:
    return parse(document(schedule="rate(1 hour)")).schedules[0]


def daily_at_six() -> Schedule:
    return parse(document(schedule="cron(0 6 * * ? *)")).schedules[0]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-03-10T12:00:00", "2026-03-10T13:00:00"),  # exactly at a boundary: the next one
        ("2026-03-10T12:00:00.000001", "2026-03-10T13:00:00"),
        ("2026-03-10T12:59:59.999999", "2026-03-10T13:00:00"),
        ("2026-03-10T12:30:00", "2026-03-10T13:00:00"),
        ("2026-03-10T23:15:00", "2026-03-11T00:00:00"),
        ("2026-12-31T23:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_rate_one_hour_fires_on_each_whole_hour_strictly_after(moment: str, expected: str) -> None:
    assert hourly().next_after(at(moment)) == at(expected)


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("rate(15 minutes)", "2026-03-10T12:14:59", "2026-03-10T12:15:00"),
        ("rate(15 minutes)", "2026-03-10T12:15:00", "2026-03-10T12:30:00"),
        ("rate(1 minute)", "2026-03-10T12:00:30", "2026-03-10T12:01:00"),
        ("rate(1 day)", "2026-03-10T00:00:00", "2026-03-11T00:00:00"),
        ("rate(2 days)", "2026-03-10T12:00:00", "2026-03-12T00:00:00"),  # epoch-aligned
    ],
)
def test_other_rates(expression: str, moment: str, expected: str) -> None:
    schedule = parse(document(schedule=expression)).schedules[0]
    assert schedule.next_after(at(moment)) == at(expected)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-03-10T05:59:59", "2026-03-10T06:00:00"),
        ("2026-03-10T06:00:00", "2026-03-11T06:00:00"),  # exactly at 06:00: tomorrow's
        ("2026-03-10T06:00:00.000001", "2026-03-11T06:00:00"),
        ("2026-03-10T12:00:00", "2026-03-11T06:00:00"),
        ("2026-02-28T07:00:00", "2026-03-01T06:00:00"),  # month end (2026 is not a leap year)
        ("2028-02-28T07:00:00", "2028-02-29T06:00:00"),
        ("2026-12-31T06:30:00", "2027-01-01T06:00:00"),
    ],
)
def test_daily_cron_fires_at_six_utc_strictly_after(moment: str, expected: str) -> None:
    assert daily_at_six().next_after(at(moment)) == at(expected)


def test_daily_cron_works_in_utc_whatever_the_zone_of_the_moment() -> None:
    # 07:30 at UTC+02:00 is 05:30 UTC: 06:00 UTC the same day is still ahead.
    moment = datetime(2026, 3, 10, 7, 30, tzinfo=timezone(timedelta(hours=2)))
    assert daily_at_six().next_after(moment) == at("2026-03-10T06:00:00")
    # 23:00 at UTC-08:00 is 07:00 UTC the next day.
    late = datetime(2026, 3, 10, 23, 0, tzinfo=timezone(timedelta(hours=-8)))
    assert daily_at_six().next_after(late) == at("2026-03-12T06:00:00")


def test_cron_minutes_and_hours_are_read_in_that_order() -> None:
    schedule = parse(document(schedule="cron(30 5 * * ? *)")).schedules[0]
    assert schedule.next_after(at("2026-03-10T05:29:00")) == at("2026-03-10T05:30:00")


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 week)",
        "rate(hour)",
        "rate(1.5 hours)",
        "rate(-1 hours)",
        "rate(1 hour) ",
        "cron(0 6 * * ? 2026)",
        "cron(0 6 ? * MON *)",
        "cron(0 6 1 * ? *)",
        "cron(*/5 * * * ? *)",
        "cron(0 6 * * *)",
        "at(2026-03-10T06:00:00)",
        "",
    ],
)
def test_bad_schedule_expressions_are_refused(expression: str) -> None:
    with pytest.raises(RulesError):
        parse(document(schedule=expression))


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",  # next_after divides by a zero step (ZeroDivisionError)
        "cron(0 24 * * ? *)",  # next_after raises ValueError: hour must be in 0..23
        "cron(60 6 * * ? *)",  # next_after raises ValueError: minute must be in 0..59
        # EventBridge refuses these units (singular for 1, plural above): Terraform reads the
        # same file, so the deploy would fail on an expression the embedded runtime accepted.
        "rate(1 hours)",
        "rate(2 hour)",
    ],
)
def test_out_of_range_schedule_expressions_are_refused_at_load(expression: str) -> None:
    with pytest.raises(RulesError):
        parse(document(schedule=expression))


# ----- backoff --------------------------------------------------------------------------------
def spec(base: int = 2, ceiling: int = 300) -> QueueSpec:
    return QueueSpec("q", "q", 6, 60, base, ceiling)


@pytest.mark.parametrize(
    ("receive_count", "ceiling"),
    [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (8, 256), (9, 300), (10, 300), (500, 300)],
)
def test_backoff_grows_exponentially_capped_and_jittered_over_its_upper_half(
    receive_count: int, ceiling: int
) -> None:
    rng = random.Random(1234)
    delays = [backoff_seconds(spec(), receive_count, rng) for _ in range(3000)]
    assert min(delays) >= max(ceiling // 2, 1)
    assert max(delays) <= ceiling
    if ceiling >= 8:  # jittered: many different values, reaching both ends of the range
        assert len(set(delays)) > 2
        assert min(delays) == ceiling // 2
        assert max(delays) == ceiling


def test_backoff_is_deterministic_with_a_seeded_generator() -> None:
    first = [backoff_seconds(spec(), n, random.Random(7)) for n in range(1, 12)]
    again = [backoff_seconds(spec(), n, random.Random(7)) for n in range(1, 12)]
    assert first == again


def test_backoff_grows_from_one_delivery_to_the_next() -> None:
    # The smallest possible delay of delivery n + 1 is at least the largest of delivery n
    # (until the cap): each retry waits longer than the last.
    for n in range(1, 8):
        assert backoff_seconds(spec(), n + 1, _Lowest()) >= backoff_seconds(spec(), n, _Highest())


def test_backoff_is_at_least_one_second_and_uses_the_queue_settings() -> None:
    assert backoff_seconds(spec(base=1, ceiling=1), 1, random.Random(0)) == 1
    assert backoff_seconds(spec(base=1, ceiling=1), 0, random.Random(0)) == 1
    billing = rules.load().queues["billing"]
    delays = {backoff_seconds(billing, 1, random.Random(seed)) for seed in range(50)}
    assert delays <= set(range(15, 31))
    assert backoff_seconds(billing, 99, random.Random(3)) in range(300, 601)


def test_the_exponent_is_bounded_for_huge_receive_counts() -> None:
    huge = QueueSpec("q", "q", 6, 60, 2, 10**12)
    assert backoff_seconds(huge, 10**6, random.Random(0)) <= 2 * 2**30


class _Lowest(random.Random):
    def randint(self, a: int, b: int) -> int:
        return a


class _Highest(random.Random):
    def randint(self, a: int, b: int) -> int:
        return b


def test_documents_are_not_modified_by_parsing() -> None:
    doc = document({"detail": {"data": {"amount": [{"prefix": "1"}]}}}, schedule="rate(1 hour)")
    before = copy.deepcopy(doc)
    parse(doc)
    assert doc == before

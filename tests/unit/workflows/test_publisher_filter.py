"""The publisher mapping's event filter (terraform/streams.tf) and the publisher's own skip let
through exactly the events some workflow rule matches: every routed topic, no other event."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic

from ledger.adapters.eventbridge import EventBridgePublisher
from ledger.application.event_json import PUBLISHED_AGGREGATES, SOURCE
from ledger.domain import manufacturer, payment, payout, subscription
from ledger.workflows import rules

TERRAFORM = Path(__file__).resolve().parents[3] / "terraform"
AGGREGATES = (
    payment.Payment,
    payout.Payout,
    manufacturer.Manufacturer,
    subscription.Subscription,
)


def _events() -> list[tuple[str, str]]:
    """(topic, detail-type) of every event class of the published aggregates."""
    found = []
    for aggregate in AGGREGATES:
        for name in dir(aggregate):
            member = getattr(aggregate, name)
            if isinstance(member, type) and issubclass(member, DomainEvent):
                found.append((get_topic(member), member.__qualname__))
    return found


def _terraform_modules() -> dict[str, str]:
    block = (TERRAFORM / "streams.tf").read_text().split("published_aggregate_modules = {", 1)[1]
    block = block.split("}", 1)[0]
    return dict(re.findall(r'(\w+)\s*=\s*"([\w.]+)"', block))


def _terraform_topics() -> set[str]:
    """The topics the Terraform expression renders, evaluated the way Terraform does."""
    document = json.loads((TERRAFORM / "workflow_rules.json").read_text())
    types = {t for rule in document["rules"].values() for t in rule["event_pattern"]["detail-type"]}
    modules = _terraform_modules()
    return {f"{modules[t.split('.')[0]]}:{t}" for t in types}


def _record(topic: str) -> dict[str, Any]:
    return {"eventName": "INSERT", "dynamodb": {"NewImage": {"topic": {"S": topic}}}}


def test_the_module_map_names_the_published_aggregates_where_they_live() -> None:
    assert {cls.__name__ for cls in AGGREGATES} == set(PUBLISHED_AGGREGATES)
    assert _terraform_modules() == {cls.__name__: cls.__module__ for cls in AGGREGATES}


def test_the_filter_passes_exactly_the_events_a_rule_routes() -> None:
    loaded = rules.load()
    routed = {
        topic
        for topic, detail_type in _events()
        if loaded.route({"source": SOURCE, "detail-type": detail_type, "detail": {}})
    }
    assert routed  # the rules route something, and every rule names real events
    assert _terraform_topics() == routed
    assert loaded.routed_detail_types() == frozenset(topic.rpartition(":")[2] for topic in routed)
    # A captured card payment reaches no rule: it must not be published.
    assert get_topic(getattr(payment.Payment, "Captured")) not in routed  # noqa: B009


def test_the_publisher_skips_what_the_filter_keeps_out() -> None:
    mapper: Any = None  # a skipped record is never decoded
    publisher = EventBridgePublisher(None, "bus", mapper, routed=rules.load().routed_detail_types())
    passed = _terraform_topics()
    for topic, _ in _events():
        if topic not in passed:
            assert publisher.entry(_record(topic)) is None, topic

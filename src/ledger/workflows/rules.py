"""The workflow map (workflow_rules.json) and the subset of EventBridge event patterns the
in-process bus evaluates. A pattern using anything else is refused when the rules are loaded,
so the embedded runtime can never silently route differently from EventBridge."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

_OPERATORS = {"prefix", "anything-but", "exists"}
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
# cron(minutes hours day-of-month month day-of-week year), the daily form only.
_DAILY_CRON = re.compile(r"^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


class RulesError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    description: str
    max_receive_count: int
    visibility_timeout_seconds: int
    backoff_base_seconds: int
    backoff_max_seconds: int

    @property
    def handler_module(self) -> str:
        return "ledger.workflows.handlers." + self.name.replace("-", "_")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    event_pattern: dict[str, Any]
    queue: str

    def matches(self, envelope: dict[str, Any]) -> bool:
        return _matches(self.event_pattern, envelope)


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    expression: str
    queue: str
    detail_type: str

    def latest_at_or_before(self, moment: datetime, since: datetime) -> datetime:
        """The last firing in (since, moment], given that since was a firing at or before it."""
        latest = since
        following = self.next_after(latest)
        while following <= moment:
            latest, following = following, self.next_after(following)
        return latest

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after moment (UTC)."""
        rate = _RATE.match(self.expression)
        if rate is not None:
            amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
            step = timedelta(**{unit + "s": amount})
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            elapsed = (moment - epoch) // step
            return epoch + (elapsed + 1) * step
        cron = _DAILY_CRON.match(self.expression)
        assert cron is not None  # checked at load
        at = moment.astimezone(UTC).replace(
            hour=int(cron.group(2)), minute=int(cron.group(1)), second=0, microsecond=0
        )
        return at if at > moment else at + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class WorkflowRules:
    queues: dict[str, QueueSpec]
    rules: tuple[Rule, ...]
    schedules: tuple[Schedule, ...]

    def routed_detail_types(self) -> frozenset[str] | None:
        """Every detail-type some rule can match, or None when a rule does not pin them down
        (then every event must be looked at)."""
        types: set[str] = set()
        for rule in self.rules:
            listed = rule.event_pattern.get("detail-type")
            if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
                return None
            types.update(listed)
        return frozenset(types)

    def route(self, envelope: dict[str, Any]) -> list[tuple[Rule, str]]:
        """(rule, queue) for every rule the event matches."""
        return [(rule, rule.queue) for rule in self.rules if rule.matches(envelope)]


def _matches(pattern: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for key, expected in pattern.items():
        present = key in value
        actual = value.get(key)
        if isinstance(expected, dict):
            if not present or not _matches(expected, actual):
                return False
            continue
        candidates = actual if isinstance(actual, list) else [actual]
        if not any(_matches_one(option, present, c) for option in expected for c in candidates):
            return False
    return True


def _matches_one(option: Any, present: bool, actual: Any) -> bool:
    if not isinstance(option, dict):
        return present and actual == option
    ((operator, operand),) = option.items()
    if operator == "exists":
        return present is bool(operand)
    if not present:
        return False
    if operator == "prefix":
        return isinstance(actual, str) and actual.startswith(operand)
    excluded = operand if isinstance(operand, list) else [operand]
    return actual not in excluded  # anything-but


def _check_pattern(pattern: Any, where: str) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise RulesError(f"{where}: a pattern is a non-empty object")
    for key, expected in pattern.items():
        if isinstance(expected, dict):
            _check_pattern(expected, f"{where}.{key}")
            continue
        if not isinstance(expected, list) or not expected:
            raise RulesError(f"{where}.{key}: expected a non-empty list of values")
        for option in expected:
            if isinstance(option, dict):
                _check_operator(option, f"{where}.{key}")
            elif isinstance(option, list):
                raise RulesError(f"{where}.{key}: values are scalars or operator objects")


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | bool)


def _check_operator(option: dict[str, Any], where: str) -> None:
    if len(option) != 1 or set(option) - _OPERATORS:
        raise RulesError(f"{where}: unsupported operator {sorted(option)}")
    ((operator, operand),) = option.items()
    if operator == "prefix" and not isinstance(operand, str):
        raise RulesError(f"{where}: prefix takes a string")
    if operator == "exists" and not isinstance(operand, bool):
        raise RulesError(f"{where}: exists takes true or false")
    if operator == "anything-but":
        values = operand if isinstance(operand, list) else [operand]
        if not values or not all(_scalar(v) for v in values):
            raise RulesError(f"{where}: anything-but takes a value or a non-empty list of values")


def _expression_problem(expression: str) -> str | None:
    """What EventBridge Scheduler would refuse (the file is shared with Terraform)."""
    rate = _RATE.match(expression)
    if rate is not None:
        amount, unit = int(rate.group(1)), rate.group(2)
        if amount < 1:
            return "a rate is at least 1"
        if (amount == 1) == unit.endswith("s"):
            return "rate units are singular for 1 and plural above (rate(1 hour), rate(2 hours))"
        return None
    cron = _DAILY_CRON.match(expression)
    if cron is None:
        return "use rate(N unit) or cron(M H * * ? *)"
    if int(cron.group(1)) > 59 or int(cron.group(2)) > 23:
        return "cron minutes are 0-59 and hours 0-23"
    return None


def parse(document: dict[str, Any]) -> WorkflowRules:
    queues = {}
    for name, spec in document["queues"].items():
        if not _NAME.match(name):
            raise RulesError(f"queue name {name!r} must be lowercase words joined by '-'")
        queues[name] = QueueSpec(
            name=name,
            description=spec["description"],
            max_receive_count=int(spec["max_receive_count"]),
            visibility_timeout_seconds=int(spec["visibility_timeout_seconds"]),
            backoff_base_seconds=int(spec["backoff_base_seconds"]),
            backoff_max_seconds=int(spec["backoff_max_seconds"]),
        )
    rules = []
    for name, spec in document["rules"].items():
        _check_pattern(spec["event_pattern"], f"rules.{name}.event_pattern")
        if spec["queue"] not in queues:
            raise RulesError(f"rules.{name}: unknown queue {spec['queue']!r}")
        rules.append(Rule(name=name, event_pattern=spec["event_pattern"], queue=spec["queue"]))
    schedules = []
    for name, spec in document.get("schedules", {}).items():
        expression = spec["schedule_expression"]
        problem = _expression_problem(expression)
        if problem:
            raise RulesError(f"schedules.{name}: {problem}")
        if spec["queue"] not in queues:
            raise RulesError(f"schedules.{name}: unknown queue {spec['queue']!r}")
        schedules.append(Schedule(name, expression, spec["queue"], spec["detail_type"]))
    return WorkflowRules(queues=queues, rules=tuple(rules), schedules=tuple(schedules))


@cache
def load() -> WorkflowRules:
    text = resources.files("ledger.workflows").joinpath("workflow_rules.json").read_text()
    return parse(json.loads(text))

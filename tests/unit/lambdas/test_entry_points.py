"""Lambda entry points: built in the init phase on Lambda (the first request does not wait for
the container), lazily anywhere else; X-Ray's SDK only when asked for."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from ledger.lambdas import observability
from ledger.lambdas.cold_start import EntryPoint


def test_on_lambda_the_entry_point_is_built_during_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []

    def build() -> Any:
        built.append("built")
        return lambda event, context: {"event": event}

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ledger-api")
    entry = EntryPoint(build)
    assert built == ["built"]  # before any invocation: the init phase
    assert entry({"a": 1}, None) == {"event": {"a": 1}}
    assert entry({"a": 2}, None) == {"event": {"a": 2}}
    assert built == ["built"]  # once per execution environment


def test_elsewhere_it_is_built_on_the_first_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def build() -> Any:
        built.append("built")
        return lambda event, context: {}

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    entry = EntryPoint(build)
    assert built == []
    entry({}, None)
    entry({}, None)
    assert built == ["built"]


def test_the_xray_sdk_is_loaded_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}

    monkeypatch.delenv("LEDGER_XRAY_SDK", raising=False)
    assert observability.traced(handler) is handler
    monkeypatch.setenv("LEDGER_XRAY_SDK", "true")
    assert observability.traced(handler) is not handler
    assert "aws_xray_sdk.core" in sys.modules

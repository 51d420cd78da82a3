"""The provider secret (LEDGER_PROVIDER_SECRET_ARN) as the functions read it at a cold start:
a missing provider configuration turns that provider off, it never stops a function."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from ledger.adapters.secrets import with_secrets
from ledger.application.errors import ProviderNotConfigured
from ledger.bootstrap import build
from ledger.settings import Settings

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ledger/provider-credentials-AbCdEf"
VAULT_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes


def secret_is(monkeypatch: pytest.MonkeyPatch, value: Any) -> None:
    def get_secret(name: str, **kwargs: Any) -> Any:
        assert name == ARN
        if isinstance(value, ClientError):  # as Powertools wraps what boto3 raised
            raise GetParameterError(str(value)) from value
        return value if isinstance(value, str) else json.dumps(value)

    monkeypatch.setattr(parameters, "get_secret", get_secret)


def aws_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetSecretValue")


def settings(**fields: Any) -> Settings:
    return Settings(persistence="popo", provider_secret_arn=ARN, **fields)


def test_the_initial_empty_configuration_turns_every_provider_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_is(monkeypatch, {})
    read = with_secrets(settings())
    assert read.stripe_api_key is None
    assert read.paypal_client_id is None
    container = build(settings())
    try:
        assert container.engine.provider("sandbox") is not None
        for provider in ("stripe", "paypal", "ach"):
            # The error is where the provider is used (a request naming it is a 422).
            with pytest.raises(ProviderNotConfigured, match=f"provider '{provider}' is not"):
                container.engine.provider(provider)
    finally:
        container.close()


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_value_is_no_configuration(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    secret_is(monkeypatch, value)
    assert with_secrets(settings()) == settings()


def test_a_secret_without_a_value_yet_is_no_configuration(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret_is(monkeypatch, aws_error("ResourceNotFoundException"))
    with caplog.at_level(logging.WARNING):
        assert with_secrets(settings()) == settings()
    assert "has no value" in caplog.text


def test_access_denied_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_is(monkeypatch, aws_error("AccessDeniedException"))
    with pytest.raises(GetParameterError):
        with_secrets(settings())


def test_a_complete_provider_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_is(monkeypatch, {"stripe_api_key": "sk_test_1", "stripe_webhook_secret": "whsec_1"})
    read = with_secrets(settings())
    assert read.stripe_api_key is not None
    assert read.stripe_api_key.get_secret_value() == "sk_test_1"


def test_a_provider_given_in_part_is_off_and_says_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret_is(
        monkeypatch,
        {
            "stripe_api_key": "sk_test_1",
            "paypal_client_id": "client",
            "paypal_client_secret": "secret",
            "paypal_webhook_id": "hook",
        },
    )
    with caplog.at_level(logging.WARNING):
        read = with_secrets(settings())
    assert read.stripe_api_key is None  # off, not a failed start
    assert read.paypal_client_id == "client"  # the complete one is on
    assert "provider stripe is off: the provider secret lacks stripe_webhook_secret" in (
        caplog.text
    )
    container = build(settings())
    try:
        assert container.engine.provider("paypal") is not None
        with pytest.raises(ProviderNotConfigured, match="provider 'stripe' is not configured"):
            container.engine.provider("stripe")
    finally:
        container.close()


def test_the_environment_completes_what_the_secret_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_is(monkeypatch, {"stripe_api_key": "sk_test_1"})
    read = with_secrets(settings(stripe_webhook_secret="whsec_env"))
    assert read.stripe_api_key is not None
    assert read.stripe_webhook_secret is not None
    assert read.stripe_webhook_secret.get_secret_value() == "whsec_env"


def test_ach_needs_the_vault_key_but_the_vault_works_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_is(monkeypatch, {"ach_origin": json.dumps({"company_id": "1"})})
    assert with_secrets(settings()).ach_origin is None
    secret_is(monkeypatch, {"bank_vault_key": VAULT_KEY})
    read = with_secrets(settings())
    assert read.bank_vault_key is not None
    assert read.ach_origin is None


@pytest.mark.parametrize(
    ("value", "message"),
    [(["not", "an", "object"], "JSON object"), ({"stripe_key": "x"}, "unknown keys")],
)
def test_a_malformed_secret_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, value: Any, message: str
) -> None:
    secret_is(monkeypatch, value)
    with pytest.raises(ValueError, match=message):
        with_secrets(settings())

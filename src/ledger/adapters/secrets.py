"""Provider credentials from AWS Secrets Manager (through Powertools' cached parameters):
values the environment does not set are filled from the secret's JSON object."""

from __future__ import annotations

from typing import Any

from ledger.settings import Settings

SECRET_FIELDS = (
    "stripe_api_key",
    "stripe_webhook_secret",
    "paypal_client_id",
    "paypal_client_secret",
    "paypal_webhook_id",
    "bank_vault_key",
    "ach_origin",
)


def with_secrets(settings: Settings) -> Settings:
    if not settings.provider_secret_arn:
        return settings
    from aws_lambda_powertools.utilities import parameters

    secret: Any = parameters.get_secret(settings.provider_secret_arn, transform="json", max_age=300)
    if not isinstance(secret, dict):
        raise ValueError("the provider secret must be a JSON object")
    unknown = set(secret) - set(SECRET_FIELDS)
    if unknown:
        raise ValueError(f"unknown keys in the provider secret: {', '.join(sorted(unknown))}")
    missing = {k: v for k, v in secret.items() if getattr(settings, k) is None and v}
    if not missing:
        return settings
    return Settings.model_validate({**settings.model_dump(), **missing})

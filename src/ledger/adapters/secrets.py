"""Provider credentials from AWS Secrets Manager (through Powertools' cached parameters):
values the environment does not set are filled from the secret's JSON object.

A missing provider configuration means that provider is off, never a function that cannot
start: the secret Terraform creates holds `{}` until an operator puts the credentials; a secret
with no value yet (ResourceNotFound), an empty one, and a provider whose keys the secret gives
only in part are all read as "not configured", with a warning naming what is missing. The
sandbox is always on; a request naming a provider that is off is refused where it is used
(422, provider not configured). Anything else (access denied, a value that is not a JSON
object, unknown keys) is an error at start, as a misconfiguration should be."""

from __future__ import annotations

import json
import logging
from typing import Any

from ledger.settings import Settings

log = logging.getLogger(__name__)

SECRET_FIELDS = (
    "stripe_api_key",
    "stripe_webhook_secret",
    "paypal_client_id",
    "paypal_client_secret",
    "paypal_webhook_id",
    "bank_vault_key",
    "ach_origin",
)

# What each provider needs before it can be turned on (ledger.bootstrap refuses a part of one).
PROVIDER_FIELDS = {
    "stripe": ("stripe_api_key", "stripe_webhook_secret"),
    "paypal": ("paypal_client_id", "paypal_client_secret", "paypal_webhook_id"),
    "ach": ("ach_origin", "bank_vault_key"),
}
# Useful without the rest of their provider: the vault seals bank accounts without ACH.
STANDALONE_FIELDS = {"bank_vault_key"}


def _error_code(error: BaseException) -> str | None:
    """The AWS error code behind a Powertools GetParameterError (raised inside its except)."""
    cause = error.__cause__ or error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def read_secret(arn: str) -> dict[str, Any]:
    """The secret's JSON object; {} when it has no value yet or an empty one."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        raw: Any = parameters.get_secret(arn, max_age=300)
    except GetParameterError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        log.warning(
            "provider secret %s has no value: no provider is configured (sandbox only)", arn
        )
        return {}
    if isinstance(raw, bytes):
        raw = raw.decode()
    if raw is None or not str(raw).strip():
        return {}
    secret = json.loads(raw)
    if not isinstance(secret, dict):
        raise ValueError("the provider secret must be a JSON object")
    return secret


def with_secrets(settings: Settings) -> Settings:
    if not settings.provider_secret_arn:
        return settings
    secret = read_secret(settings.provider_secret_arn)
    unknown = set(secret) - set(SECRET_FIELDS)
    if unknown:
        raise ValueError(f"unknown keys in the provider secret: {', '.join(sorted(unknown))}")
    missing = {k: v for k, v in secret.items() if getattr(settings, k) is None and v}
    for provider, fields in PROVIDER_FIELDS.items():
        given = {field for field in fields if field in missing or getattr(settings, field)}
        if not given or given == set(fields) or given <= STANDALONE_FIELDS:
            continue
        # Given in part: the provider is off, the secret's part of it dropped.
        dropped = [f for f in fields if f in missing and f not in STANDALONE_FIELDS]
        if dropped:
            lacking = ", ".join(f for f in fields if f not in given)
            log.warning("provider %s is off: the provider secret lacks %s", provider, lacking)
            for field in dropped:
                del missing[field]
    if not missing:
        return settings
    return Settings.model_validate({**settings.model_dump(), **missing})

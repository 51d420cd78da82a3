"""Schema-driven fuzzing with every schemathesis check (`--checks all`): whatever a client sends,
the API never answers with a 5xx, and every answer (status, media type, body, headers, 405 with
its Allow header) is one the OpenAPI document declares.

One check is waived where the API refuses what JSON Schema cannot describe, never more widely:
`positive_data_acceptance` (a schema-valid request must not be refused with 400 or 422); and
for a request refused as a card number, `missing_required_header` too (see `_waived`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from api.app import create_app
from ledger.adapters.ach.vault import BankAccountVault
from ledger.bootstrap import build
from ledger.settings import Settings
from tests.support.idempotency import fresh_key

pytestmark = pytest.mark.integration

_container = build(Settings(persistence="popo", bank_vault_key=BankAccountVault.generate_key()))
_secret, _ = _container.keys.create(["admin"])
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_container, follow=False))


@schema.auth()
class ApiKey:
    """The admin key on every case but those testing a missing or wrong Authorization."""

    def get(self, case: Any, context: Any) -> str:
        return _secret

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# Operations whose bodies must also satisfy rules that span fields or other resources.
BEYOND_SCHEMA = {
    "POST /v1/payments": "splits name registered manufacturers and sum to the amount",
    "POST /v1/subscriptions": "splits name registered manufacturers and sum to the amount",
    "POST /v1/payouts": "the manufacturer must be registered",
    "POST /v1/bank-accounts": "a routing number passes the ABA checksum",
    "PUT /v1/manufacturers/{manufacturer_id}/bank-account": "the ABA checksum",
    "PATCH /v1/manufacturers/{manufacturer_id}/settings": "a provider configured here",
    "POST /v1/payments/{payment_id}/disputes": "opened_at is not in the future",
    "POST /v1/disputes/{dispute_id}/close": "closed_at is not in the future",
    "GET /v1/reports/manufacturers/{manufacturer_id}": "period, or from and to, 366 days at most",
    "PATCH /v1/keys/{key_id}": "a label without Unicode control characters, a future expiry",
    "POST /v1/settlements/paypal": "the body is a PayPal settlement report (STL)",
    "POST /v1/reconciliation/runs": "stripe takes payout_id and no body, paypal an STL body",
}
# The card-number rule (api.card_numbers): Luhn over any 13-19 digits, not a JSON Schema.
CARD_NUMBER = "urn:ledger:problem:card-number-rejected"


def _positive(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


def _card_number_refused(response: Any) -> bool:
    if response.status_code != 422:
        return False
    try:
        refusal = json.loads(response.text)
    except ValueError:
        return False
    return isinstance(refusal, dict) and refusal.get("type") == CARD_NUMBER


def _beyond_schema(case: Any) -> bool:
    if f"{case.method} {case.path}" in BEYOND_SCHEMA:
        return True
    if "cursor" in (case.query or {}):
        return True  # opaque: only a cursor the API handed out is one
    # Money is never a float: 5.0 is refused, though JSON Schema calls it an integer.
    return _has_float(case.body)


def _waived(case: Any, response: Any) -> list[Any]:
    if _card_number_refused(response):
        # The card rule runs first, before authentication: not even a 401 sees the request.
        return [checks.positive_data_acceptance, checks.missing_required_header]
    return [checks.positive_data_acceptance] if _beyond_schema(case) else []


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_declared(case: Any) -> None:
    if _positive(case) and case.headers and "Idempotency-Key" in case.headers:
        # A key is single use, which a schema cannot say: a generated key met twice with other
        # bodies is refused (422 idempotency-key-reused), as tests/unit/api check.
        case.headers["Idempotency-Key"] = fresh_key("fuzz")
    response = case.call()
    case.validate_response(response, excluded_checks=_waived(case, response))

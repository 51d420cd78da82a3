"""A provider whose configuration is missing or partial is off: the ledger starts, and the error
appears where that provider is used (a 422 that says what is missing), never at start-up."""

from __future__ import annotations

import pytest

from ledger.application.errors import ProviderNotConfigured
from ledger.bootstrap import build
from ledger.settings import Settings


@pytest.mark.parametrize(
    ("settings", "provider", "missing"),
    [
        ({"stripe_api_key": "sk_test_1"}, "stripe", "LEDGER_STRIPE_WEBHOOK_SECRET"),
        ({"paypal_client_id": "client"}, "paypal", "LEDGER_PAYPAL_CLIENT_SECRET"),
        ({"ach_origin": "{}"}, "ach", "LEDGER_BANK_VAULT_KEY"),
    ],
)
def test_a_partly_configured_provider_is_off_and_says_why_where_used(
    settings: dict[str, str], provider: str, missing: str
) -> None:
    container = build(Settings(persistence="popo", **settings))  # starts
    try:
        with pytest.raises(ProviderNotConfigured) as refused:
            container.engine.provider(provider)
        assert missing in refused.value.message
        assert container.engine.provider("sandbox") is not None
        assert provider not in container.webhook_sources
    finally:
        container.close()


def test_a_payment_routed_to_a_provider_that_is_off_is_a_422_naming_what_is_missing() -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    container = build(Settings(persistence="popo", stripe_api_key="sk_test_1"))
    with TestClient(create_app(container, follow=False)) as client:
        secret, _ = container.keys.create(["admin"])
        auth = {"Authorization": f"Bearer {secret}"}
        made = client.post("/v1/manufacturers", json={"name": "M", "fee_bps": 0}, headers=auth)
        body = {
            "amount": 100,
            "currency": "USD",
            "customer_id": "c",
            "provider": "stripe",
            "payment_method": "pm_x",
            "splits": [{"manufacturer_id": made.json()["id"], "amount": 100}],
        }
        answer = client.post(
            "/v1/payments", json=body, headers={**auth, "Idempotency-Key": "off-1"}
        )
    container.close()
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:ledger:problem:provider-not-configured"
    assert "LEDGER_STRIPE_WEBHOOK_SECRET" in answer.json()["detail"]

"""A manufacturer's bank account for ACH payouts: sealed by the vault before it reaches the
ledger, shown only as a mask, never recorded as a number."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import BankAccountVault
from ledger.bootstrap import build
from ledger.settings import Settings
from tests.conftest import Api, ManualClock

ROUTING = "021000021"  # passes the ABA checksum
ACCOUNT = "4111111111111111"  # an account number that is also a Luhn-valid card number


@pytest.fixture
def vault(api: Api) -> VaultSealer:
    sealer = VaultSealer.from_base64_key(BankAccountVault.generate_key())
    api.container.vault = sealer
    return sealer


def put_account(api: Api, manufacturer_id: str, auth: dict[str, str], **fields: Any) -> Any:
    body = {"routing_number": ROUTING, "account_number": ACCOUNT, **fields}
    return api.client.put(
        f"/v1/manufacturers/{manufacturer_id}/bank-account", json=body, headers=auth
    )


def stored_states(api: Api) -> list[bytes]:
    """Every recorded event's state, but a key's recorded last use (ApiKey.Used, a timestamp)."""
    notifications = api.container.engine.recorder.select_notifications(start=1, limit=100_000)
    return [n.state for n in notifications if not n.topic.endswith(":ApiKey.Used")]


def test_the_account_is_sealed_and_only_its_mask_is_shown(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    response = put_account(api, m, admin, account_type="savings")
    assert response.status_code == 200, response.text
    assert ACCOUNT not in response.text
    settings = response.json()["settings"]
    assert settings["bank_account_masked"] == "****1111"
    assert "bank_account_token" not in settings
    shown = api.get(f"/v1/manufacturers/{m}", admin)
    assert ACCOUNT not in shown.text
    assert shown.json()["settings"]["bank_account_masked"] == "****1111"

    # The ledger holds a token the vault opens to the account; no event holds the number.
    manufacturer = api.container.queries.manufacturer(
        api.container.keys.authenticate(admin["Authorization"][7:]),  # type: ignore[arg-type]
        m,
    )
    token = manufacturer.settings["bank_account_token"]
    assert token.startswith("bav1.")
    opened = vault.open(token)
    assert (opened.routing_number, opened.account_number, opened.account_type) == (
        ROUTING,
        ACCOUNT,
        "savings",
    )
    states = stored_states(api)
    assert any(token.encode() in state for state in states)
    for state in states:
        assert ACCOUNT.encode() not in state
        assert ACCOUNT[-8:].encode() not in state
    events = api.container.engine.recorder.select_notifications(start=1, limit=100_000)
    assert any(n.topic.endswith(":Manufacturer.SettingsChanged") for n in events)


def test_with_an_idempotency_key_nothing_stored_reveals_the_number(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    """The idempotency record keeps a fingerprint of the request: a plain hash of a body with
    a bank account number in it can be reversed by trying every number of that length."""
    m = api.manufacturer(admin)
    path = f"/v1/manufacturers/{m}/bank-account"
    body = {"routing_number": ROUTING, "account_number": ACCOUNT, "account_type": "checking"}
    headers = {**admin, "Idempotency-Key": "bank-1"}
    first = api.client.put(path, json=body, headers=headers)
    again = api.client.put(path, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    guessable = hashlib.sha256(f"PUT {path}\n{canonical}".encode()).hexdigest()
    for state in stored_states(api):
        assert ACCOUNT.encode() not in state
        assert guessable.encode() not in state


def test_a_luhn_valid_account_number_is_refused_everywhere_else(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    assert put_account(api, m, admin).status_code == 200
    # The exemption is for the account fields of this route only.
    extra = put_account(api, m, admin, note=ACCOUNT)
    assert extra.status_code == 422
    assert extra.json()["type"] == "urn:ledger:problem:card-number-rejected"
    payment = api.payment_body([(m, 500)], metadata={"account_number": ACCOUNT})
    refused = api.post("/v1/payments", payment, admin)
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:ledger:problem:card-number-rejected"
    renamed = api.client.patch(f"/v1/manufacturers/{m}", json={"name": ACCOUNT}, headers=admin)
    assert renamed.status_code == 422
    assert renamed.json()["type"] == "urn:ledger:problem:card-number-rejected"


def test_ach_payouts_need_a_bank_account(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    path = f"/v1/manufacturers/{m}/settings"
    before = api.client.patch(path, json={"payout_rail": "ach"}, headers=admin)
    assert before.status_code == 422
    assert put_account(api, m, admin).status_code == 200
    after = api.client.patch(path, json={"payout_rail": "ach"}, headers=admin)
    assert after.status_code == 200, after.text
    assert after.json()["settings"]["payout_rail"] == "ach"
    assert after.json()["settings"]["bank_account_masked"] == "****1111"


@pytest.mark.parametrize(
    "fields",
    [
        {"routing_number": "021000022"},  # fails the ABA checksum
        {"routing_number": "12345678"},
        {"account_number": "123"},
        {"account_number": "1" * 18},
        {"account_number": "12-34"},
        {"account_type": "brokerage"},
        {"account_number": 4111111111111111},
    ],
)
def test_invalid_accounts_are_422_and_nothing_changes(
    api: Api, admin: dict[str, str], vault: VaultSealer, fields: dict[str, Any]
) -> None:
    m = api.manufacturer(admin)
    before = api.get(f"/v1/manufacturers/{m}", admin).json()
    response = put_account(api, m, admin, **fields)
    assert response.status_code == 422, response.text
    assert ACCOUNT not in response.text
    assert api.get(f"/v1/manufacturers/{m}", admin).json() == before


def test_scope_and_unknown_manufacturer(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    writer = api.key("payments:write")
    assert put_account(api, m, writer).status_code == 403
    assert put_account(api, "mfr_" + "0" * 32, admin).status_code == 404
    other = api.manufacturer(admin)
    bound = api.key("payments:write", manufacturer=other)
    assert put_account(api, m, bound).status_code == 404
    reader = api.key("payments:read", manufacturer=m)
    assert put_account(api, m, reader).status_code == 403


def test_without_a_vault_bank_accounts_are_422(api: Api, admin: dict[str, str]) -> None:
    assert api.container.vault is None
    m = api.manufacturer(admin)
    response = put_account(api, m, admin)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:ledger:problem:bank-accounts-disabled"
    assert ACCOUNT not in response.text
    assert (
        api.get(f"/v1/manufacturers/{m}", admin).json()["settings"]["bank_account_masked"] is None
    )


@pytest.fixture
def configured(clock: ManualClock) -> Iterator[Api]:
    settings = Settings(persistence="popo", bank_vault_key=BankAccountVault.generate_key())
    container = build(settings, clock=clock)
    try:
        with TestClient(create_app(container, follow=False)) as client:
            yield Api(client, container)
    finally:
        container.close()


def test_the_vault_key_setting_wires_the_vault(configured: Api) -> None:
    assert configured.container.vault is not None
    admin = configured.key("admin")
    m = configured.manufacturer(admin)
    response = put_account(configured, m, admin)
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["bank_account_masked"] == "****1111"


def test_customer_accounts_are_tokenized_without_being_recorded(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    before = len(stored_states(api))
    body = {"routing_number": ROUTING, "account_number": ACCOUNT}
    response = api.client.post("/v1/bank-accounts", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert ACCOUNT not in response.text
    assert response.json()["masked"] == "****1111"
    assert vault.open(response.json()["token"]).account_number == ACCOUNT
    assert len(stored_states(api)) == before

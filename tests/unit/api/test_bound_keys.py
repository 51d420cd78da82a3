"""What a key bound to a manufacturer may do (issue 11 item 3): never hold admin, never change
its manufacturer's fee, refund policy, approval policy or settings; a bank account it proposes
takes effect only when the platform approves it."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import BankAccountVault
from ledger.application.api_keys import hash_api_key
from ledger.domain.api_key import BOUND_SCOPES, ApiKey
from ledger.domain.errors import InvalidInput
from tests.conftest import Api

ROUTING = "021000021"
ACCOUNT = "000123456789"


@pytest.fixture
def vault(api: Api) -> VaultSealer:
    sealer = VaultSealer.from_base64_key(BankAccountVault.generate_key())
    api.container.vault = sealer
    return sealer


def bound_key(api: Api, manufacturer_id: str) -> dict[str, str]:
    """Every scope a bound key may hold."""
    return api.key(*BOUND_SCOPES, manufacturer=manufacturer_id)


def put_account(api: Api, manufacturer_id: str, auth: dict[str, str], number: str) -> Any:
    body = {"routing_number": ROUTING, "account_number": number}
    return api.client.put(
        f"/v1/manufacturers/{manufacturer_id}/bank-account", json=body, headers=auth
    )


def test_a_bound_key_can_never_be_issued_admin(api: Api, admin: dict[str, str]) -> None:
    m = api.manufacturer(admin)
    with pytest.raises(InvalidInput, match="cannot hold the 'admin' scope"):
        api.container.keys.create(["admin"], m)
    with pytest.raises(InvalidInput):
        api.container.keys.create(["payments:read", "admin"], m)
    assert api.container.fresh().count_api_keys() == 1  # only the fixture's admin key


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("", {"fee_bps": 0}),
        ("", {"refund_fee_policy": "keep_fee"}),
        ("", {"payout_approvals_required": 0}),
        ("", {"payout_approval_threshold": {"USD": 10**9}}),
        ("/settings", {"refund_approvals_required": 0}),
        ("/settings", {"refund_approval_threshold": {"USD": 10**9}}),
        ("/settings", {"payout_interval": "daily"}),
    ],
)
def test_a_bound_key_cannot_change_its_own_terms(
    api: Api, admin: dict[str, str], path: str, change: dict[str, Any]
) -> None:
    m = api.manufacturer(admin, fee_bps=300, payout_approvals_required=2)
    api.patch(f"/v1/manufacturers/{m}/settings", {"refund_approvals_required": 1}, admin)
    before = api.get_json(f"/v1/manufacturers/{m}", admin)
    response = api.patch(f"/v1/manufacturers/{m}{path}", change, bound_key(api, m))
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:ledger:problem:forbidden"
    assert api.get_json(f"/v1/manufacturers/{m}", admin) == before


def test_a_key_issued_bound_with_admin_before_the_rule_loses_admin(
    api: Api, admin: dict[str, str]
) -> None:
    """Such keys exist in stored histories: they keep what a bound key may do, nothing more."""
    m = api.manufacturer(admin, fee_bps=300)
    secret = "lk_legacy-bound-admin"
    api.container.engine.save_new(ApiKey(hash_api_key(secret), ["admin"], m))
    legacy = {"Authorization": f"Bearer {secret}"}
    principal = api.container.keys.authenticate(secret)
    assert principal is not None
    assert "admin" not in principal.scopes
    assert principal.scopes == frozenset(BOUND_SCOPES)
    assert api.patch(f"/v1/manufacturers/{m}", {"fee_bps": 0}, legacy).status_code == 403
    assert api.get_json(f"/v1/manufacturers/{m}", admin)["fee_bps"] == 300
    assert api.get(f"/v1/manufacturers/{m}", legacy).status_code == 200
    assert api.post("/v1/manufacturers", {"name": "X", "fee_bps": 1}, legacy).status_code == 403


def test_a_bank_account_from_a_bound_key_waits_for_the_platform(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    assert put_account(api, m, admin, "000111222333").status_code == 200
    mine = bound_key(api, m)
    proposed = put_account(api, m, mine, ACCOUNT)
    assert proposed.status_code == 202, proposed.text
    body = proposed.json()
    assert body["settings"]["bank_account_masked"] == "****2333"  # unchanged until approved
    assert body["pending_bank_account"]["masked"] == "****6789"
    assert ACCOUNT not in proposed.text

    # Neither this key nor another key of the same manufacturer can approve it.
    for approver in (mine, bound_key(api, m)):
        response = api.post(f"/v1/manufacturers/{m}/bank-account/approve", None, approver)
        assert response.status_code == 403, response.text
    shown = api.get_json(f"/v1/manufacturers/{m}", admin)
    assert shown["settings"]["bank_account_masked"] == "****2333"

    approved = api.post(f"/v1/manufacturers/{m}/bank-account/approve", None, admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["settings"]["bank_account_masked"] == "****6789"
    assert approved.json()["pending_bank_account"] is None
    again = api.post(f"/v1/manufacturers/{m}/bank-account/approve", None, admin)
    assert again.status_code == 409


def test_the_platform_can_reject_a_proposed_bank_account(
    api: Api, admin: dict[str, str], vault: VaultSealer
) -> None:
    m = api.manufacturer(admin)
    assert put_account(api, m, bound_key(api, m), ACCOUNT).status_code == 202
    rejected = api.post(
        f"/v1/manufacturers/{m}/bank-account/reject", {"reason": "not verified"}, admin
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["pending_bank_account"] is None
    assert rejected.json()["settings"]["bank_account_masked"] is None
    approve = api.post(f"/v1/manufacturers/{m}/bank-account/approve", None, admin)
    assert approve.status_code == 409

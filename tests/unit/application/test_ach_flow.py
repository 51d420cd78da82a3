"""ACH end to end on the embedded runtime: bank accounts sealed, payouts and debits batched into
a NACHA file that parses back to the same entries, and a returns file reversing them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.ach.files import NachaFiles
from ledger.adapters.ach.nacha import Entry, Origin, parse_file, write_returns_file
from ledger.adapters.ach.sealer import VaultSealer
from ledger.adapters.ach.vault import BankAccountVault
from ledger.application.processes.ach import apply_returns, originate
from ledger.bootstrap import Container, ach_files, build
from ledger.settings import Settings
from tests.conftest import Api, ManualClock

ORIGIN = Origin(
    immediate_destination="091000019",
    immediate_destination_name="FED RESERVE",
    immediate_origin="1234567890",
    immediate_origin_name="MARKETPLACE",
    company_name="MARKETPLACE",
    company_id="1234567890",
    odfi_id="09100001",
)
MANUFACTURER_ACCOUNT = ("021000021", "4111111111111111", "checking")  # Luhn-valid on purpose
CUSTOMER_ACCOUNT = ("011000015", "99887766", "savings")


@pytest.fixture
def ach(clock: ManualClock) -> Iterator[tuple[Api, Container]]:
    settings = Settings(
        persistence="popo",
        bank_vault_key=BankAccountVault.generate_key(),
        ach_origin=json.dumps(ORIGIN.__dict__),
    )
    container = build(settings, clock=clock)
    with TestClient(create_app(container, follow=False)) as client:
        yield Api(client, container), container
    container.close()


def customer_bank_account(api: Api, admin: dict[str, str]) -> dict[str, Any]:
    """CUSTOMER_ACCOUNT tokenized by POST /v1/bank-accounts: its token and mask."""
    routing, account, kind = CUSTOMER_ACCOUNT
    response = api.post(
        "/v1/bank-accounts",
        {"routing_number": routing, "account_number": account, "account_type": kind},
        admin,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _states(container: Container) -> bytes:
    rows = container.engine.recorder.select_notifications(start=1, limit=100_000)
    return b"".join(row.state for row in rows)


def test_ach_payouts_and_debits_go_out_in_one_file_and_returns_reverse_them(
    ach: tuple[Api, Container],
) -> None:
    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, name="Acme Tools", fee_bps=0)
    routing, account, kind = MANUFACTURER_ACCOUNT
    set_account = api.client.put(
        f"/v1/manufacturers/{m}/bank-account",
        json={"routing_number": routing, "account_number": account, "account_type": kind},
        headers=admin,
    )
    assert set_account.status_code == 200, set_account.text
    assert set_account.json()["settings"]["bank_account_masked"] == "****1111"
    assert "bank_account_token" not in set_account.json()["settings"]
    rail = api.client.patch(
        f"/v1/manufacturers/{m}/settings", json={"payout_rail": "ach"}, headers=admin
    )
    assert rail.status_code == 200, rail.text

    # A customer pays by ACH debit: tokenize the account, pay with the token.
    token = customer_bank_account(api, admin)
    assert token["masked"] == "****7766"
    debit = api.payment(admin, [(m, 5000)], provider="ach", payment_method=token["token"])
    assert debit["status"] == "pending"
    card = api.payment(admin, [(m, 3000)])  # sandbox, captured now

    payout = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 3000, "currency": "USD"}, admin
    )
    assert payout.status_code == 201, payout.text
    api.settle()
    submitted = api.get(f"/v1/payouts/{payout.json()['id']}", admin).json()
    assert submitted["status"] == "submitted"

    files = originate(container.engine, ach_files(container), container.engine.now())
    assert [(f.payouts, f.debits) for f in files] == [(1, 1)]
    parsed = parse_file(files[0].text)
    credit, debit_entry = (e for b in parsed.batches for e in b.batch.entries)
    assert (credit.transaction_code, credit.amount_cents, credit.account_number) == (
        22,
        3000,
        "4111111111111111",
    )
    assert credit.name == "ACME TOOLS"
    assert (debit_entry.transaction_code, debit_entry.amount_cents) == (37, 5000)
    assert (parsed.total_credit_cents, parsed.total_debit_cents) == (3000, 5000)
    # Bank account numbers never reach the event store.
    assert b"4111111111111111" not in _states(container)
    assert b"99887766" not in _states(container)

    paid = api.get(f"/v1/payouts/{payout.json()['id']}", admin).json()
    assert paid["status"] == "paid"
    in_file = api.get(f"/v1/payments/{debit['id']}", admin).json()
    assert in_file["status"] == "authorized"  # pending until its file settles
    # Nothing pending is left: a second run makes no file, and the same text renders again.
    assert originate(container.engine, ach_files(container), container.engine.now()) == []

    traces = [t for b in parsed.batches for t in b.trace_numbers]
    returns = write_returns_file(
        ORIGIN,
        [(credit, traces[0], "R02"), (debit_entry, traces[1], "R10")],
        created_at=container.engine.now().replace(tzinfo=None),
        file_id_modifier="A",
    )
    outcomes = dict(apply_returns(container.engine, ach_files(container), returns))
    assert outcomes[traces[0]].startswith("payout")
    assert outcomes[traces[1]].endswith("returned before settlement")
    assert dict(apply_returns(container.engine, ach_files(container), returns)) == {
        traces[0]: "duplicate",
        traces[1]: "duplicate",
    }
    returned = api.get(f"/v1/payouts/{payout.json()['id']}", admin).json()
    assert returned["status"] == "returned"
    assert returned["failure_reason"].startswith("R02")
    reversed_debit = api.get(f"/v1/payments/{debit['id']}", admin).json()
    assert reversed_debit["status"] == "failed"
    # Owed: 3000 card - 3000 payout + 3000 returned = 3000; the debit, returned before its
    # file settled, was never owed (the payable is credit-normal: debits minus credits)
    balance = api.get(f"/v1/accounts/manufacturer:{m}:payable/balance", admin, currency="USD")
    assert balance.json()["balance"] == -3000
    cash = api.get("/v1/accounts/platform:cash/balance", admin, currency="USD").json()
    assert cash["balance"] == 0
    assert card["status"] == "captured"


def test_ach_debits_need_usd_automatic_capture_and_a_real_token(
    ach: tuple[Api, Container],
) -> None:
    api, _ = ach
    admin = api.key("admin")
    m = api.manufacturer(admin)
    # A raw account number (or anything but a vault token) is refused before it is stored.
    for raw in ("bav1.nonsense", "99887766"):
        body = api.payment_body([(m, 100)], provider="ach", payment_method=raw)
        refused = api.post("/v1/payments", body, admin)
        assert refused.status_code == 422
        assert "bank-account token" in refused.json()["detail"]
    assert b"99887766" not in _states(api.container)
    token = customer_bank_account(api, admin)["token"]
    manual = api.payment(
        admin, [(m, 100)], provider="ach", payment_method=token, capture_method="manual"
    )
    assert manual["failure_reason"] == "ach_debits_capture_automatically"
    euros = api.payment(admin, [(m, 100)], provider="ach", payment_method=token, currency="EUR")
    assert euros["failure_reason"] == "ach_requires_usd"
    wrong = api.post(
        "/v1/bank-accounts",
        {"routing_number": "021000022", "account_number": "123", "account_type": "checking"},
        admin,
    )
    assert wrong.status_code == 422


def test_the_ach_rail_needs_a_bank_account(ach: tuple[Api, Container]) -> None:
    api, _ = ach
    admin = api.key("admin")
    m = api.manufacturer(admin)
    refused = api.client.patch(
        f"/v1/manufacturers/{m}/settings", json={"payout_rail": "ach"}, headers=admin
    )
    assert refused.status_code == 422
    assert "bank account" in refused.json()["detail"]


def test_returns_file_entries_must_match_an_originated_trace(ach: tuple[Api, Container]) -> None:
    _, container = ach
    stray = Entry(22, "021000021", "123456", 100, "NOBODY", "PO123")
    returns = write_returns_file(
        ORIGIN,
        [(stray, "091000010000999", "R03")],
        created_at=container.engine.now().replace(tzinfo=None),
        file_id_modifier="B",
        effective_date=date(2026, 3, 11),
    )
    assert apply_returns(container.engine, ach_files(container), returns) == [
        ("091000010000999", "ignored: unknown trace number")
    ]


def test_an_entry_that_cannot_be_written_fails_instead_of_blocking_the_file(
    ach: tuple[Api, Container],
) -> None:
    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    routing, account, kind = CUSTOMER_ACCOUNT
    token = customer_bank_account(api, admin)["token"]
    stranded = api.payment(admin, [(m, 700)], provider="ach", payment_method=token)
    # The vault key was rotated without re-sealing: this token can no longer be opened.
    rotated = VaultSealer(
        BankAccountVault(base64.urlsafe_b64decode(BankAccountVault.generate_key()))
    )
    container.vault = rotated
    container.rails["ach"].sealer = rotated  # type: ignore[attr-defined]
    later = rotated.seal(routing, account, kind)[0]
    fine = api.payment(admin, [(m, 300)], provider="ach", payment_method=later)
    files = originate(container.engine, NachaFiles(ORIGIN, rotated), container.engine.now())
    assert [(f.payouts, f.debits) for f in files] == [(0, 1)]
    assert [e.amount_cents for b in parse_file(files[0].text).batches for e in b.batch.entries] == [
        300
    ]
    failed = api.get(f"/v1/payments/{stranded['id']}", admin).json()
    assert (failed["status"], failed["failure_reason"]) == ("failed", "invalid_bank_account")
    assert api.get(f"/v1/payments/{fine['id']}", admin).json()["status"] == "authorized"
    assert originate(container.engine, NachaFiles(ORIGIN, rotated), container.engine.now()) == []

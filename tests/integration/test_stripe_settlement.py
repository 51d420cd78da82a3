"""Stripe settlement and reconciliation: a signed `payout.paid` webhook makes the ledger list the
payout's balance transactions through the SDK (over HTTP, against localstripe serving them) and
book platform:cash, the receivable and the fees it had not booked, once per payout; a
reconciliation run of the payout finds one fee mismatch and one charge the ledger lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.stripe_provider import StripeProvider
from ledger.application.ports import ProviderCapabilities, ProviderResult
from ledger.application.processes import reconciliation_inputs as inputs
from ledger.application.processes.reconciliation import reconcile
from ledger.bootstrap import Container, build
from ledger.settings import Settings
from tests.conftest import Api, ManualClock
from tests.support.localstripe_server import localstripe_server, set_payout_transactions
from tests.support.providers import ScriptedProviderBase
from tests.support.seed import create_payment, register
from tests.support.stripe_webhooks import SECRET, deliver, stripe_event

pytestmark = pytest.mark.integration


class Captures(ScriptedProviderBase):
    """Stripe's answers to the ledger's payments: PaymentIntent ids and the fee Stripe reported
    at capture (each payment_method names its intent and fee: pm_<intent>_<fee>)."""

    capabilities = ProviderCapabilities(sends_webhooks=True)

    def authorize(self, request: Any) -> ProviderResult:
        _, intent, fee = request.payment_method.split("_")
        return ProviderResult("succeeded", f"pi_{intent}", fee=int(fee))


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    with localstripe_server() as base_url:
        yield base_url


@pytest.fixture
def ledger(localstripe: str, clock: ManualClock) -> Iterator[Api]:
    container: Container = build(Settings(persistence="popo"), clock=clock)
    container.engine.register_provider("stripe", Captures())
    container.webhook_sources["stripe"] = StripeProvider(
        "sk_test_settle", SECRET, api_base=localstripe, max_network_retries=0
    )
    with TestClient(create_app(container, follow=False)) as client:
        yield Api(client, container)
    container.close()


def _txn(
    tid: str, kind: str, amount: int, fee: int, source: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "id": tid,
        "object": "balance_transaction",
        "type": kind,
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "currency": "usd",
        "source": source,
    }


def _charge(ch: str, pi: str) -> dict[str, Any]:
    return {"id": ch, "object": "charge", "payment_intent": pi}


PAYOUT = "po_test_settle1"
# Three charges: alpha (10000, fee 320 as booked), bravo (5000: the fee is 175, though at
# capture Stripe reported 150), charlie (2000, fee 88), a charge the ledger never saw.
TRANSACTIONS = [
    _txn("txn_a", "charge", 10000, 320, _charge("ch_a", "pi_alpha")),
    _txn("txn_b", "charge", 5000, 175, _charge("ch_b", "pi_bravo")),
    _txn("txn_c", "charge", 2000, 88, _charge("ch_c", "pi_charlie")),
    _txn("txn_po", "payout", -16417, 0, None),
]


def _payout_paid(event_id: str) -> bytes:
    return stripe_event(
        "payout.paid",
        {"id": PAYOUT, "object": "payout", "amount": 16417, "currency": "usd", "status": "paid"},
        event_id=event_id,
    )


def test_a_paid_payout_is_booked_once_and_reconciles_to_one_fee_mismatch_and_one_missing_charge(
    ledger: Api, localstripe: str
) -> None:
    api = ledger
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    alpha = api.payment(admin, [(m, 10000)], provider="stripe", payment_method="pm_alpha_320")
    bravo = api.payment(admin, [(m, 5000)], provider="stripe", payment_method="pm_bravo_150")
    assert api.balance(admin, "provider:stripe:receivable") == 15000 - 320 - 150
    set_payout_transactions(localstripe, PAYOUT, TRANSACTIONS)

    paid = deliver(api, _payout_paid("evt_payout_1"))
    assert paid.status_code == 200, paid.text
    # Stripe's fees on the payout: 320 + 175 + 88 = 583; the ledger had booked 470 of them.
    assert paid.json()["outcome"] == (
        f"payout {PAYOUT} booked: 16417 USD to platform:cash, "
        "113 USD of provider fees not booked before"
    )
    assert api.balance(admin, "platform:cash") == 16417
    assert api.balance(admin, "platform:expense:provider_fees") == 470 + 113
    # 14530 owed by Stripe before, less 16417 + 113: the charge the ledger lacks (2000 - 88)
    # is what the receivable is short.
    assert api.balance(admin, "provider:stripe:receivable") == 14530 - 16530 == -2000

    # Redelivered, or announced again under another event id: nothing is booked twice.
    assert deliver(api, _payout_paid("evt_payout_1")).json()["outcome"] == "duplicate"
    again = deliver(api, _payout_paid("evt_payout_2")).json()["outcome"]
    assert again == f"payout {PAYOUT} already booked"
    assert api.balance(admin, "platform:cash") == 16417

    source = api.container.webhook_sources["stripe"]
    assert isinstance(source, StripeProvider)
    run = reconcile(api.container.engine, inputs.stripe_payout(source, PAYOUT))
    body = api.get_json(f"/v1/reconciliation/runs/rec_{run.id.hex}", admin)
    assert body["totals"] == {
        "payout": 16417,
        "provider_net": 16417,
        "matched_net": 10000 - 320,
        "matched": 1,
        "breaks": 2,
        "balanced": False,
    }
    (fee,) = body["breaks"]["fee_mismatch"]
    assert fee["provider"]["id"] == "txn_b"
    assert (fee["provider"]["amount"], fee["provider"]["fee"]) == (5000, 175)
    assert fee["ledger"] == {
        "payment_id": bravo["id"],
        "amount": 5000,
        "fee": 150,
        "currency": "USD",
        "status": "captured",
    }
    (missing,) = body["breaks"]["missing_in_ledger"]
    assert missing["ledger"] is None
    assert (missing["provider"]["reference"], missing["provider"]["net"]) == ("pi_charlie", 1912)
    assert set(body["breaks"]) == {"fee_mismatch", "missing_in_ledger"}
    assert body["matched"][0]["ledger"]["payment_id"] == alpha["id"]
    # matched + breaks = the payout: 9680 + (5000 - 175) + 1912 = 16417
    assert body["totals"]["matched_net"] + 4825 + 1912 == body["totals"]["payout"]

    # The same payout again: the same run and result, not a second one.
    assert reconcile(api.container.engine, inputs.stripe_payout(source, PAYOUT)).id == run.id
    listed = api.get_json("/v1/reconciliation/runs", admin)["data"]
    assert [r["id"] for r in listed] == [body["id"]]

    # finance:read only, and never for a manufacturer's own key.
    assert (
        api.get(f"/v1/reconciliation/runs/{body['id']}", api.key("payments:read")).status_code
        == 403
    )
    bound = api.key("finance:read", manufacturer=m)
    assert api.get(f"/v1/reconciliation/runs/{body['id']}", bound).status_code == 403
    assert api.get("/v1/reconciliation/runs/rec_nope", admin).status_code == 404


def test_ledger_reconcile_stripe_lists_the_payout_through_the_sdk(
    localstripe: str, tmp_path: Path
) -> None:
    db = tmp_path / "l.sqlite3"
    container = build(Settings(db=db, create=True))
    try:
        container.engine.register_provider("stripe", Captures())
        maker = register(container.engine, name="A", fee_bps=0, refund_fee_policy="keep_fee")
        m = f"mfr_{maker.id.hex}"
        create_payment(container.engine, m, 10000, provider="stripe", payment_method="pm_alpha_320")
    finally:
        container.close()
    set_payout_transactions(localstripe, "po_test_cli", TRANSACTIONS[:1])
    env = {
        **os.environ,
        "LEDGER_STRIPE_API_KEY": "sk_test_cli",
        "LEDGER_STRIPE_WEBHOOK_SECRET": SECRET,
        "LEDGER_STRIPE_API_BASE": localstripe,
    }
    command = [sys.executable, "-m", "ledger.cli", "reconcile", "--provider", "stripe"]
    command += ["po_test_cli", "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["totals"]["matched"] == 1
    assert run["totals"]["matched_net"] == 10000 - 320
    assert run["breaks"] == {}
    assert f"{run['id']}: 1 matched, 0 break(s)" in done.stderr


def _payout_event(kind: str, event_id: str, payout: str = PAYOUT) -> bytes:
    status = kind.split(".")[1]
    body = {"id": payout, "object": "payout", "amount": 16417, "currency": "usd", "status": status}
    return stripe_event(kind, body, event_id=event_id)


def test_a_failed_payout_reverses_its_settlement_once(ledger: Api, localstripe: str) -> None:
    api = ledger
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 10000)], provider="stripe", payment_method="pm_alpha_320")
    api.payment(admin, [(m, 5000)], provider="stripe", payment_method="pm_bravo_150")
    set_payout_transactions(localstripe, PAYOUT, TRANSACTIONS)
    assert deliver(api, _payout_paid("evt_paid_f1")).status_code == 200
    assert api.balance(admin, "platform:cash") == 16417

    failed = deliver(api, _payout_event("payout.failed", "evt_failed_f1"))
    assert failed.status_code == 200, failed.text
    assert failed.json()["outcome"] == (
        f"payout {PAYOUT} failed: 16417 USD back from platform:cash to stripe's receivable"
    )
    assert api.balance(admin, "platform:cash") == 0
    # The receivable is owed again; the fees Stripe kept on the charges stay booked.
    assert api.balance(admin, "provider:stripe:receivable") == -2000 + 16417
    assert api.balance(admin, "platform:expense:provider_fees") == 470 + 113

    assert deliver(api, _payout_event("payout.failed", "evt_failed_f1")).json() == {
        "outcome": "duplicate",
        "event_id": "evt_failed_f1",
        "kind": "payout_failed",
    }
    canceled = deliver(api, _payout_event("payout.canceled", "evt_canceled_f1")).json()
    assert canceled["outcome"] == f"payout {PAYOUT} already reversed (failed)"
    assert api.balance(admin, "platform:cash") == 0


def test_a_payout_failed_before_it_was_booked_books_nothing_then_or_later(
    ledger: Api, localstripe: str
) -> None:
    api = ledger
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 10000)], provider="stripe", payment_method="pm_alpha_320")
    payout = "po_test_early1"
    set_payout_transactions(localstripe, payout, TRANSACTIONS[:1])
    failed = deliver(api, _payout_event("payout.canceled", "evt_canceled_e1", payout)).json()
    assert failed["outcome"] == f"payout {payout} canceled before it was booked: nothing booked"
    late = deliver(
        api,
        stripe_event(
            "payout.paid",
            {"id": payout, "object": "payout", "amount": 9680, "currency": "usd", "status": "paid"},
            event_id="evt_paid_e1",
        ),
    ).json()
    assert late["outcome"] == f"payout {payout} canceled: nothing booked"
    assert not api.posted_to(admin, "platform:cash")
    assert api.balance(admin, "provider:stripe:receivable") == 10000 - 320


def test_a_stripe_payout_is_reconciled_through_the_api(ledger: Api, localstripe: str) -> None:
    api = ledger
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    api.payment(admin, [(m, 10000)], provider="stripe", payment_method="pm_alpha_320")
    api.payment(admin, [(m, 5000)], provider="stripe", payment_method="pm_bravo_150")
    payout = "po_test_api1"
    set_payout_transactions(localstripe, payout, TRANSACTIONS)
    finance = api.key("finance:close")
    params = {"provider": "stripe", "payout_id": payout}
    started = api.client.post("/v1/reconciliation/runs", headers=finance, params=params)
    assert started.status_code == 200, started.text
    run = started.json()
    assert run["source"] == f"payout {payout}"
    assert run["breaks_count"] == {"fee_mismatch": 1, "missing_in_ledger": 1}
    assert run["totals"]["payout"] == 16417
    again = api.client.post("/v1/reconciliation/runs", headers=finance, params=params)
    assert again.json()["id"] == run["id"]
    bound = api.key("finance:close", manufacturer=m)
    refused = api.client.post("/v1/reconciliation/runs", headers=bound, params=params)
    assert refused.status_code == 403

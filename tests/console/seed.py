"""Seeded ledger state for the console's browser tests, made over HTTP like a client would:
two manufacturers (one whose payouts need an approval), payments before and after a moment
the as-of tests look back to, a partial refund, an open dispute and payouts waiting; and a
reconciliation run with breaks, made with the CLI (there is no HTTP route that reconciles)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

ACME_FEE_BPS = 250
FIRST_PAYMENT = 10_000  # USD 100.00 for Acme
SECOND_PAYMENT = 4_000  # USD 40.00 for Acme, after the moment `before_second`
BOLT_PAYMENT = 2_500  # USD 25.00 for Bolt
REFUND = 1_000


@dataclass
class Seeded:
    acme: str
    bolt: str
    first_payment: str
    second_payment: str
    bolt_payment: str
    before_second: str  # a moment (Z form) after the first payment and before the second
    refund: str
    dispute: str
    crate: str = ""
    won_dispute: str = ""  # on Crate's payment, closed won
    lost_dispute: str = ""  # on Crate's payment, closed lost
    refunds_waiting: list[str] = field(default_factory=list)
    payouts: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)


def _wait(fetch: Any, done: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def _payment(http: httpx2.Client, manufacturer: str, amount: int, key: str) -> str:
    body = {
        "amount": amount,
        "currency": "USD",
        "customer_id": "cus_console",
        "payment_method": "pm_tok",
        "splits": [{"manufacturer_id": manufacturer, "amount": amount}],
    }
    created = http.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
    created.raise_for_status()
    return str(created.json()["id"])


def wait_until_projected(http: httpx2.Client) -> None:
    _wait(
        lambda: http.get("/healthz").json()["projections"]["lag_events"],
        lambda lag: lag == 0,
    )


def seed(base_url: str, admin_key: str, requester_key: str) -> Seeded:
    """requester_key (payments:write and payouts:approve) requests the payouts."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    with httpx2.Client(base_url=base_url, headers=auth, timeout=15) as http:
        acme = http.post(
            "/v1/manufacturers",
            json={
                "name": "Acme Tools",
                "fee_bps": ACME_FEE_BPS,
                "refund_fee_policy": "refund_fee",
                "payout_approval_threshold": {"USD": 100},
                "payout_approvals_required": 1,
            },
        ).json()["id"]
        bolt = http.post("/v1/manufacturers", json={"name": "Bolt Works", "fee_bps": 0}).json()[
            "id"
        ]
        first = _payment(http, acme, FIRST_PAYMENT, "console-first")
        bolt_payment = _payment(http, bolt, BOLT_PAYMENT, "console-bolt")
        time.sleep(1.2)
        before_second = datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.2)
        second = _payment(http, acme, SECOND_PAYMENT, "console-second")
        refund = http.post(
            f"/v1/payments/{first}/refunds",
            json={"amount": REFUND, "reason": "damaged"},
            headers={"Idempotency-Key": "console-refund"},
        ).json()
        _wait(
            lambda: http.get(f"/v1/refunds/{refund['id']}").json()["status"],
            lambda status: status != "pending",
        )
        dispute = http.post(
            f"/v1/payments/{second}/disputes",
            json={"amount": 1_500, "reason": "fraudulent"},
            headers={"Idempotency-Key": "console-dispute"},
        ).json()["id"]
        # Crate's refunds wait for one approval.
        crate = http.post("/v1/manufacturers", json={"name": "Crate Co", "fee_bps": 0}).json()["id"]
        http.patch(
            f"/v1/manufacturers/{crate}/settings",
            json={"refund_approval_threshold": {"USD": 1}, "refund_approvals_required": 1},
        ).raise_for_status()
        crate_payment = _payment(http, crate, 3_000, "console-crate")
        closed = {}
        for outcome, amount in (("won", 200), ("lost", 300)):
            opened = http.post(
                f"/v1/payments/{crate_payment}/disputes",
                json={"amount": amount, "reason": "fraudulent"},
                headers={"Idempotency-Key": f"console-dispute-{outcome}"},
            ).json()["id"]
            http.post(
                f"/v1/disputes/{opened}/close",
                json={"outcome": outcome},
                headers={"Idempotency-Key": f"console-dispute-{outcome}-close"},
            ).raise_for_status()
            closed[outcome] = str(opened)
    requested = {"Authorization": f"Bearer {requester_key}"}
    payouts = []
    refunds_waiting = []
    with httpx2.Client(base_url=base_url, headers=requested, timeout=15) as http:
        for index, amount in enumerate((700, 800)):
            waiting = http.post(
                f"/v1/payments/{crate_payment}/refunds",
                json={"amount": amount, "reason": "returned"},
                headers={"Idempotency-Key": f"console-crate-refund-{'ab'[index]}"},
            )
            waiting.raise_for_status()
            assert waiting.json()["status"] == "pending_approval", waiting.text
            refunds_waiting.append(str(waiting.json()["id"]))
        for index, amount in enumerate((1_000, 500, 300)):
            created = http.post(
                "/v1/payouts",
                json={"manufacturer_id": acme, "amount": amount, "currency": "USD"},
                headers={"Idempotency-Key": f"console-payout-{'abc'[index]}"},
            )
            created.raise_for_status()
            payouts.append(str(created.json()["id"]))
        wait_until_projected(http)
    return Seeded(
        acme=acme,
        bolt=bolt,
        first_payment=first,
        second_payment=second,
        bolt_payment=bolt_payment,
        before_second=before_second,
        refund=str(refund["id"]),
        dispute=str(dispute),
        crate=crate,
        won_dispute=closed["won"],
        lost_dispute=closed["lost"],
        refunds_waiting=refunds_waiting,
        payouts=payouts,
    )


# ----- a reconciliation run with breaks ----------------------------------------------------------
# ACH on the test server: bank accounts sealed with this key, files from this originator.
ACH_ORIGIN = {
    "immediate_destination": "091000019",
    "immediate_destination_name": "FED",
    "immediate_origin": "1234567890",
    "immediate_origin_name": "MARKET",
    "company_name": "MARKET",
    "company_id": "1234567890",
    "odfi_id": "09100001",
}
# Dock Direct's three ACH debits of ACH_DEBIT each, in one file. The bank's copy of the file
# has its first entry as sent, says ACH_BANK_SAYS for the second and lacks the third. (The file's
# order is the ledger's, so the amounts are alike and each debit's role is found afterwards.)
ACH_DEBIT = 2_500
ACH_BANK_SAYS = 2_475


def ach_env() -> dict[str, str]:
    from ledger.adapters.ach.vault import BankAccountVault

    return {
        "LEDGER_BANK_VAULT_KEY": BankAccountVault.generate_key(),
        "LEDGER_ACH_ORIGIN": json.dumps(ACH_ORIGIN),
    }


@dataclass
class Reconciled:
    run: str
    dock: str
    matched_payment: str
    mismatched_payment: str
    missing_payment: str
    mismatched_trace: str
    missing_trace: str


def _cli(db: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, **env},
    )


def _bank_copy(written: str) -> tuple[str, list[tuple[str, str]]]:
    """The file as the bank reports it (the second debit's amount changed, the third gone:
    dropping the last entry keeps the others' trace numbers), and the sent file's entries as
    (identification number, trace number) in order."""
    from ledger.adapters.ach.nacha import Batch, parse_file, write_file

    parsed = parse_file(written)
    (only,) = parsed.batches
    sent = list(only.batch.entries)
    order = [(e.identification_number, t) for e, t in zip(sent, only.trace_numbers, strict=True)]
    kept = (sent[0], dc_replace(sent[1], amount_cents=ACH_BANK_SAYS))
    was = only.batch
    batch = Batch(was.sec_code, was.entry_description, was.effective_date, kept)
    text = write_file(
        parsed.origin,
        [batch],
        created_at=parsed.created_at,
        file_id_modifier=parsed.file_id_modifier,
        first_trace_sequence=int(only.trace_numbers[0][8:]),
    )
    return text, order


def seed_reconciliation(
    base_url: str, admin_key: str, db: Path, env: dict[str, str], work: Path
) -> Reconciled:
    """Dock Direct's ACH debits, their file written (`ledger ach originate`) and the bank's
    copy of it reconciled (`ledger reconcile --provider ach`): one matched, an
    amount_mismatch and a missing_at_provider."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    with httpx2.Client(base_url=base_url, headers=auth, timeout=15) as http:
        dock = http.post("/v1/manufacturers", json={"name": "Dock Direct", "fee_bps": 0})
        dock.raise_for_status()
        dock_id = str(dock.json()["id"])
        account = http.post(
            "/v1/bank-accounts",
            json={
                "routing_number": "011000015",
                "account_number": "99887766",
                "account_type": "checking",
            },
        )
        account.raise_for_status()
        token = account.json()["token"]
        payments = []
        for name in ("a", "b", "c"):
            created = http.post(
                "/v1/payments",
                json={
                    "amount": ACH_DEBIT,
                    "currency": "USD",
                    "customer_id": "cus_console",
                    "provider": "ach",
                    "payment_method": token,
                    "splits": [{"manufacturer_id": dock_id, "amount": ACH_DEBIT}],
                },
                headers={"Idempotency-Key": f"console-ach-{name}"},
            )
            created.raise_for_status()
            payments.append(str(created.json()["id"]))
    out = work / "ach"
    _cli(db, env, "ach", "originate", "--out", str(out))
    (written,) = sorted(out.glob("ach-*.txt"))
    text, order = _bank_copy(written.read_text())
    bank = work / "bank-copy.txt"
    bank.write_text(text)
    run = json.loads(_cli(db, env, "reconcile", "--provider", "ach", str(bank)).stdout)
    by_reference = {p.replace("_", "")[:15].upper(): p for p in payments}
    (matched, _), (mismatched, mismatched_trace), (missing, missing_trace) = order
    return Reconciled(
        run=str(run["id"]),
        dock=dock_id,
        matched_payment=by_reference[matched],
        mismatched_payment=by_reference[mismatched],
        missing_payment=by_reference[missing],
        mismatched_trace=mismatched_trace,
        missing_trace=missing_trace,
    )

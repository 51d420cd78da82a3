"""ACH settlement: a debit's money is pending until its file settles on its effective date, so
a manufacturer is never paid out from a debit that can still be returned; settling books the
bank's money once per file."""

from __future__ import annotations

from datetime import date, datetime

from ledger.adapters.ach.nacha import parse_file, write_returns_file
from ledger.application.processes.ach import apply_returns, originate
from ledger.application.processes.ach_settlement import settle_due, settle_file
from ledger.bootstrap import Container, ach_files
from tests.conftest import Api, ManualClock
from tests.unit.application.test_ach_flow import ORIGIN, ach, customer_bank_account

__all__ = ["ach"]  # the fixture


def test_a_debit_is_payable_only_once_its_file_settles_and_a_return_before_never_is(
    ach: tuple[Api, Container],
) -> None:
    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, name="Acme Tools", fee_bps=250)
    token = customer_bank_account(api, admin)["token"]
    kept = api.payment(admin, [(m, 10000)], provider="ach", payment_method=token)
    returned = api.payment(admin, [(m, 4000)], provider="ach", payment_method=token)

    (written,) = originate(container.engine, ach_files(container), container.engine.now())
    # Written on Tuesday 2026-03-10: effective (settles) the next business day.
    assert parse_file(written.text).batches[0].batch.effective_date == date(2026, 3, 11)
    assert api.get_json(f"/v1/payments/{kept['id']}", admin)["status"] == "authorized"
    assert api.balance(admin, "provider:ach:receivable") == 14000
    assert api.balance(admin, "provider:ach:unsettled") == -14000
    assert not api.posted_to(admin, f"manufacturer:{m}:payable")
    refused = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 100, "currency": "USD"}, admin
    )
    assert refused.status_code == 409, refused.text
    assert "exceeds the available payable balance 0" in refused.json()["detail"]

    # The 4000 debit comes back (R01) after the file was written, before it settled.
    parsed = parse_file(written.text).batches
    entries = [e for b in parsed for e in b.batch.entries]
    traces = [t for b in parsed for t in b.trace_numbers]
    (which,) = [i for i, e in enumerate(entries) if e.amount_cents == 4000]
    back = write_returns_file(
        ORIGIN,
        [(entries[which], traces[which], "R01")],
        created_at=container.engine.now().replace(tzinfo=None),
        file_id_modifier="A",
    )
    assert [o for _, o in apply_returns(container.engine, ach_files(container), back)] == [
        f"payment {returned['id']} returned before settlement"
    ]
    assert api.get_json(f"/v1/payments/{returned['id']}", admin)["status"] == "failed"
    assert api.balance(admin, "provider:ach:unsettled") == -10000
    assert not api.posted_to(admin, f"manufacturer:{m}:payable")

    # Not due before its effective date: nothing moves.
    early = settle_file(container.engine, written.file_number, date(2026, 3, 10))
    assert early.outcome == "not due until 2026-03-11"
    assert settle_due(container.engine, date(2026, 3, 10)) == []
    assert not api.posted_to(admin, "platform:cash")

    (settled,) = settle_due(container.engine, date(2026, 3, 11))
    assert (settled.outcome, settled.debits, settled.collected) == ("settled", 1, 10000)
    assert api.get_json(f"/v1/payments/{kept['id']}", admin)["status"] == "captured"
    assert api.payable(admin, m) == -(10000 - 250)  # the 2.5 % fee, 250, is the platform's
    assert api.balance(admin, "platform:revenue:fees") == -250
    assert api.balance(admin, "platform:cash") == 10000
    assert api.balance(admin, "provider:ach:receivable") == 0
    assert api.balance(admin, "provider:ach:unsettled") == 0
    # The returned debit never became payable: the manufacturer's statement shows one sale.
    (usd,) = api.get_json(f"/v1/statements/manufacturers/{m}", admin, period="2026-03")[
        "currencies"
    ]
    assert (usd["sales"], usd["platform_fees"], usd["adjustments"]) == (10000, -250, 0)
    assert usd["closing_balance"] == 9750

    # Once per file: settling again (the schedule, the CLI) books nothing twice.
    assert settle_due(container.engine, date(2026, 3, 12)) == []
    again = settle_file(container.engine, written.file_number, date(2026, 3, 12))
    assert (again.outcome, again.collected) == ("already settled on 2026-03-11", 0)
    assert api.balance(admin, "platform:cash") == 10000

    payout = api.post(
        "/v1/payouts", {"manufacturer_id": m, "amount": 9750, "currency": "USD"}, admin
    )
    assert payout.status_code == 201, payout.text


def test_an_ach_file_reconciles_by_trace_number_and_an_entry_the_bank_lacks_is_found(
    ach: tuple[Api, Container],
) -> None:
    from ledger.adapters.ach.files import file_entries
    from ledger.application.processes.reconciliation import reconcile
    from ledger.application.processes.reconciliation_inputs import ach_file
    from ledger.application.reconciliations import run_view

    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    token = customer_bank_account(api, admin)["token"]
    first = api.payment(admin, [(m, 1200)], provider="ach", payment_method=token)
    second = api.payment(admin, [(m, 800)], provider="ach", payment_method=token)
    (written,) = originate(container.engine, ach_files(container), container.engine.now())
    entries = file_entries(written.text)
    assert sorted(amount for _, amount, _, _ in entries) == [800, 1200]
    # The bank's copy holds only the 1200 debit, and says 1250 for it.
    (kept,) = [e for e in entries if e[1] == 1200]
    lost = next(e for e in entries if e[1] == 800)
    run = run_view(
        reconcile(
            container.engine, ach_file(container.engine, "bank.txt", [(kept[0], 1250, False, 0)])
        )
    )
    (mismatch,) = run["breaks"]["amount_mismatch"]
    assert (mismatch["provider"]["amount"], mismatch["ledger"]["amount"]) == (1250, 1200)
    assert mismatch["ledger"]["payment_id"] == first["id"]
    (missing,) = run["breaks"]["missing_at_provider"]
    assert missing["ledger"] == {"payment_id": second["id"], "trace": lost[0], "amount": 800}
    assert missing["provider"] is None
    assert run["totals"]["matched"] == 0


def test_a_debit_returned_after_its_file_settled_is_taken_back_from_cash_and_the_payable(
    ach: tuple[Api, Container],
) -> None:
    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=250)
    token = customer_bank_account(api, admin)["token"]
    debit = api.payment(admin, [(m, 6000)], provider="ach", payment_method=token)
    (written,) = originate(container.engine, ach_files(container), container.engine.now())
    settle_due(container.engine, date(2026, 3, 11))
    assert api.payable(admin, m) == -(6000 - 150)
    assert api.balance(admin, "platform:cash") == 6000
    (parsed,) = parse_file(written.text).batches
    back = write_returns_file(
        ORIGIN,
        [(parsed.batch.entries[0], parsed.trace_numbers[0], "R10")],
        created_at=container.engine.now().replace(tzinfo=None),
        file_id_modifier="A",
    )
    assert [o for _, o in apply_returns(container.engine, ach_files(container), back)] == [
        f"payment {debit['id']} returned"
    ]
    # Reversed like a lost chargeback (the 150 fee returned under refund_fee), and the bank
    # took the 6000 back out of platform:cash.
    assert api.payable(admin, m) == 0
    assert api.balance(admin, "platform:cash") == 0
    assert api.balance(admin, "provider:ach:receivable") == 0
    assert api.balance(admin, "provider:ach:disputed") == 0


def test_the_daily_schedule_settles_the_files_due_at_thirteen(
    ach: tuple[Api, Container], clock: ManualClock
) -> None:
    api, container = ach
    admin = api.key("admin")
    m = api.manufacturer(admin, fee_bps=0)
    token = customer_bank_account(api, admin)["token"]
    debit = api.payment(admin, [(m, 3000)], provider="ach", payment_method=token)
    originate(container.engine, ach_files(container), container.engine.now())
    api.settle()  # arms the schedules
    clock.now = datetime.fromisoformat("2026-03-11T12:59:00+00:00")
    api.settle()
    assert api.get_json(f"/v1/payments/{debit['id']}", admin)["status"] == "authorized"
    clock.advance(minutes=1)
    api.settle()
    assert api.get_json(f"/v1/payments/{debit['id']}", admin)["status"] == "captured"
    assert api.payable(admin, m) == -3000
    assert api.balance(admin, "platform:cash") == 3000

"""What every read-model store answers about settlements (issue 12 item 5): an ACH file's
settlement and a provider payout are journal entries like any other, so each store's balances
and statement lines carry them with no table of their own. Recorded through the engine on
in-memory persistence, applied to the store under test."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from ledger.adapters.ach.nacha import Origin
from ledger.adapters.ach.vault import BankAccountVault
from ledger.application.processes.ach import originate
from ledger.application.processes.ach_settlement import settle_due
from ledger.application.processes.settlements import Settlement, book_settlement
from ledger.bootstrap import ach_files, build
from ledger.domain.settlement import ProviderTransaction
from ledger.settings import Settings
from projections.store import ReadModelStore, TrackedChanges
from tests.conftest import ManualClock
from tests.support.events import tracked_changes
from tests.support.seed import create_payment, register

ORIGIN = Origin("091000019", "FED", "1234567890", "MARKET", "MARKET", "1234567890", "09100001")


def settlement_history() -> tuple[list[TrackedChanges], str]:
    """A 10000 USD ACH debit for a manufacturer at 250 bps, its file written and settled; a
    sandbox payout of 4000 settled by the provider with 30 of fees it had not reported."""
    clock = ManualClock()
    container = build(
        Settings(
            persistence="popo",
            bank_vault_key=BankAccountVault.generate_key(),
            ach_origin=json.dumps(ORIGIN.__dict__),
        ),
        clock=clock,
    )
    try:
        engine = container.engine
        m = f"mfr_{register(engine, name='A', fee_bps=250, refund_fee_policy='refund_fee').id.hex}"
        assert container.vault is not None
        token = container.vault.seal("011000015", "99887766", "checking")[0]
        create_payment(engine, m, 10000, provider="ach", payment_method=token)
        create_payment(engine, m, 4000)
        originate(engine, ach_files(container), clock.now)
        assert [s.collected for s in settle_due(engine, date(2026, 3, 11))] == [10000]
        fee = ProviderTransaction("t1", "charge", 4000, 30, "USD", reference="nowhere")
        book_settlement(engine, Settlement("sandbox", "po_x", "USD", 3970, [fee], "2026-03-11"))
        return tracked_changes(engine), m
    finally:
        container.close()


class SettlementsContract:
    def test_settlements_are_posted_like_any_journal_entry(
        self, new_store: Callable[[], ReadModelStore]
    ) -> None:
        items, m = settlement_history()
        store = new_store()
        assert store.apply(items, None) == len(items)
        assert store.balance("platform:cash", "USD", None) == (10000 + 3970, 0)
        assert store.balance("provider:ach:unsettled", "USD", None) == (10000, 10000)
        assert store.balance("provider:ach:receivable", "USD", None) == (10000, 10000)
        assert store.balance("platform:expense:provider_fees", "USD", None) == (30, 0)
        # 10000 + 4000 captured, less the 2.5 % fee on each (250 + 100)
        assert store.balance(f"manufacturer:{m}:payable", "USD", None) == (0, 13650)
        lines = store.statement_lines(m)
        assert sum(line.get("sale") or 0 for line in lines) == 14000
        assert sum(line.get("other") or 0 for line in lines) == 0

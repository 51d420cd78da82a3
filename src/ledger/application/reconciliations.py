"""Reconciliation runs read back: computed from the runs' own events (no read model), so the
SQLite and DynamoDB runtimes answer alike. Platform keys with finance:read only."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.errors import Forbidden, NotFound
from ledger.application.principal import Principal, requires
from ledger.application.registries import RECONCILIATION_RUNS
from ledger.domain import ids
from ledger.domain.reconciliation import BREAK_KINDS, ReconciliationRun

FINANCE = ("finance:read",)


def run_view(run: ReconciliationRun) -> dict[str, Any]:
    """A run as the API and the CLI show it."""
    by_kind = {kind: [b for b in run.breaks if b["kind"] == kind] for kind in BREAK_KINDS}
    return {
        "id": ids.encode("reconciliation", run.id),
        "provider": run.provider,
        "source": run.source,
        "currency": run.currency,
        "created_at": run.created_on.isoformat(),
        "totals": {
            "payout": run.payout,
            "provider_net": run.provider_net,
            "matched_net": run.matched_net,
            "matched": run.matched_count,
            "breaks": sum(run.breaks_count.values()),
            "balanced": not run.breaks_count and run.payout in (None, run.matched_net),
        },
        "breaks_count": run.breaks_count,
        "lines_truncated": (
            len(run.matched) < run.matched_count or len(run.breaks) < sum(run.breaks_count.values())
        ),
        "breaks": {kind: found for kind, found in by_kind.items() if found},
        "matched": run.matched,
    }


class ReconciliationQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _platform(principal: Principal) -> None:
        if principal.manufacturer_id is not None:
            raise Forbidden("reconciliation runs are not for a key bound to a manufacturer")

    @requires(*FINANCE)
    def run(self, principal: Principal, run_id: str) -> dict[str, Any]:
        self._platform(principal)
        try:
            found = self._engine.current(ids.decode("reconciliation", run_id))
        except (ids.MalformedId, AggregateNotFoundError):
            raise NotFound("no such reconciliation run") from None
        if not isinstance(found, ReconciliationRun):
            raise NotFound("no such reconciliation run")
        return run_view(found)

    @requires(*FINANCE)
    def runs(self, principal: Principal) -> list[dict[str, Any]]:
        """Every run, newest first, without its matched lines."""
        self._platform(principal)
        views = []
        for run_id in self._engine.registry_members(RECONCILIATION_RUNS):
            found = self._engine.current(ids.decode("reconciliation", run_id))
            view = run_view(found)
            view.pop("matched")
            views.append(view)
        return sorted(views, key=lambda v: (v["created_at"], v["id"]), reverse=True)

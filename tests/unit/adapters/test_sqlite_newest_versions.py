"""The embedded store's one-statement version lookup (the hot path's idempotency check and
read-cache check) answers what reading each id's events would."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from ledger.adapters.sqlite_event_store import IndexedSQLiteApplicationRecorder
from ledger.application.lookups import newest_versions_of
from ledger.bootstrap import build
from ledger.domain.manufacturer import REFUND_FEE_POLICIES, Manufacturer
from ledger.settings import Settings

POLICY = REFUND_FEE_POLICIES[0]


def test_newest_versions_matches_reading_each_ids_events(tmp_path: Path) -> None:
    container = build(Settings(db=tmp_path / "ledger.sqlite3", workflows=False))
    try:
        engine = container.engine
        recorder = engine.recorder
        assert isinstance(recorder, IndexedSQLiteApplicationRecorder)
        made = [
            Manufacturer.register(name=f"Maker {n}", fee_bps=250, refund_fee_policy=POLICY)
            for n in range(3)
        ]
        for number, manufacturer in enumerate(made):
            for change in range(number):  # versions 1, 2 and 3
                manufacturer.change_terms(name=f"Maker {number}.{change}")
        engine.save(*made)
        unknown = uuid4()
        asked = [m.id for m in made] + [unknown]

        found = recorder.newest_versions(asked)

        assert found == {m.id: m.version for m in made}
        assert [found[m.id] for m in made] == [1, 2, 3]
        one_by_one = newest_versions_of(object.__new__(_EventsOnly).wrap(recorder))
        assert one_by_one(asked) == found
        assert recorder.newest_versions([]) == {}
    finally:
        container.close()


class _EventsOnly:
    """A recorder without the lookup: newest_versions_of falls back to a read per id."""

    def wrap(self, recorder: IndexedSQLiteApplicationRecorder) -> _EventsOnly:
        self.select_events = recorder.select_events
        return self

"""The group-commit writer's own recording path (ledger.application.group_records) stores what the
library's would: the same rows in the same order (so the same notification ids), nothing of a
group that lost a version race, and snapshots equal to the library's rebuild from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.adapters.sqlite_event_store import IndexedSQLiteApplicationRecorder
from ledger.application.unit_of_work import UnitOfWork
from ledger.bootstrap import build
from ledger.domain.registry import Registry, shard_of
from ledger.settings import Settings

KIND = "test-kind"


def _rows(recorder: IndexedSQLiteApplicationRecorder) -> list[tuple[Any, ...]]:
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT rowid, * FROM {recorder.events_table_name} ORDER BY rowid")
        return [tuple(row) for row in cursor.fetchall()]


def _stored(registry: Registry) -> list[StoredEvent]:
    return [
        StoredEvent(registry.id, e.originator_version, "t", b"{}")
        for e in registry.collect_events()
    ]


def test_quiet_insert_stores_what_insert_events_stores(tmp_path: Path) -> None:
    rows = []
    for name, quietly in (("library", False), ("quiet", True)):
        container = build(Settings(db=tmp_path / f"{name}.sqlite3", workflows=False))
        try:
            recorder = container.engine.recorder
            assert isinstance(recorder, IndexedSQLiteApplicationRecorder)
            for number in range(2):  # two groups: the second one's rowids follow the first's
                registry = Registry(KIND, number)
                for member in ("a", "b"):
                    registry.add(member)
                events = _stored(registry)
                if quietly:
                    recorder.insert_events_quietly(events)
                else:
                    recorder.insert_events(events)
            rows.append([row[:3] for row in _rows(recorder)])
        finally:
            container.close()
    assert rows[0] == rows[1]
    assert [row[0] for row in rows[1]] == list(range(1, 7))


def test_quiet_insert_of_a_taken_version_raises_and_stores_nothing(tmp_path: Path) -> None:
    container = build(Settings(db=tmp_path / "ledger.sqlite3", workflows=False))
    try:
        recorder = container.engine.recorder
        assert isinstance(recorder, IndexedSQLiteApplicationRecorder)
        first = Registry(KIND, 0)
        recorder.insert_events_quietly(_stored(first))
        other = Registry(KIND, 1)
        again = Registry(KIND, 0)  # version 1 of an id that has it already
        with pytest.raises(IntegrityError):
            recorder.insert_events_quietly(_stored(other) + _stored(again))
        assert len(_rows(recorder)) == 1
        recorder.insert_events_quietly([])
    finally:
        container.close()


def _members_on_shard(shard: int, count: int) -> list[str]:
    found: list[str] = []
    number = 0
    while len(found) < count:
        member = f"member-{number}"
        if shard_of(member) == shard:
            found.append(member)
        number += 1
    return found


def test_snapshots_taken_on_the_writer_equal_the_librarys_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build(Settings(db=tmp_path / "ledger.sqlite3", workflows=False))
    try:
        engine = container.engine
        members = _members_on_shard(0, 150)

        def adding(member: str) -> Any:
            def command(uow: UnitOfWork) -> None:
                uow.registry(KIND, member).add(member)

            return command

        rebuilds: list[Any] = []
        monkeypatch.setattr(engine, "take_snapshot", lambda *args, **kwargs: rebuilds.append(args))
        for member in members:  # one command each, through the writer
            engine.execute(adding(member))
        assert rebuilds == []  # taken from the aggregate the writer holds
        registry_id = Registry.create_id(KIND, 0)
        assert engine.snapshots is not None
        (snapshot,) = engine.snapshots.get(registry_id, desc=True, limit=1)
        assert snapshot.originator_version == 100  # Opened, then 99 members added
        from_snapshot: Any = snapshot.mutate(None)
        rebuilt = project_aggregate(None, engine.events.get(registry_id, lte=100))
        assert vars(from_snapshot) == vars(rebuilt)
        assert list(engine.fresh(registry_id).members) == members
    finally:
        container.close()

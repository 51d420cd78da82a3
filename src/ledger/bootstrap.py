"""The composition root: builds the application and its read models from settings.

Embedded (SQLite, POPO): read models in SQLite, kept current by an in-process follower.
AWS (DynamoDB): read models in DynamoDB, kept current by the stream-triggered projections
Lambda; this process only reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.adapters.sandbox import SandboxProvider
from ledger.application.service import LedgerService
from ledger.settings import Settings
from projections.follower import Follower
from projections.store import ReadModelStore


@dataclass
class Container:
    settings: Settings
    service: LedgerService
    read_models: ReadModelStore
    follower: Follower | None

    def fresh_read_models(self) -> ReadModelStore:
        """Read models with every event recorded so far applied (embedded runtime: a client
        reads its writes; on AWS they trail the stream by the reported lag)."""
        if self.follower is not None:
            self.follower.catch_up()
        return self.read_models

    def freshness(self) -> dict[str, Any]:
        if self.follower is not None:
            return self.follower.freshness().as_dict()
        return self.read_models.freshness()

    def close(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.read_models.close()
        self.service.close()


def build(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Container:
    if settings.persistence == "sqlite":
        settings.db.parent.mkdir(parents=True, exist_ok=True)
    # Until real providers land, every provider name is served by the built-in sandbox.
    service = LedgerService(
        env=settings.event_store_env(), default_provider=SandboxProvider(), clock=clock
    )
    if settings.persistence == "dynamodb":
        from ledger.adapters.dynamodb_store import make_client
        from projections.dynamodb_store import DynamoDBReadModels

        assert settings.read_models_table is not None  # checked by Settings
        read_models = DynamoDBReadModels(make_client(), settings.read_models_table)
        return Container(settings, service, read_models, follower=None)
    from projections.sqlite_store import SqliteReadModels

    sqlite_models = SqliteReadModels(settings.read_model_path)
    follower = Follower(service, sqlite_models)
    service.after_save.append(follower.prompt)
    return Container(settings, service, sqlite_models, follower)

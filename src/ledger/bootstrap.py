"""The composition root: builds the application, read models and follower from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ledger.adapters.sandbox import SandboxProvider
from ledger.application.service import LedgerService
from ledger.settings import Settings
from projections.follower import Follower
from projections.sqlite_store import SqliteReadModels


@dataclass
class Container:
    settings: Settings
    service: LedgerService
    read_models: SqliteReadModels
    follower: Follower

    def fresh_read_models(self) -> SqliteReadModels:
        """Read models with every event recorded so far applied: a client reads its writes."""
        self.follower.catch_up()
        return self.read_models

    def close(self) -> None:
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
    read_models = SqliteReadModels(settings.read_model_path)
    follower = Follower(service, read_models)
    service.after_save.append(follower.prompt)
    return Container(settings=settings, service=service, read_models=read_models, follower=follower)

"""All configuration, read once from the environment (prefix LEDGER_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    persistence: Literal["sqlite", "popo"] = Field(
        "sqlite", description="Event store: 'sqlite' (embedded default) or 'popo' (in memory)."
    )
    db: Path = Field(Path("var/ledger.sqlite3"), description="SQLite event store file.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    projection_poll_seconds: float = Field(
        0.5, gt=0, description="How often the follower polls for events from other processes."
    )
    max_body_bytes: int = Field(65_536, ge=1024)
    worker_threads: int = Field(
        8, ge=1, le=200, description="Threads serving requests that read or write the ledger."
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def read_model_path(self) -> str:
        if self.persistence == "popo":
            return ":memory:"
        return str(self.db.with_name(self.db.stem + ".readmodels" + (self.db.suffix or ".sqlite3")))

    def event_store_env(self) -> dict[str, str]:
        if self.persistence == "popo":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.db),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

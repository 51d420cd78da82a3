"""All configuration, read once from the environment (prefix LEDGER_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore", frozen=True)

    persistence: Literal["sqlite", "popo", "dynamodb"] = Field(
        "sqlite",
        description="Event store: 'sqlite' (embedded default), 'popo' (in memory), 'dynamodb'.",
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

    # AWS runtime (persistence=dynamodb); the endpoint comes from AWS_ENDPOINT_URL if set.
    events_table: str | None = Field(None, description="DynamoDB events table.")
    snapshots_table: str | None = Field(None, description="DynamoDB snapshots table.")
    read_models_table: str | None = Field(None, description="DynamoDB read-model table.")
    event_bus_name: str | None = Field(None, description="EventBridge bus for domain events.")
    publish_every_event: bool = Field(
        False,
        description="Publish every payment, payout, manufacturer and subscription event, not only"
        " those a workflow rule matches (for subscribers outside the workflow map).",
    )
    queue_name_prefix: str | None = Field(
        None,
        description="AWS: workflow queues are named <prefix>-<queue> (DLQs <prefix>-<queue>-dlq).",
    )
    worker_queue: str | None = Field(None, description="AWS worker Lambda: the queue it drains.")

    # Providers: each is enabled when its credentials are set, from the environment or from the
    # Secrets Manager secret LEDGER_PROVIDER_SECRET_ARN (a JSON object with the same names in
    # lowercase, without the prefix). The sandbox is always there.
    provider_secret_arn: str | None = Field(None, description="Secrets Manager secret (JSON).")
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = Field(None, description="Override (tests: localstripe).")
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    paypal_environment: Literal["sandbox", "live"] = "sandbox"
    paypal_base_url: str | None = Field(None, description="Override (tests: a local fake).")
    bank_vault_key: SecretStr | None = Field(
        None, description="Base64 AES-256 key that seals bank account numbers (ACH)."
    )
    ach_origin: str | None = Field(
        None,
        description="ACH originator as JSON (routing numbers, names, company id); enables ACH.",
    )
    workflows: bool = Field(True, description="Embedded: run the in-process workflows.")

    @model_validator(mode="after")
    def _aws_tables_named(self) -> Settings:
        if self.persistence == "dynamodb":
            missing = [
                f"LEDGER_{name.upper()}"
                for name in ("events_table", "snapshots_table", "read_models_table")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"persistence=dynamodb needs {', '.join(missing)}")
        return self

    @property
    def read_model_path(self) -> str:
        if self.persistence == "popo":
            return ":memory:"
        return str(self.db.with_name(self.db.stem + ".readmodels" + (self.db.suffix or ".sqlite3")))

    @property
    def queue_path(self) -> str:
        if self.persistence == "popo":
            return ":memory:"
        return str(self.db.with_name(self.db.stem + ".queues" + (self.db.suffix or ".sqlite3")))

    def event_store_env(self) -> dict[str, str]:
        if self.persistence == "popo":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.persistence == "dynamodb":
            return {
                "PERSISTENCE_MODULE": "ledger.adapters.dynamodb_store",
                "DYNAMODB_EVENTS_TABLE": str(self.events_table),
                "DYNAMODB_SNAPSHOTS_TABLE": str(self.snapshots_table),
                # Items bill per started KB: compressed states keep a payment's under 1 KB each.
                "COMPRESSOR_TOPIC": "ledger.adapters.dynamodb_store:ZlibOrPlain",
            }
        return {
            "PERSISTENCE_MODULE": "ledger.adapters.sqlite_event_store:DurableSQLiteFactory",
            "SQLITE_DBNAME": str(self.db),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

"""The composition root: builds the application, its providers, read models and workflows.

Embedded (SQLite, POPO): read models in SQLite kept current by an in-process follower, and the
workflows run in process (bus, scheduler, workers over a SQLite queue).
AWS (DynamoDB): read models in DynamoDB kept current by the projections Lambda; workflows run
on EventBridge, SQS and the worker Lambdas; this process only reads and records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ledger.adapters.sandbox import SandboxProvider
from ledger.adapters.secrets import with_secrets
from ledger.application.ports import (
    PaymentProvider,
    PayoutRail,
    WebhookSource,
)
from ledger.application.service import LedgerService
from ledger.settings import Settings
from ledger.workflows import rules as workflow_rules
from projections.follower import Follower
from projections.store import ReadModelStore

if TYPE_CHECKING:  # the embedded modules stay out of Lambda imports
    from ledger.adapters.ach.sealer import VaultSealer
    from ledger.adapters.embedded_workflows import WorkflowRunner


def _system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    service: LedgerService
    read_models: ReadModelStore
    follower: Follower | None
    rails: dict[str, PayoutRail] = field(default_factory=dict)
    webhook_sources: dict[str, WebhookSource] = field(default_factory=dict)
    workflows: WorkflowRunner | None = None
    vault: VaultSealer | None = None
    extras: dict[str, Any] = field(default_factory=dict)

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

    def settle(self) -> int:
        """Embedded: run the workflows until nothing more is due now (tests, CLI)."""
        return self.workflows.settle() if self.workflows is not None else 0

    def close(self) -> None:
        if self.workflows is not None:
            self.workflows.stop()
            self.workflows.queue.close()
        if self.follower is not None:
            self.follower.stop()
        self.read_models.close()
        self.service.close()


def providers_from(
    settings: Settings,
) -> tuple[dict[str, PaymentProvider], dict[str, WebhookSource], dict[str, PayoutRail]]:
    sandbox = SandboxProvider()
    providers: dict[str, PaymentProvider] = {"sandbox": sandbox}
    webhooks: dict[str, WebhookSource] = {}
    rails: dict[str, PayoutRail] = {"sandbox": sandbox}
    if settings.stripe_api_key is not None:
        from ledger.adapters.stripe_provider import StripeProvider

        if settings.stripe_webhook_secret is None:
            raise ValueError("LEDGER_STRIPE_API_KEY needs LEDGER_STRIPE_WEBHOOK_SECRET too")
        stripe = StripeProvider(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
        )
        providers["stripe"] = stripe
        webhooks["stripe"] = stripe
    if settings.paypal_client_id is not None:
        from ledger.adapters.paypal_provider import PayPalProvider

        if settings.paypal_client_secret is None or settings.paypal_webhook_id is None:
            raise ValueError(
                "LEDGER_PAYPAL_CLIENT_ID needs LEDGER_PAYPAL_CLIENT_SECRET and "
                "LEDGER_PAYPAL_WEBHOOK_ID too"
            )
        paypal = PayPalProvider(
            settings.paypal_client_id,
            settings.paypal_client_secret.get_secret_value(),
            settings.paypal_webhook_id,
            base_url=settings.paypal_base_url,
            environment=settings.paypal_environment,
        )
        providers["paypal"] = paypal
        webhooks["paypal"] = paypal
    return providers, webhooks, rails


def vault_from(settings: Settings) -> VaultSealer | None:
    if settings.bank_vault_key is None:
        return None
    from ledger.adapters.ach.sealer import VaultSealer

    return VaultSealer.from_base64_key(settings.bank_vault_key.get_secret_value())


def build(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Container:
    settings = with_secrets(settings)
    if settings.persistence == "sqlite":
        settings.db.parent.mkdir(parents=True, exist_ok=True)
    providers, webhooks, rails = providers_from(settings)
    vault = vault_from(settings)
    if settings.ach_origin is not None:
        if vault is None:
            raise ValueError("LEDGER_ACH_ORIGIN needs LEDGER_BANK_VAULT_KEY (bank accounts)")
        from ledger.adapters.ach.origination import AchProvider

        ach = AchProvider(vault)
        providers["ach"] = ach
        rails["ach"] = ach
    service = LedgerService(env=settings.event_store_env(), providers=providers, clock=clock)
    if settings.persistence == "dynamodb":
        from ledger.adapters.dynamodb_store import make_client
        from projections.dynamodb_store import DynamoDBReadModels

        assert settings.read_models_table is not None  # checked by Settings
        read_models = DynamoDBReadModels(make_client(), settings.read_models_table)
        return Container(settings, service, read_models, None, rails, webhooks, vault=vault)
    from projections.sqlite_store import SqliteReadModels

    sqlite_models = SqliteReadModels(settings.read_model_path)
    follower = Follower(service, sqlite_models)
    service.after_save.append(follower.prompt)
    container = Container(settings, service, sqlite_models, follower, rails, webhooks)
    container.vault = vault
    if settings.workflows:
        container.workflows = _embedded_workflows(settings, service, rails, clock)
        service.after_save.append(container.workflows.prompt)
    return container


def _embedded_workflows(
    settings: Settings,
    service: LedgerService,
    rails: dict[str, PayoutRail],
    clock: Callable[[], datetime] | None,
) -> WorkflowRunner:
    from ledger.adapters.embedded_workflows import (
        EmbeddedScheduler,
        EmbeddedWorkers,
        InProcessBus,
        WorkflowRunner,
    )
    from ledger.adapters.sqlite_queue import SqliteQueue
    from ledger.workflows.runtime import WorkerContext

    now = clock or _system_clock
    rules = workflow_rules.load()
    queue = SqliteQueue(settings.queue_path, now)
    context = WorkerContext(service=service, rails=rails, queue=queue, clock=now)
    return WorkflowRunner(
        InProcessBus(service, queue, rules),
        EmbeddedScheduler(queue, rules, now),
        EmbeddedWorkers(queue, rules, context),
        queue,
    )

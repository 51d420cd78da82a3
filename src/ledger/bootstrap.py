"""The composition root: the one place adapters are built and wired to the application.

Embedded (SQLite, POPO): read models in SQLite kept current by an in-process follower, and the
workflows run in process (bus, scheduler, workers over a SQLite queue).
AWS (DynamoDB): read models in DynamoDB kept current by the projections Lambda; workflows run
on EventBridge, SQS and the worker Lambdas. Entry points (the API, the CLI, the Lambda
handlers) call the builders here and nothing else constructs an adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ledger.adapters.sandbox import SandboxProvider
from ledger.adapters.secrets import with_secrets
from ledger.application.api_keys import ApiKeys
from ledger.application.engine import Engine
from ledger.application.ports import AchFiles, PaymentProvider, PayoutRail, WebhookSource
from ledger.application.queries import Queries
from ledger.application.settlement_reports import SettlementReports
from ledger.settings import Settings
from ledger.workflows import rules as workflow_rules
from ledger.workflows.queue import DeadLetters
from projections.follower import Follower
from projections.store import ReadModelStore

if TYPE_CHECKING:  # the embedded and provider modules stay out of Lambda imports
    from ledger.adapters.ach.sealer import VaultSealer
    from ledger.adapters.embedded_workflows import WorkflowRunner
    from ledger.adapters.eventbridge import EventBridgePublisher
    from ledger.adapters.sqs_queue import SqsQueue
    from ledger.workflows.rules import QueueSpec
    from ledger.workflows.runtime import Handler, WorkerContext
    from projections.stores.dynamodb import DynamoDBReadModels
    from projections.stores.dynamodb_stream import StreamProjector

REGISTRY_READERS = 16  # registry shards read at once from DynamoDB
HEALTH_MAX_LAG_SECONDS = 60.0  # /healthz is degraded when read models trail more than this
log = logging.getLogger(__name__)


def _system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    read_models: ReadModelStore
    follower: Follower | None
    rails: dict[str, PayoutRail] = field(default_factory=dict)
    webhook_sources: dict[str, WebhookSource] = field(default_factory=dict)
    workflows: WorkflowRunner | None = None
    vault: VaultSealer | None = None
    keys: ApiKeys = field(init=False)
    queries: Queries = field(init=False)
    settlement_reports: SettlementReports = field(init=False)

    def __post_init__(self) -> None:
        self.keys = ApiKeys(self.engine, self)
        self.settlement_reports = SettlementReports(
            self.engine,
            paypal_settlement_report,
            ach_file_entries,
            lambda: self.webhook_sources.get("stripe"),
        )
        if self.follower is not None:
            self.follower.observers.append(self.keys.observe)
        self.queries = Queries(self.engine, self)

    # The read models as this runtime keeps them (the application's ReadModels port).
    def fresh(self) -> ReadModelStore:
        """Embedded: every event recorded so far applied, so a client reads its writes; on AWS
        they trail the stream by the reported lag."""
        if self.follower is not None:
            self.follower.catch_up()
        return self.read_models

    def freshness(self) -> dict[str, Any]:
        if self.follower is not None:
            return self.follower.freshness().as_dict()
        return self.read_models.freshness()

    def durability(self) -> dict[str, str]:
        """How the event store makes a commit durable, as it reports it now."""
        if self.settings.persistence == "dynamodb":
            return {"store": "dynamodb", "writes": "transactions acknowledged by DynamoDB"}
        if self.settings.persistence == "popo":
            return {"store": "memory", "writes": "not durable (tests)"}
        from ledger.adapters.sqlite_event_store import DurableSQLiteFactory

        factory = self.engine.factory
        assert isinstance(factory, DurableSQLiteFactory)
        return {"store": "sqlite", **factory.durability()}

    def health(self) -> dict[str, Any]:
        """`degraded` (with the problems named) while a dead-letter queue holds anything or the
        read models trail the event store by more than HEALTH_MAX_LAG_SECONDS."""
        projections = self.freshness()
        problems = []
        if self.follower is not None:
            oldest = self.follower.oldest_pending_at()
            lag = (self.engine.now() - oldest).total_seconds() if oldest is not None else 0.0
            projections["oldest_pending_at"] = oldest.isoformat() if oldest is not None else None
            projections["lag_seconds"] = round(max(lag, 0.0), 3)
            if lag > HEALTH_MAX_LAG_SECONDS:
                problems.append(f"read models trail the event store by {lag:.0f} s")
        dead: dict[str, int] | None = None
        if self.workflows is not None:
            held = self.workflows.queue.dead_letter_counts()
            dead = {name: held.get(name, 0) for name in sorted(workflow_rules.load().queues)}
            problems += [
                f"{count} dead letter(s) on {name} (ledger dlq list {name})"
                for name, count in dead.items()
                if count
            ]
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "projections": projections,
            # Embedded only: on AWS the DLQ depth alarms report dead letters (docs/aws.md).
            "dead_letters": dead,
            "event_store": self.durability(),
        }

    def ready(self) -> None:
        """Raises unless the event store and the read models answer now (/readyz); on AWS the
        calls /healthz makes already, nothing more."""
        if self.settings.persistence == "sqlite":
            _assert_durable(self.engine)
            self.engine.recorder.max_notification_id()
        self.read_models.freshness()

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
        self.engine.close()


# ----- providers -------------------------------------------------------------------------------
def providers_from(
    settings: Settings,
) -> tuple[
    dict[str, PaymentProvider], dict[str, WebhookSource], dict[str, PayoutRail], dict[str, str]
]:
    """The sandbox always; every other provider whose configuration is complete. A provider
    whose configuration is missing or partial is off: the fourth map says why, and that is the
    error where it is used (a payment routed to it is a 422), not a function that cannot start."""
    sandbox = SandboxProvider()
    providers: dict[str, PaymentProvider] = {"sandbox": sandbox}
    webhooks: dict[str, WebhookSource] = {}
    rails: dict[str, PayoutRail] = {"sandbox": sandbox}
    off: dict[str, str] = {}
    if settings.stripe_api_key is not None and settings.stripe_webhook_secret is None:
        off["stripe"] = "LEDGER_STRIPE_API_KEY needs LEDGER_STRIPE_WEBHOOK_SECRET too"
    elif settings.stripe_api_key is not None and settings.stripe_webhook_secret is not None:
        from ledger.adapters.stripe_provider import StripeProvider

        stripe = StripeProvider(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            api_base=settings.stripe_api_base,
        )
        providers["stripe"] = stripe
        webhooks["stripe"] = stripe
    if settings.paypal_client_id is not None:
        if settings.paypal_client_secret is None or settings.paypal_webhook_id is None:
            off["paypal"] = (
                "LEDGER_PAYPAL_CLIENT_ID needs LEDGER_PAYPAL_CLIENT_SECRET and "
                "LEDGER_PAYPAL_WEBHOOK_ID too"
            )
        else:
            from ledger.adapters.paypal_provider import PayPalProvider

            paypal = PayPalProvider(
                settings.paypal_client_id,
                settings.paypal_client_secret.get_secret_value(),
                settings.paypal_webhook_id,
                base_url=settings.paypal_base_url,
                environment=settings.paypal_environment,
            )
            providers["paypal"] = paypal
            webhooks["paypal"] = paypal
    for name, reason in off.items():
        log.error("provider %s is off: %s", name, reason)
    return providers, webhooks, rails, off


def vault_from(settings: Settings) -> VaultSealer | None:
    if settings.bank_vault_key is None:
        return None
    from ledger.adapters.ach.sealer import VaultSealer

    return VaultSealer.from_base64_key(settings.bank_vault_key.get_secret_value())


def _engine(
    settings: Settings,
    providers: dict[str, PaymentProvider],
    clock: Callable[[], datetime] | None = None,
    off: dict[str, str] | None = None,
) -> Engine:
    readers = REGISTRY_READERS if settings.persistence == "dynamodb" else 1
    return Engine(
        env=settings.event_store_env(),
        providers=providers,
        clock=clock,
        parallel_reads=readers,
        providers_off=off,
        # One process owns an embedded ledger's commands: a writer thread commits them in groups.
        group_commit=settings.persistence in ("sqlite", "popo"),
    )


def _dynamodb_read_models(settings: Settings) -> DynamoDBReadModels:
    from ledger.adapters.dynamodb_store import make_client
    from projections.stores.dynamodb import DynamoDBReadModels

    assert settings.read_models_table is not None  # checked by Settings
    return DynamoDBReadModels(make_client(), settings.read_models_table)


# ----- the application -------------------------------------------------------------------------
def build(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Container:
    settings = with_secrets(settings)
    if settings.persistence == "sqlite":
        settings.db.parent.mkdir(parents=True, exist_ok=True)
    providers, webhooks, rails, off = providers_from(settings)
    vault = vault_from(settings)
    if settings.ach_origin is not None and vault is None:
        off["ach"] = "LEDGER_ACH_ORIGIN needs LEDGER_BANK_VAULT_KEY (bank accounts)"
        log.error("provider ach is off: %s", off["ach"])
    elif settings.ach_origin is not None and vault is not None:
        from ledger.adapters.ach.provider import AchProvider

        ach = AchProvider(vault)
        providers["ach"] = ach
        rails["ach"] = ach
    engine = _engine(settings, providers, clock, off)
    if settings.persistence == "sqlite":
        _assert_durable(engine)
    if settings.persistence == "dynamodb":
        read_models = _dynamodb_read_models(settings)
        return Container(settings, engine, read_models, None, rails, webhooks, vault=vault)
    from projections.stores.sqlite import SqliteReadModels

    store = SqliteReadModels(settings.read_model_path)
    follower = Follower(engine, store)
    engine.after_save.append(follower.prompt)
    container = Container(settings, engine, store, follower, rails, webhooks)
    container.vault = vault
    if settings.workflows:
        container.workflows = _embedded_workflows(settings, engine, rails, clock)
        engine.after_save.append(container.workflows.prompt)
    return container


def _assert_durable(engine: Engine) -> None:
    """Refuse to run on an event store that would acknowledge what a power loss can take back."""
    from ledger.adapters.sqlite_event_store import DurableSQLiteFactory

    factory = engine.factory
    if not isinstance(factory, DurableSQLiteFactory):
        raise RuntimeError("the SQLite event store must be the durable one")
    reported = factory.durability()
    if reported != {"journal_mode": "wal", "synchronous": "full"}:
        raise RuntimeError(f"the SQLite event store is not durable: {reported}")


def _embedded_workflows(
    settings: Settings,
    engine: Engine,
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
    context = WorkerContext(engine=engine, rails=rails, queue=queue, clock=now)
    return WorkflowRunner(
        InProcessBus(engine, queue, rules),
        EmbeddedScheduler(queue, rules, now),
        EmbeddedWorkers(queue, rules, context),
        queue,
    )


# ----- what the Lambda handlers and the CLI run ------------------------------------------------
def sqs_queue(settings: Settings) -> SqsQueue:
    import boto3

    from ledger.adapters.sqs_queue import SqsQueue

    if not settings.queue_name_prefix:
        raise ValueError("LEDGER_QUEUE_NAME_PREFIX must name the workflow queues")
    return SqsQueue(boto3.client("sqs"), settings.queue_name_prefix)


def dead_letters(container: Container) -> DeadLetters:
    """The DLQs: SQS on AWS (persistence=dynamodb), the embedded queue otherwise."""
    if container.settings.persistence == "dynamodb":
        return sqs_queue(container.settings)
    if container.workflows is None:
        raise ValueError("the embedded workflows are off (LEDGER_WORKFLOWS=false)")
    return container.workflows.queue


def worker(settings: Settings) -> tuple[QueueSpec, WorkerContext, SqsQueue, Handler]:
    """A worker Lambda's parts: its queue's spec and handler, and the context it runs in."""
    from ledger.workflows.runtime import WorkerContext, handler_for

    if not settings.worker_queue or not settings.queue_name_prefix:
        raise ValueError(
            "a worker needs LEDGER_WORKER_QUEUE (its queue) and LEDGER_QUEUE_NAME_PREFIX"
        )
    rules = workflow_rules.load()
    spec = rules.queues.get(settings.worker_queue)
    if spec is None:
        raise ValueError(
            f"LEDGER_WORKER_QUEUE={settings.worker_queue!r} is none of the workflow queues"
            f" ({', '.join(sorted(rules.queues))})"
        )
    container = build(settings)
    queue = sqs_queue(settings)
    context = WorkerContext(
        engine=container.engine, rails=container.rails, queue=queue, clock=_system_clock
    )
    return spec, context, queue, handler_for(spec)


def publisher(settings: Settings) -> EventBridgePublisher:
    """The stream publisher: it needs the event mapper, not providers or their secrets."""
    import boto3

    from ledger.adapters.eventbridge import EventBridgePublisher

    if not settings.event_bus_name:
        raise ValueError("LEDGER_EVENT_BUS_NAME must name the EventBridge bus")
    from ledger.workflows import rules

    mapper = _engine(settings, {}).mapper
    routed = None if settings.publish_every_event else rules.load().routed_detail_types()
    return EventBridgePublisher(
        boto3.client("events"), settings.event_bus_name, mapper, routed=routed
    )


def stream_projector(settings: Settings) -> StreamProjector:
    """The projections Lambda's projector (no providers or their secrets)."""
    import boto3

    from projections.stores.dynamodb_stream import ShardFinder, StreamProjector

    if settings.persistence != "dynamodb":
        raise ValueError("the stream projector runs on DynamoDB (LEDGER_PERSISTENCE=dynamodb)")
    return StreamProjector(
        _engine(settings, {}).mapper,
        _dynamodb_read_models(settings),
        shard_of=ShardFinder(lambda: boto3.client("dynamodbstreams")),
    )


def rebuild_read_models(container: Container) -> int:
    """Recompute every read model from the full event history: the notification log when
    embedded, a parallel Scan of the events table on DynamoDB."""
    if container.follower is not None:
        return container.follower.rebuild()
    from ledger.adapters.dynamodb_store import make_client
    from projections.stores.dynamodb import DynamoDBReadModels
    from projections.stores.dynamodb_rebuild import rebuild

    store = container.read_models
    assert isinstance(store, DynamoDBReadModels)
    events_table = str(container.settings.events_table)
    return rebuild(make_client(), events_table, container.engine.mapper, store)


def ach_files(container: Container) -> AchFiles:
    from ledger.adapters.ach.files import NachaFiles, origin_from_json

    if container.settings.ach_origin is None or container.vault is None:
        raise ValueError("ACH needs LEDGER_ACH_ORIGIN and LEDGER_BANK_VAULT_KEY")
    return NachaFiles(origin_from_json(container.settings.ach_origin), container.vault)


def paypal_settlement_report(text: str) -> Any:
    """PayPal's settlement report (STL) read (SettlementFileError naming the line)."""
    from ledger.adapters.paypal_settlement import parse_settlement_report

    return parse_settlement_report(text)


def ach_file_entries(text: str) -> list[tuple[str, int, bool, int]]:
    """A NACHA file's entries (ValueError when it is not one)."""
    from ledger.adapters.ach.files import file_entries

    return file_entries(text)

"""The ledger's application service: commands and queries over event-sourced aggregates.

Every command runs in a unit of work saved atomically; optimistic-concurrency conflicts are
retried; keyed commands save their idempotency record in the same atomic write.
"""

from __future__ import annotations

import hashlib
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from ledger.application.errors import (
    ConcurrencyExhausted,
    Forbidden,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    NotFound,
    ProviderNotConfigured,
    ProviderRefused,
)
from ledger.application.ports import (
    AuthorizationRequest,
    CaptureRequest,
    PaymentProvider,
    VoidRequest,
)
from ledger.application.principal import Principal
from ledger.application.unit_of_work import (
    PAYOUTS_AWAITING_APPROVAL,
    SCHEDULED_PAYOUTS,
    UnitOfWork,
    pending_payments,
)
from ledger.domain import ids
from ledger.domain.api_key import ApiKey
from ledger.domain.base import LedgerAggregate, now, using_clock
from ledger.domain.errors import DomainError, IllegalTransition, InvalidInput
from ledger.domain.idempotency import IdempotencyRecord
from ledger.domain.manufacturer import Manufacturer
from ledger.domain.manufacturer_settings import refund_approvals_needed
from ledger.domain.payable import ManufacturerPayable
from ledger.domain.payment import Payment
from ledger.domain.payout import Payout
from ledger.domain.provider_records import ProviderLink
from ledger.domain.registry import SHARDS, Registry

T = TypeVar("T")
A = TypeVar("A", bound=LedgerAggregate)
log = logging.getLogger(__name__)
MAX_ATTEMPTS = 60
KEY_CACHE_SECONDS = 30.0
REGISTRY_READERS = 16


@dataclass(frozen=True, slots=True)
class IdempotencyContext:
    api_key_id: str
    key: str
    fingerprint: str

    @property
    def record_id(self) -> UUID:
        return IdempotencyRecord.create_id(self.api_key_id, self.key)


@dataclass(frozen=True, slots=True)
class Response:
    """What a command answered: stored verbatim for idempotent replays."""

    status_code: int
    body: str
    replayed: bool = False


Renderer = Callable[[T], tuple[int, str]]
ErrorRenderer = Callable[[DomainError], tuple[int, str]]


def hash_api_key(secret: str) -> str:
    # Keys are 256-bit random secrets, so a fast hash cannot be brute-forced; no salt needed.
    return hashlib.sha256(secret.encode()).hexdigest()


class LedgerService(Application[UUID]):
    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        ManufacturerPayable: 100,
        Registry: 100,
    }
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        # Commands read cached aggregates as they are, without a query for newer events: a stale
        # copy cannot do harm, because its save then fails on the version check, the attempt's
        # aggregates are evicted and the command runs again on fresh ones.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        providers: Mapping[str, PaymentProvider],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self._providers = dict(providers)
        self._clock = clock
        self._local = threading.local()
        self._remote_store = "dynamodb" in (self.env.get("PERSISTENCE_MODULE") or "")
        # Queries (GET) read the event store itself, never the command cache, so they always see
        # what other processes have written.
        self._current = Repository(event_store=self.events, snapshot_store=self.snapshots)
        # Commands in one process take turns: they would only conflict on the same aggregates
        # (every capture touches its manufacturer's payable) and retry. Other processes are
        # still kept apart by optimistic concurrency.
        self._command_lock = threading.Lock()
        self._in_flight: set[UUID] = set()
        self._in_flight_lock = threading.Lock()
        self._key_cache: dict[str, tuple[float, Principal | None]] = {}
        self.after_save: list[Callable[[], object]] = []

    # ----- execution machinery ---------------------------------------------------------------
    @contextmanager
    def _clocked(self) -> Iterator[None]:
        if self._clock is None:
            yield
        else:
            with using_clock(self._clock):
                yield

    def register_provider(self, name: str, provider: PaymentProvider) -> None:
        self._providers[name] = provider

    def load(self, aggregate_id: UUID) -> Any:
        """An aggregate for a command: from the cache when there (raises AggregateNotFoundError)."""
        return self.repository.get(aggregate_id)

    def current(self, aggregate_id: UUID) -> Any:
        """An aggregate as the event store has it now, for queries."""
        return self._current.get(aggregate_id)

    def _evict(self, aggregate_ids: list[UUID]) -> None:
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in aggregate_ids:
            with suppress(KeyError):
                cache.get(aggregate_id, evict=True)

    def provider(self, name: str) -> PaymentProvider:
        found = self._providers.get(name)
        if found is None:
            raise ProviderNotConfigured(f"provider '{name}' is not configured")
        return found

    def now(self) -> datetime:
        return self._clock() if self._clock is not None else datetime.now(UTC)

    def outside_command_lock(self, call: Callable[[], T]) -> T:
        """Run a provider call without holding up other commands of this process: the lock
        only spares them retries, correctness rests on optimistic concurrency."""
        if not getattr(self._local, "holding", False):
            return call()
        self._local.holding = False
        self._command_lock.release()
        try:
            return call()
        finally:
            self._command_lock.acquire()
            self._local.holding = True

    def run(
        self,
        command: Callable[[UnitOfWork], T],
        render: Renderer[T],
        *,
        render_error: ErrorRenderer | None = None,
        idempotency: IdempotencyContext | None = None,
    ) -> Response:
        """Run a command with retries on conflicts; with a key, at most once."""
        if idempotency is None:
            return self._attempt(command, render, render_error, None)
        record_id = idempotency.record_id
        with self._in_flight_lock:
            if record_id in self._in_flight:
                raise IdempotencyKeyInFlight(
                    "a request with this Idempotency-Key is still in progress"
                )
            self._in_flight.add(record_id)
        try:
            stored = self._stored_response(idempotency)
            if stored is not None:
                return stored
            return self._attempt(command, render, render_error, idempotency)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(record_id)

    def _stored_response(self, idempotency: IdempotencyContext) -> Response | None:
        if not self.recorder.select_events(idempotency.record_id, limit=1):
            return None  # the common case: one cheap indexed read, no aggregate machinery
        record = self.current(idempotency.record_id)
        assert isinstance(record, IdempotencyRecord)
        if record.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with a different request"
            )
        return Response(record.status_code, record.body, replayed=True)

    def _attempt(
        self,
        command: Callable[[UnitOfWork], T],
        render: Renderer[T],
        render_error: ErrorRenderer | None,
        idempotency: IdempotencyContext | None,
    ) -> Response:
        for attempt in range(MAX_ATTEMPTS):
            with self._command_lock:
                self._local.holding = True
                try:
                    outcome = self._attempt_once(
                        command, render, render_error, idempotency, first=attempt == 0
                    )
                finally:
                    self._local.holding = False
            if outcome is not None:
                return outcome
            if idempotency is not None:
                stored = self._stored_response(idempotency)
                if stored is not None:
                    return stored
            self._backoff(attempt)
        raise ConcurrencyExhausted("too many concurrent changes to the same records; retry")

    def _attempt_once(
        self,
        command: Callable[[UnitOfWork], T],
        render: Renderer[T],
        render_error: ErrorRenderer | None,
        idempotency: IdempotencyContext | None,
        *,
        first: bool,
    ) -> Response | None:
        """One try: None when the save lost an optimistic-concurrency race."""
        uow = UnitOfWork(
            self.load,
            self.current,
            seed=str(idempotency.record_id) if idempotency is not None else None,
        )
        try:
            return self._attempt_in(uow, command, render, render_error, idempotency, first)
        except BaseException:
            self._evict(uow.loaded_ids())
            raise

    def _attempt_in(
        self,
        uow: UnitOfWork,
        command: Callable[[UnitOfWork], T],
        render: Renderer[T],
        render_error: ErrorRenderer | None,
        idempotency: IdempotencyContext | None,
        first: bool,
    ) -> Response | None:
        try:
            with self._clocked():
                result = command(uow)
                status, body = render(result)
                to_save: list[Any] = uow.collect()
                if idempotency is not None:
                    to_save.append(self._idempotency_record(idempotency, status, body))
        except IllegalTransition as error:
            if first:
                # The cached aggregates may be behind another process's writes: refuse only
                # after checking against the store.
                self._evict(uow.loaded_ids())
                return None
            # A refused transition is an outcome: replays of this key give the same answer.
            if idempotency is None or render_error is None:
                raise
            status, body = render_error(error)
            with self._clocked():
                to_save = [self._idempotency_record(idempotency, status, body)]
            try:
                self._save(to_save)
            except IntegrityError:
                return self._after_conflict(idempotency)
            return Response(status, body)
        try:
            self._save(to_save)
        except IntegrityError:
            self._evict(uow.loaded_ids())
            return None
        return Response(status, body)

    def _after_conflict(self, idempotency: IdempotencyContext) -> Response:
        stored = self._stored_response(idempotency)
        if stored is None:  # only the record was being saved, so it exists now
            raise ConcurrencyExhausted("conflict while recording the response; retry")
        return stored

    @staticmethod
    def _idempotency_record(
        idempotency: IdempotencyContext, status: int, body: str
    ) -> IdempotencyRecord:
        return IdempotencyRecord(
            api_key_id=idempotency.api_key_id,
            key=idempotency.key,
            fingerprint=idempotency.fingerprint,
            status_code=status,
            body=body,
        )

    def _take_snapshots(self, processing_event: Any) -> None:
        # Snapshots are an optimisation taken after the events are durably recorded: a failure
        # here must never look like a failed save, or the command would be run twice.
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            log.exception("taking a snapshot failed; the events are saved")

    def _save(self, aggregates: list[Any]) -> None:
        if aggregates:
            self.save(*aggregates)
            for hook in self.after_save:
                try:
                    hook()
                except Exception:  # the save is durable; followers retry on their own
                    log.exception("after-save hook failed")

    @staticmethod
    def _backoff(attempt: int) -> None:
        time.sleep(random.uniform(0, min(0.1, 0.001 * 2**attempt)))  # noqa: S311

    def execute(self, command: Callable[[UnitOfWork], T]) -> T:
        """Run a command without HTTP rendering (CLI, tests); returns the command's result."""
        results: list[T] = []

        def keep(result: T) -> tuple[int, str]:
            results.append(result)
            return 200, ""

        self.run(command, keep)
        return results[-1]

    # ----- API keys --------------------------------------------------------------------------
    def create_api_key(
        self, scopes: list[str], manufacturer_id: str | None = None
    ) -> tuple[str, ApiKey]:
        """Returns the secret (shown once, never stored) and the key record."""
        if manufacturer_id is not None:
            self.manufacturer(Principal("system", frozenset({"admin"})), manufacturer_id)
        secret = "lk_" + secrets.token_urlsafe(32)
        key = ApiKey.issue(hash_api_key(secret), scopes, manufacturer_id)
        self._save([key])
        return secret, key

    def authenticate(self, secret: str) -> Principal | None:
        digest = hash_api_key(secret)
        now = time.monotonic()
        cached = self._key_cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            key = self.current(ApiKey.create_id(digest))
        except AggregateNotFoundError:
            key = None
        principal = None
        if isinstance(key, ApiKey) and not key.revoked:
            principal = Principal(
                key_id=ids.encode("api_key", key.id),
                scopes=frozenset(key.scopes),
                manufacturer_id=key.manufacturer_id,
            )
        if len(self._key_cache) > 10_000:
            self._key_cache.clear()
        self._key_cache[digest] = (now + KEY_CACHE_SECONDS, principal)
        return principal

    # ----- manufacturers ---------------------------------------------------------------------
    def manufacturer(self, principal: Principal, public_id: str) -> Manufacturer:
        found = self._find(Manufacturer, "manufacturer", public_id)
        if found is None or not principal.sees_manufacturer(public_id):
            raise NotFound("no such manufacturer")
        return found

    # ----- reads of aggregates ---------------------------------------------------------------
    def find(self, cls: type[A], kind: str, public_id: str) -> A | None:
        """An aggregate by public id, as the store has it now; None if unknown or malformed."""
        return self._find(cls, kind, public_id)

    def _find(self, cls: type[A], kind: str, public_id: str) -> A | None:
        try:
            aggregate_id = ids.decode(kind, public_id)
            found = self.current(aggregate_id)
        except (ids.MalformedId, AggregateNotFoundError):
            return None
        return found if isinstance(found, cls) else None

    def payment(self, principal: Principal, public_id: str) -> Payment:
        found = self._find(Payment, "payment", public_id)
        # A key bound to one manufacturer sees only payments wholly its own: a payment shared
        # with other manufacturers carries their amounts, customer and metadata.
        if found is None or not principal.owns_all(found.manufacturer_ids):
            raise NotFound("no such payment")
        return found

    def payment_history(
        self, principal: Principal, public_id: str
    ) -> list[DomainEventProtocol[UUID]]:
        payment = self.payment(principal, public_id)
        return list(self.events.get(payment.id))

    def refund(self, principal: Principal, refund_id: str) -> tuple[Payment, dict[str, Any]]:
        try:
            payment_id = ids.parent_payment(refund_id, "re")
        except ids.MalformedId:
            raise NotFound("no such refund") from None
        payment = self.payment(principal, ids.encode("payment", payment_id))
        if refund_id not in payment.refunds:
            raise NotFound("no such refund")
        return payment, payment.refunds[refund_id]

    def payout(self, principal: Principal, public_id: str) -> Payout:
        found = self._find(Payout, "payout", public_id)
        if found is None or not principal.sees_manufacturer(found.manufacturer_id):
            raise NotFound("no such payout")
        return found

    def registry_members(self, kind: str) -> list[str]:
        """Every member of a registry kind: its shards are read side by side (on DynamoDB each
        read is a network round trip or two)."""

        def shard(number: int) -> list[str]:
            try:
                found = self.current(Registry.create_id(kind, number))
            except AggregateNotFoundError:
                return []
            return list(found.members)

        if not self._remote_store:  # local reads are faster one after another
            return sorted(member for number in range(SHARDS) for member in shard(number))
        with ThreadPoolExecutor(max_workers=REGISTRY_READERS) as pool:
            return sorted(member for part in pool.map(shard, range(SHARDS)) for member in part)

    def payable(self, manufacturer_id: str, currency: str) -> ManufacturerPayable | None:
        try:
            found = self.current(ManufacturerPayable.create_id(manufacturer_id, currency))
        except AggregateNotFoundError:
            return None
        assert isinstance(found, ManufacturerPayable)
        return found


# ----- commands: functions of (service, principal, inputs) returning a UnitOfWork command ------
def register_manufacturer(
    principal: Principal, terms: dict[str, Any]
) -> Callable[[UnitOfWork], Manufacturer]:
    principal.require("admin")
    if principal.manufacturer_id is not None:
        raise Forbidden("a key bound to a manufacturer cannot register manufacturers")

    def command(uow: UnitOfWork) -> Manufacturer:
        return uow.add(Manufacturer.register(**terms))

    return command


def change_manufacturer(
    principal: Principal, public_id: str, changes: dict[str, Any]
) -> Callable[[UnitOfWork], Manufacturer]:
    principal.require("admin")

    def command(uow: UnitOfWork) -> Manufacturer:
        if not principal.sees_manufacturer(public_id):
            raise NotFound("no such manufacturer")
        manufacturer = _load(uow, Manufacturer, "manufacturer", public_id)
        manufacturer.change_terms(**changes)
        return manufacturer

    return command


def change_manufacturer_settings(
    service: LedgerService, principal: Principal, public_id: str, changes: dict[str, Any]
) -> Callable[[UnitOfWork], Manufacturer]:
    """changes: settings of ledger.domain.manufacturer_settings; a bank account arrives here
    already sealed by the vault (token and mask), never as a number."""
    principal.require("admin")
    if changes.get("provider") is not None:
        service.provider(changes["provider"])  # 422 unless configured

    def command(uow: UnitOfWork) -> Manufacturer:
        if not principal.sees_manufacturer(public_id):
            raise NotFound("no such manufacturer")
        manufacturer = _load(uow, Manufacturer, "manufacturer", public_id)
        manufacturer.change_settings(changes)
        scheduled = uow.registry(SCHEDULED_PAYOUTS, public_id)
        if manufacturer.settings["payout_interval"] == "manual":
            scheduled.remove(public_id)
        else:
            scheduled.add(public_id)
        return manufacturer

    return command


def create_payment(
    service: LedgerService, principal: Principal, fields: dict[str, Any]
) -> Callable[[UnitOfWork], Payment]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Payment:
        manufacturers = split_manufacturers(uow, principal, fields["splits"])
        splits = [
            {
                "manufacturer_id": split["manufacturer_id"],
                "amount": split["amount"],
                "fee_bps": manufacturer.fee_bps,
                "refund_fee_policy": manufacturer.refund_fee_policy,
            }
            for split, manufacturer in zip(fields["splits"], manufacturers, strict=True)
        ]
        payment = Payment.initiate(
            amount=fields["amount"],
            currency_code=fields["currency"],
            customer_id=fields["customer_id"],
            provider=routed_provider(fields, manufacturers),
            payment_method=fields["payment_method"],
            capture_method=fields["capture_method"],
            splits=splits,
            metadata=fields.get("metadata") or {},
            id_seed=uow.seed("payment"),
        )
        provider = service.provider(payment.provider)
        check_payment_method(provider, payment.payment_method)
        public_id = ids.encode("payment", payment.id)
        automatic = payment.capture_method == "automatic"
        request = AuthorizationRequest(
            payment_id=public_id,
            amount=payment.amount,
            currency=payment.currency,
            payment_method=payment.payment_method,
            idempotency_key=f"{public_id}:authorize",
            capture=automatic,
            customer_id=payment.customer_id,
        )
        result = service.outside_command_lock(lambda: provider.authorize(request))
        if result.status == "succeeded":
            payment.authorize(result.reference)
            if automatic:
                payment.capture(provider_fee=result.fee)
        elif result.status == "failed":
            payment.fail(result.failure_reason or "declined by the provider")
        # "pending": the provider decides later (3-D Secure: its webhook settles it; ACH debits:
        # collected by the next NACHA file, listed in the provider's pending-payments registry).
        if result.status == "pending" and getattr(provider, "batches", False):
            uow.registry(pending_payments(payment.provider), public_id).add(public_id)
        if result.reference and getattr(provider, "sends_webhooks", False):
            uow.add(ProviderLink(payment.provider, result.reference, public_id))
        return uow.add(payment)

    return command


def split_manufacturers(
    uow: UnitOfWork, principal: Principal, splits: list[dict[str, Any]]
) -> list[Manufacturer]:
    """The manufacturers of splits, in order, as they are now; 422 for any the key may not use."""
    found = []
    for split in splits:
        manufacturer_id = split["manufacturer_id"]
        manufacturer = read_in(uow, Manufacturer, "manufacturer", manufacturer_id)
        if manufacturer is None or not principal.sees_manufacturer(manufacturer_id):
            raise InvalidInput(f"unknown manufacturer '{manufacturer_id}' in splits")
        found.append(manufacturer)
    return found


def routed_provider(fields: dict[str, Any], manufacturers: list[Manufacturer]) -> str:
    """The payment's own choice, else its first manufacturer's routing."""
    chosen: str | None = fields.get("provider")
    return chosen or (manufacturers[0].settings["provider"] if manufacturers else "sandbox")


def check_payment_method(provider: PaymentProvider, payment_method: str) -> None:
    """A provider may refuse a payment method before anything is recorded (ACH: only vault
    tokens, so a raw account number is never stored)."""
    check: Callable[[str], str | None] | None = getattr(provider, "check_payment_method", None)
    problem = check(payment_method) if check is not None else None
    if problem:
        raise InvalidInput(problem)


def capture_payment(
    service: LedgerService, principal: Principal, public_id: str, amount: int | None
) -> Callable[[UnitOfWork], Payment]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Payment:
        payment = _payment_for_write(uow, principal, public_id)
        if payment.status != "authorized":
            raise IllegalTransition(f"cannot capture a payment that is {payment.status}")
        value = payment.amount if amount is None else amount
        if type(value) is not int or not 0 < value <= payment.amount:
            payment.capture(amount)  # raises the precise error
        provider = service.provider(payment.provider)
        request = CaptureRequest(
            payment_id=public_id,
            provider_reference=payment.provider_reference or "",
            amount=value,
            currency=payment.currency,
            idempotency_key=f"{public_id}:capture",
        )
        result = service.outside_command_lock(lambda: provider.capture(request))
        if result.status != "succeeded":
            raise ProviderRefused(
                f"the provider did not capture: {result.failure_reason or result.status}"
            )
        payment.capture(value, provider_fee=result.fee, provider_reference=result.reference)
        if (
            result.reference
            and result.reference != payment.provider_reference
            and getattr(provider, "sends_webhooks", False)
        ):
            uow.add(ProviderLink(payment.provider, result.reference, public_id))
        return payment

    return command


def void_payment(
    service: LedgerService, principal: Principal, public_id: str
) -> Callable[[UnitOfWork], Payment]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Payment:
        payment = _payment_for_write(uow, principal, public_id)
        if payment.status != "authorized":
            raise IllegalTransition(f"cannot void a payment that is {payment.status}")
        provider = service.provider(payment.provider)
        request = VoidRequest(
            payment_id=public_id,
            provider_reference=payment.provider_reference or "",
            idempotency_key=f"{public_id}:void",
        )
        result = service.outside_command_lock(lambda: provider.void(request))
        if result.status != "succeeded":
            raise ProviderRefused(
                f"the provider did not void: {result.failure_reason or result.status}"
            )
        payment.void()
        return payment

    return command


def refund_payment(
    principal: Principal, public_id: str, amount: int, reason: str | None
) -> Callable[[UnitOfWork], tuple[Payment, str]]:
    """Books the refund now; the refund-execution workflow executes it at the provider once it
    is pending (after its approvals, when its manufacturers' policy asks for them)."""
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> tuple[Payment, str]:
        payment = _payment_for_write(uow, principal, public_id)
        approvals = 0
        for manufacturer_id in payment.manufacturer_ids:
            manufacturer = read_in(uow, Manufacturer, "manufacturer", manufacturer_id)
            if manufacturer is not None:
                approvals = max(approvals, refund_approvals_needed(manufacturer.settings, amount))
        refund_id = payment.request_refund(
            amount, reason, requested_by=principal.key_id, approvals_required=approvals
        )
        return payment, refund_id

    return command


def approve_refund(
    principal: Principal, refund_id: str
) -> Callable[[UnitOfWork], tuple[Payment, str]]:
    principal.require("refunds:approve")

    def command(uow: UnitOfWork) -> tuple[Payment, str]:
        payment = _parent_for_write(uow, principal, refund_id, "re")
        payment.approve_refund(refund_id, principal.key_id)
        return payment, refund_id

    return command


def reject_refund(
    principal: Principal, refund_id: str, reason: str | None
) -> Callable[[UnitOfWork], tuple[Payment, str]]:
    principal.require("refunds:approve")

    def command(uow: UnitOfWork) -> tuple[Payment, str]:
        payment = _parent_for_write(uow, principal, refund_id, "re")
        payment.reject_refund(refund_id, principal.key_id, reason)
        return payment, refund_id

    return command


def open_dispute(
    principal: Principal, public_id: str, amount: int, reason: str | None
) -> Callable[[UnitOfWork], tuple[Payment, str]]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> tuple[Payment, str]:
        payment = _payment_for_write(uow, principal, public_id)
        return payment, payment.open_dispute(amount, reason)

    return command


def close_dispute(
    principal: Principal, dispute_id: str, outcome: str
) -> Callable[[UnitOfWork], tuple[Payment, str]]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> tuple[Payment, str]:
        payment = _parent_for_write(uow, principal, dispute_id, "dp")
        payment.close_dispute(dispute_id, outcome)
        return payment, dispute_id

    return command


def request_payout(
    principal: Principal,
    manufacturer_id: str,
    amount: int,
    currency: str,
) -> Callable[[UnitOfWork], Payout]:
    principal.require("payments:write")

    def command(uow: UnitOfWork) -> Payout:
        manufacturer = read_in(uow, Manufacturer, "manufacturer", manufacturer_id)
        if manufacturer is None or not principal.sees_manufacturer(manufacturer_id):
            raise InvalidInput(f"unknown manufacturer '{manufacturer_id}'")
        expiry_hours = manufacturer.settings["payout_approval_expiry_hours"]
        payout = Payout.request(
            manufacturer_id=manufacturer_id,
            amount=amount,
            currency_code=currency,
            requested_by=principal.key_id,
            approvals_required=manufacturer.approvals_needed_for(amount),
            approval_expires_at=(now() + timedelta(hours=expiry_hours)) if expiry_hours else None,
            id_seed=uow.seed("payout"),
        )
        public_id = ids.encode("payout", payout.id)
        uow.payable(manufacturer_id, currency).reserve(public_id, amount)
        if payout.approval_expires_at is not None:
            uow.registry(PAYOUTS_AWAITING_APPROVAL, public_id).add(public_id)
        return uow.add(payout)

    return command


def approve_payout(principal: Principal, public_id: str) -> Callable[[UnitOfWork], Payout]:
    """The last approval makes it "approved"; the payout-execution workflow pays it."""
    principal.require("payouts:approve")

    def command(uow: UnitOfWork) -> Payout:
        payout = _payout_for_write(uow, principal, public_id)
        if payout.approval_expired(now()):
            raise IllegalTransition("the approval window of this payout has expired")
        payout.approve(principal.key_id)
        return payout

    return command


def reject_payout(
    principal: Principal, public_id: str, reason: str | None
) -> Callable[[UnitOfWork], Payout]:
    principal.require("payouts:approve")

    def command(uow: UnitOfWork) -> Payout:
        payout = _payout_for_write(uow, principal, public_id)
        payout.reject(principal.key_id, reason)
        uow.payable(payout.manufacturer_id, payout.currency).release(public_id)
        return payout

    return command


def _find(uow: UnitOfWork, cls: type[A], kind: str, public_id: str) -> A | None:
    try:
        return uow.find(cls, ids.decode(kind, public_id))
    except ids.MalformedId:
        return None


def read_in(uow: UnitOfWork, cls: type[A], kind: str, public_id: str) -> A | None:
    try:
        return uow.read(cls, ids.decode(kind, public_id))
    except ids.MalformedId:
        return None


def _load(uow: UnitOfWork, cls: type[A], kind: str, public_id: str) -> A:
    found = _find(uow, cls, kind, public_id)
    if found is None:
        raise NotFound(f"no such {kind}")
    return found


def _payment_for_write(uow: UnitOfWork, principal: Principal, public_id: str) -> Payment:
    payment = _find(uow, Payment, "payment", public_id)
    if payment is None or not principal.owns_all(payment.manufacturer_ids):
        raise NotFound("no such payment")
    return payment


def _parent_for_write(uow: UnitOfWork, principal: Principal, child_id: str, kind: str) -> Payment:
    """The payment a refund ("re") or dispute ("dp") id belongs to; 404 unless it has it."""
    what = "refund" if kind == "re" else "dispute"
    try:
        payment_id = ids.parent_payment(child_id, kind)
    except ids.MalformedId:
        raise NotFound(f"no such {what}") from None
    payment = _payment_for_write(uow, principal, ids.encode("payment", payment_id))
    if child_id not in (payment.refunds if kind == "re" else payment.disputes):
        raise NotFound(f"no such {what}")
    return payment


def _payout_for_write(uow: UnitOfWork, principal: Principal, public_id: str) -> Payout:
    payout = _find(uow, Payout, "payout", public_id)
    if payout is None or not principal.sees_manufacturer(payout.manufacturer_id):
        raise NotFound("no such payout")
    return payout

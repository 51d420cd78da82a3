"""API keys: issued with their scopes, label and expiry (the secret shown once, only its hash
recorded), listed, relabelled, given an expiry, revoked; and authenticated per request.

Authentication keeps a short cache so a hot key costs no read. What makes a key stop working
takes effect at once all the same:
- expiry is checked on every request against the cached expiry;
- a revocation, label or expiry change made in this process drops the key from the cache;
- one made by another process (the CLI beside `ledger serve`, another server on the same file)
  reaches this process when its read-model follower sees the event (`observe`, within the poll
  interval); where no follower runs (AWS Lambdas) the cache lasts CACHE_SECONDS at most.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.errors import Forbidden, NotFound
from ledger.application.ports import ReadModels
from ledger.application.principal import Principal, requires
from ledger.application.unit_of_work import UnitOfWork
from ledger.domain import ids
from ledger.domain.api_key import ApiKey, checked_label
from ledger.domain.base import now, using_clock
from ledger.domain.manufacturer import Manufacturer
from projections.logic import timestamp_text

CACHE_SECONDS = 5.0
MAX_CACHED = 10_000
OPERATOR = Principal(key_id="operator:cli", scopes=frozenset({"admin"}), label="ledger CLI")
log = logging.getLogger(__name__)


def hash_api_key(secret: str) -> str:
    # Keys are 256-bit random secrets, so a fast hash cannot be brute-forced; no salt needed.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Cached:
    until: float  # monotonic
    principal: Principal | None
    key_id: UUID | None
    expires_at: datetime | None


def _stamp(text: str | None) -> str | None:
    """A recorded moment as the API shows moments (fixed-width UTC, Z)."""
    return timestamp_text(datetime.fromisoformat(text)) if text else None


def _platform_admin(principal: Principal) -> None:
    """Keys are the platform's business: a key bound to a manufacturer never manages them."""
    if principal.manufacturer_id is not None:
        raise Forbidden("a key bound to a manufacturer cannot manage API keys")


def _key_id(public_id: str) -> UUID:
    try:
        return ids.decode("api_key", public_id)
    except ids.MalformedId:
        raise NotFound("no such API key") from None


def _change(
    public_id: str, change: Callable[[ApiKey, datetime], None]
) -> Callable[[UnitOfWork], ApiKey]:
    def command(uow: UnitOfWork) -> ApiKey:
        key = uow.get(ApiKey, _key_id(public_id), "API key")
        change(key, now())
        return key

    return command


class ApiKeys:
    def __init__(self, engine: Engine, read_models: ReadModels | None = None) -> None:
        self._engine = engine
        self._read_models = read_models
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    # ----- issuing -------------------------------------------------------------------------
    def create(
        self,
        scopes: list[str],
        manufacturer_id: str | None = None,
        *,
        label: str | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[str, ApiKey]:
        """Returns the secret (shown once, never stored) and the key record."""
        if (
            manufacturer_id is not None
            and self._engine.find(Manufacturer, "manufacturer", manufacturer_id) is None
        ):
            raise NotFound("no such manufacturer")
        secret = "lk_" + secrets.token_urlsafe(32)
        with using_clock(self._engine.now):
            key = ApiKey.issue(hash_api_key(secret), scopes, manufacturer_id)
            if label is not None:
                key.relabel(label)
            if expires_at is not None:
                key.expire_at(expires_at, self._engine.now())
        self._engine.save_new(key)
        return secret, key

    # ----- managing (admin, platform keys only) ----------------------------------------------
    @requires("admin")
    def listed(self, principal: Principal, *, include_revoked: bool = True) -> list[dict[str, Any]]:
        """Every key as the read models have it, oldest first."""
        _platform_admin(principal)
        if self._read_models is None:
            raise RuntimeError("listing keys needs the read models")
        rows = self._read_models.fresh().api_keys()
        moment = self._engine.now()
        listed = []
        for row in rows:
            expires = row.get("expires_at")
            revoked = bool(row.get("revoked"))
            if revoked and not include_revoked:
                continue
            expired = expires is not None and moment >= datetime.fromisoformat(expires)
            listed.append(
                {
                    "id": row["key_id"],
                    "label": row.get("label"),
                    "scopes": [s for s in str(row.get("scopes") or "").split(",") if s],
                    "manufacturer_id": row.get("manufacturer_id"),
                    "status": "revoked" if revoked else "expired" if expired else "active",
                    "created_at": _stamp(row.get("created_at")),
                    "last_used_at": _stamp(row.get("last_used_at")),
                    "expires_at": _stamp(expires),
                    "revoked_at": _stamp(row.get("revoked_at")),
                }
            )
        return listed

    def describe(self, key: ApiKey) -> dict[str, Any]:
        """A key as `listed` shows it, from the aggregate (always current)."""
        return {
            "id": ids.encode("api_key", key.id),
            "label": key.label,
            "scopes": list(key.scopes),
            "manufacturer_id": key.manufacturer_id,
            "status": key.status(self._engine.now()),
            "created_at": timestamp_text(key.created_on),
            "last_used_at": _stamp(key.last_used_at),
            "expires_at": _stamp(key.expires_at),
            "revoked_at": _stamp(key.revoked_at),
        }

    @requires("admin")
    def get(self, principal: Principal, public_id: str) -> ApiKey:
        _platform_admin(principal)
        try:
            found = self._engine.current(_key_id(public_id))
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, ApiKey):
            raise NotFound("no such API key")
        return found

    @requires("admin")
    def revoke(self, principal: Principal, public_id: str) -> ApiKey:
        """For good: the key answers 401 from the next request on."""
        _platform_admin(principal)
        key = self._engine.execute(
            _change(public_id, lambda key, _: key.revoke(by=principal.key_id))
        )
        self.forget(key.id)
        return key

    @requires("admin")
    def update(
        self,
        principal: Principal,
        public_id: str,
        *,
        label: str | None = None,
        expires_at: datetime | None = None,
        clear_expiry: bool = False,
    ) -> ApiKey:
        """A new label and/or expiry (clear_expiry: never expires)."""
        _platform_admin(principal)
        if label is not None:
            checked_label(label)  # refused before anything is read

        def change(key: ApiKey, now: datetime) -> None:
            if label is not None:
                key.relabel(label)
            if expires_at is not None or clear_expiry:
                key.expire_at(expires_at, now)

        key = self._engine.execute(_change(public_id, change))
        self.forget(key.id)
        return key

    # ----- authenticating --------------------------------------------------------------------
    def authenticate(self, secret: str) -> Principal | None:
        digest = hash_api_key(secret)
        tick = time.monotonic()
        cached = self._cache.get(digest)
        if cached is None or cached.until <= tick:
            cached = self._load(digest, tick)
        if cached.expires_at is not None and self._engine.now() >= cached.expires_at:
            return None
        return cached.principal

    def _load(self, digest: str, tick: float) -> _Cached:
        key_id = ApiKey.create_id(digest)
        try:
            key = self._engine.current(key_id)
        except AggregateNotFoundError:
            key = None
        principal = None
        expires_at = None
        if isinstance(key, ApiKey) and key.active(self._engine.now()):
            principal = Principal(
                key_id=ids.encode("api_key", key.id),
                scopes=frozenset(key.scopes),
                manufacturer_id=key.manufacturer_id,
                label=key.label,
            )
            expires_at = datetime.fromisoformat(key.expires_at) if key.expires_at else None
            self._note_use(key)
        cached = _Cached(tick + CACHE_SECONDS, principal, key_id if key else None, expires_at)
        with self._lock:
            if len(self._cache) > MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = cached
        return cached

    def _note_use(self, key: ApiKey) -> None:
        """Last use, to the hour; losing a race to another writer of the key costs nothing."""
        try:
            with using_clock(self._engine.now):
                if key.note_use(self._engine.now()):
                    self._engine.save_new(key)
        except Exception:
            log.info("recording the last use of a key lost a race; the next use records it")

    def forget(self, key_id: UUID) -> None:
        """Drop a key from the cache: the next request reads it again."""
        with self._lock:
            for digest in [d for d, c in self._cache.items() if c.key_id == key_id]:
                self._cache.pop(digest, None)

    def observe(self, event: Any) -> None:
        """A key's event seen by the read-model follower (possibly written by another
        process): any change but a recorded use drops that key from the cache."""
        name = type(event).__qualname__
        if name.startswith("ApiKey.") and name not in ("ApiKey.Issued", "ApiKey.Used"):
            self.forget(event.originator_id)

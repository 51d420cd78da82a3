"""API keys: issued with their scopes (the secret shown once, only its hash recorded) and
authenticated per request, with a short cache so a hot key costs no read."""

from __future__ import annotations

import hashlib
import secrets
import time

from eventsourcing.application import AggregateNotFoundError

from ledger.application.engine import Engine
from ledger.application.errors import NotFound
from ledger.application.principal import Principal
from ledger.domain import ids
from ledger.domain.api_key import ApiKey
from ledger.domain.base import using_clock
from ledger.domain.manufacturer import Manufacturer

CACHE_SECONDS = 30.0
MAX_CACHED = 10_000


def hash_api_key(secret: str) -> str:
    # Keys are 256-bit random secrets, so a fast hash cannot be brute-forced; no salt needed.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def create(self, scopes: list[str], manufacturer_id: str | None = None) -> tuple[str, ApiKey]:
        """Returns the secret (shown once, never stored) and the key record."""
        if (
            manufacturer_id is not None
            and self._engine.find(Manufacturer, "manufacturer", manufacturer_id) is None
        ):
            raise NotFound("no such manufacturer")
        secret = "lk_" + secrets.token_urlsafe(32)
        with using_clock(self._engine.now):
            key = ApiKey.issue(hash_api_key(secret), scopes, manufacturer_id)
        self._engine.save_new(key)
        return secret, key

    def authenticate(self, secret: str) -> Principal | None:
        digest = hash_api_key(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            key = self._engine.current(ApiKey.create_id(digest))
        except AggregateNotFoundError:
            key = None
        principal = None
        if isinstance(key, ApiKey) and not key.revoked:
            principal = Principal(
                key_id=ids.encode("api_key", key.id),
                scopes=frozenset(key.scopes),
                manufacturer_id=key.manufacturer_id,
            )
        if len(self._cache) > MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, principal)
        return principal

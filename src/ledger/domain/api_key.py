"""API keys: only a hash of the secret is ever recorded. The aggregate id derives from the hash,
so a presented key is found with one read and no index.

A key has a label (who or what holds it: shown in lists and recorded with each approval it
gives), may expire, and may be revoked for good. Its last use is recorded to the hour."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Literal, get_args
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import IllegalTransition, InvalidInput

Scope = Literal[
    "payments:write",
    "payments:read",
    "finance:read",
    "finance:close",
    "payouts:approve",
    "refunds:approve",
    "admin",
]
SCOPES: tuple[str, ...] = get_args(Scope)
# What a key bound to a manufacturer may hold: everything but admin (the platform's own powers:
# registering manufacturers, their fee and policies, keys).
BOUND_SCOPES: tuple[str, ...] = tuple(scope for scope in SCOPES if scope != "admin")
MAX_LABEL = 100
MAX_LIFETIME = timedelta(days=3653)  # an expiry at most ten years ahead
USE_RESOLUTION = timedelta(hours=1)  # last use is recorded at most this often
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:ledger:api-key")


def checked_label(label: object) -> str:
    if not isinstance(label, str) or not label.strip():
        raise InvalidInput("label must be non-empty text")
    text = label.strip()
    if len(text) > MAX_LABEL:
        raise InvalidInput(f"label must be at most {MAX_LABEL} characters")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise InvalidInput("label must not hold control characters")
    return text


class ApiKey(LedgerAggregate):
    @staticmethod
    def create_id(key_hash: str) -> UUID:
        return uuid5(_NAMESPACE, key_hash)

    @event("Issued")
    def __init__(self, key_hash: str, scopes: list[str], manufacturer_id: str | None) -> None:
        self.key_hash = key_hash
        self.scopes = scopes
        self.manufacturer_id = manufacturer_id
        self.revoked = False
        self.revoked_at: str | None = None
        self.label: str | None = None
        self.expires_at: str | None = None
        self.last_used_at: str | None = None

    @classmethod
    def issue(cls, key_hash: str, scopes: list[str], manufacturer_id: str | None) -> ApiKey:
        if not scopes:
            raise InvalidInput("an API key needs at least one scope")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise InvalidInput(f"unknown scopes: {', '.join(unknown)} (valid: {', '.join(SCOPES)})")
        if manufacturer_id is not None and "admin" in scopes:
            raise InvalidInput(
                "a key bound to a manufacturer cannot hold the 'admin' scope (bound keys may "
                f"hold: {', '.join(BOUND_SCOPES)})"
            )
        return cls(key_hash=key_hash, scopes=sorted(set(scopes)), manufacturer_id=manufacturer_id)

    # ----- what a key may do now ---------------------------------------------------------------
    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and at >= datetime.fromisoformat(self.expires_at)

    def active(self, at: datetime) -> bool:
        return not self.revoked and not self.expired(at)

    def status(self, at: datetime) -> str:
        return "revoked" if self.revoked else "expired" if self.expired(at) else "active"

    def allows(self, scope: str) -> bool:
        return not self.revoked and ("admin" in self.scopes or scope in self.scopes)

    # ----- changes -----------------------------------------------------------------------------
    def revoke(self, by: str | None = None) -> None:
        if self.revoked:
            raise IllegalTransition("the key is already revoked")
        self._revoked(by=by)

    @event("Revoked")
    def _revoked(self, *, by: str | None = None) -> None:
        self.revoked = True
        self.revoked_at = self.event_time.isoformat()

    def relabel(self, label: object) -> None:
        if self.revoked:
            raise IllegalTransition("a revoked key cannot be changed")
        text = checked_label(label)
        if text != self.label:
            self._labelled(label=text)

    @event("Labelled")
    def _labelled(self, *, label: str) -> None:
        self.label = label

    def expire_at(self, moment: datetime | None, now: datetime) -> None:
        """Set (or, with None, remove) the moment the key stops working; never in the past (to
        stop a key now, revoke it)."""
        if self.revoked:
            raise IllegalTransition("a revoked key cannot be changed")
        if moment is not None:
            if moment.tzinfo is None:
                raise InvalidInput("expires_at needs a time zone (send it with Z)")
            if moment <= now:
                raise InvalidInput(
                    "expires_at must be in the future (to stop a key now, revoke it)"
                )
            if moment - now > MAX_LIFETIME:
                raise InvalidInput("expires_at must be within ten years")
        text = moment.isoformat() if moment is not None else None
        if text != self.expires_at:
            self._expiry_set(expires_at=text)

    @event("ExpirySet")
    def _expiry_set(self, *, expires_at: str | None) -> None:
        self.expires_at = expires_at

    def note_use(self, at: datetime) -> bool:
        """Record a use unless one was recorded within USE_RESOLUTION; True when recorded."""
        last = self.last_used_at
        if last is not None and at - datetime.fromisoformat(last) < USE_RESOLUTION:
            return False
        self._used()
        return True

    @event("Used")
    def _used(self) -> None:
        self.last_used_at = self.event_time.isoformat()

"""Bank account numbers at rest: only ever stored sealed with AES-256-GCM.

Token: ``bav1.`` + unpadded base64url of ``key id (4) | nonce (12) | ciphertext + tag``.
The associated data binds the version, the key id and an optional caller context (say, the
manufacturer id), so a token cannot be replayed for another owner. Two keys are derived from
the caller's 32-byte key with HKDF-SHA256: one seals, the other makes HMAC fingerprints, so the
dedupe fingerprints reveal nothing about the sealing key. The key id tells a token sealed under
another key apart from a tampered one, which key rotation will need.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.adapters.ach.nacha import NachaError, validate_account_number, validate_routing_number

AccountType = Literal["checking", "savings"]
ACCOUNT_TYPES: tuple[AccountType, ...] = ("checking", "savings")
KEY_BYTES = 32
TOKEN_PREFIX = "bav1."  # noqa: S105 - a format marker, not a secret
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
_TAG_BYTES = 16


class VaultError(ValueError):
    """A bad key, a token that is not ours or has been tampered with, or bad account data."""


@dataclass(frozen=True, repr=False)
class BankAccount:
    routing_number: str
    account_number: str
    account_type: AccountType

    def __post_init__(self) -> None:
        try:
            validate_routing_number(self.routing_number)
            object.__setattr__(self, "account_number", validate_account_number(self.account_number))
        except NachaError as exc:
            raise VaultError(str(exc)) from None
        if self.account_type not in ACCOUNT_TYPES:
            raise VaultError(f"account type must be checking or savings, got {self.account_type!r}")

    @property
    def masked(self) -> str:
        """The last four characters at most, and never more than half of a short number."""
        shown = min(4, len(self.account_number) // 2)
        return "****" + self.account_number[len(self.account_number) - shown :]

    def __repr__(self) -> str:
        return (
            f"BankAccount(routing_number={self.routing_number!r}, "
            f"account_number={self.masked!r}, account_type={self.account_type!r})"
        )


def _derive(key: bytes, purpose: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(key)


def _b64decode(text: str) -> bytes:
    # Standard or URL-safe alphabet, padded or not; validate=True rejects stray characters.
    normalized = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)


class BankAccountVault:
    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
            size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
            raise VaultError(f"the vault key must be {KEY_BYTES} bytes (AES-256), got {size}")
        key = bytes(key)
        self._aead = AESGCM(_derive(key, b"ledger/bank-account-vault/v1/seal"))
        self._mac_key = _derive(key, b"ledger/bank-account-vault/v1/fingerprint")
        self._key_id = _derive(key, b"ledger/bank-account-vault/v1/key-id", _KEY_ID_BYTES)

    @classmethod
    def from_base64_key(cls, text: str) -> BankAccountVault:
        """The key as the environment or Secrets Manager holds it (standard or URL-safe)."""
        try:
            key = _b64decode(text)
        except (binascii.Error, ValueError):
            raise VaultError("the vault key is not valid base64") from None
        return cls(key)

    @staticmethod
    def generate_key() -> str:
        """A new random key, base64url-encoded, for `from_base64_key`."""
        return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()

    def seal(
        self, routing: str, account: str, account_type: AccountType, *, context: str = ""
    ) -> str:
        acct = BankAccount(routing, account, account_type)
        plaintext = json.dumps(
            {"r": acct.routing_number, "a": acct.account_number, "t": acct.account_type},
            separators=(",", ":"),
        ).encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, self._associated_data(context))
        payload = self._key_id + nonce + sealed
        return TOKEN_PREFIX + base64.urlsafe_b64encode(payload).decode().rstrip("=")

    def open(self, token: str, *, context: str = "") -> BankAccount:
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise VaultError(f"not a bank account token (expected the {TOKEN_PREFIX!r} prefix)")
        try:
            payload = _b64decode(token[len(TOKEN_PREFIX) :])
        except (binascii.Error, ValueError):
            raise VaultError("the bank account token is not valid base64url") from None
        if len(payload) < _KEY_ID_BYTES + _NONCE_BYTES + _TAG_BYTES:
            raise VaultError("the bank account token is truncated")
        key_id = payload[:_KEY_ID_BYTES]
        nonce = payload[_KEY_ID_BYTES : _KEY_ID_BYTES + _NONCE_BYTES]
        if not hmac.compare_digest(key_id, self._key_id):
            raise VaultError("the bank account token was sealed with a different key")
        try:
            plaintext = self._aead.decrypt(
                nonce, payload[_KEY_ID_BYTES + _NONCE_BYTES :], self._associated_data(context)
            )
        except InvalidTag:
            raise VaultError(
                "the bank account token failed authentication: tampered with, corrupt, "
                "or sealed for another context"
            ) from None
        fields = json.loads(plaintext)
        return BankAccount(fields["r"], fields["a"], fields["t"])

    def fingerprint(self, routing: str, account: str) -> str:
        """A keyed hash of routing + account, equal for equal accounts: for finding duplicates."""
        acct = BankAccount(routing, account, "checking")
        message = f"{acct.routing_number}:{acct.account_number}".encode()
        return "fp1_" + hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()

    def _associated_data(self, context: str) -> bytes:
        return TOKEN_PREFIX.encode() + self._key_id + context.encode()

"""Who is calling: an authenticated API key's identity, scopes and manufacturer binding."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.application.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    scopes: frozenset[str]
    manufacturer_id: str | None = None

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")

    def sees_manufacturer(self, manufacturer_id: str) -> bool:
        return self.manufacturer_id is None or self.manufacturer_id == manufacturer_id

    def owns_all(self, manufacturer_ids: list[str]) -> bool:
        return self.manufacturer_id is None or all(
            m == self.manufacturer_id for m in manufacturer_ids
        )


SYSTEM = Principal(key_id="system", scopes=frozenset({"admin"}))

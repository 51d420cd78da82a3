"""Who is calling: an authenticated API key's identity, scopes and manufacturer binding, and the
scopes each use case needs, declared once with `requires` on the command or query itself."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from ledger.application.errors import Forbidden
from ledger.domain.api_key import BOUND_SCOPES

P = ParamSpec("P")
R = TypeVar("R")
_SCOPES = "__ledger_scopes__"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    scopes: frozenset[str]
    manufacturer_id: str | None = None
    label: str | None = None  # the key's label, recorded with the approvals it gives

    def __post_init__(self) -> None:
        # A key bound to a manufacturer never holds admin. Keys issued bound with admin before
        # that was refused keep every scope a bound key may hold, and nothing of the platform's.
        if self.manufacturer_id is not None and "admin" in self.scopes:
            object.__setattr__(self, "scopes", frozenset(BOUND_SCOPES))

    @property
    def is_platform(self) -> bool:
        """The platform's own key (not bound to a manufacturer)."""
        return self.manufacturer_id is None

    def require_platform(self, why: str) -> None:
        """Forbidden (why) for a key bound to a manufacturer."""
        if not self.is_platform:
            raise Forbidden(why)

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def require(self, *scopes: str) -> None:
        """Any one of scopes will do."""
        if not any(self.has(scope) for scope in scopes):
            names = " or ".join(f"'{scope}'" for scope in scopes)
            raise Forbidden(f"this API key lacks the {names} scope")

    @property
    def account(self) -> str:
        """Whose requests these are: the platform, or the manufacturer the key is bound to.
        Idempotency-Keys are scoped per account (as Stripe scopes them), so a retry sent with
        another key of the same account (a key rotated mid-retry) replays the first reply."""
        if self.manufacturer_id is None:
            return "platform"
        return f"manufacturer:{self.manufacturer_id}"

    def sees_manufacturer(self, manufacturer_id: str) -> bool:
        return self.manufacturer_id is None or self.manufacturer_id == manufacturer_id

    def owns_all(self, manufacturer_ids: list[str]) -> bool:
        return self.manufacturer_id is None or all(
            m == self.manufacturer_id for m in manufacturer_ids
        )


SYSTEM = Principal(key_id="system", scopes=frozenset({"admin"}))


def requires(*scopes: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare the scopes a use case needs (any one of them will do); they are checked whenever
    it is called with its principal (the first Principal among its arguments). A transport may
    check them earlier, before it reads a request's body (see scopes_of)."""

    def declare(use_case: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(use_case)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = next(arg for arg in args if isinstance(arg, Principal))
            principal.require(*scopes)
            return use_case(*args, **kwargs)

        setattr(checked, _SCOPES, scopes)
        return checked

    return declare


def scopes_of(use_case: Callable[..., object]) -> tuple[str, ...]:
    """The scopes a use case declared with requires."""
    declared: tuple[str, ...] | None = getattr(use_case, _SCOPES, None)
    if declared is None:
        raise TypeError(f"{use_case.__qualname__} declares no scopes")
    return declared

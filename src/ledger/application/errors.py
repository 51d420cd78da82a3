"""Application errors that are not domain rules."""

from ledger.domain.errors import DomainError, IllegalTransition, InvalidInput


class NotFound(DomainError):
    """Unknown id, or an id the caller may not see (never distinguished, so ids do not leak)."""

    code = "not-found"


class Forbidden(DomainError):
    """The caller's key lacks a scope the command needs."""

    code = "forbidden"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used with a different request."""

    code = "idempotency-key-reused"


class IdempotencyKeyInFlight(DomainError):
    """A request with the same Idempotency-Key is still being processed."""

    code = "idempotency-key-in-flight"


class ConcurrencyExhausted(DomainError):
    """Optimistic-concurrency retries did not converge; the caller may retry."""

    code = "concurrency-conflict"


class ProviderRefused(IllegalTransition):
    """The provider refused an operation on an existing payment (a capture of an expired
    authorization, a void after settlement): nothing changed in the ledger."""

    code = "provider-refused"


class ProviderNotConfigured(InvalidInput):
    """A provider name this deployment has no credentials for (422 to a caller; to the billing
    run a configuration problem, never a customer's failed attempt)."""

    code = "provider-not-configured"


class InvalidQuery(InvalidInput):
    """A read's parameter is malformed (a date, a period, a range)."""

    code = "invalid-query"


class InvalidCursor(InvalidInput):
    """A pagination cursor this API did not hand out."""

    code = "invalid-cursor"

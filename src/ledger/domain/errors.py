"""Typed domain errors. Each carries a stable machine-readable code."""


class DomainError(Exception):
    """A rule of the ledger refused a command."""

    code = "domain-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The command's values are malformed (maps to 422)."""

    code = "invalid-input"


class UnknownCurrency(InvalidInput):
    code = "unknown-currency"


class InvalidAmount(InvalidInput):
    code = "invalid-amount"


class SplitsMismatch(InvalidInput):
    code = "splits-mismatch"


class IllegalTransition(DomainError):
    """The command is well formed but the aggregate's state forbids it (maps to 409)."""

    code = "illegal-transition"


class ExceedsRefundable(IllegalTransition):
    code = "exceeds-refundable"


class ExceedsCapturable(IllegalTransition):
    code = "exceeds-capturable"


class InsufficientBalance(IllegalTransition):
    code = "insufficient-balance"


class SelfApproval(IllegalTransition):
    code = "self-approval"


class DuplicateApproval(IllegalTransition):
    code = "duplicate-approval"


class UnbalancedEntry(DomainError):
    """A journal entry whose postings do not sum to zero: a bug, never user input."""

    code = "unbalanced-entry"

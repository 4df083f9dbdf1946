"""Errors a client can act on.

Each class is named after the GraphQL ``errorType`` it reaches the client with, so a mobile
app switches on the same word the code raises::

    raise JobNotOpen("The job is not open.")
    # -> {"errorType": "JobNotOpen", "message": "The job is not open."}

Messages never carry personal data: they are logged and shown to whoever called.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error whose type the client sees."""

    def __init__(self, message: str, info: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.info = info

    @property
    def error_type(self) -> str:
        return type(self).__name__

    def envelope(self) -> dict[str, Any]:
        """The shape the resolver Lambda returns and AppSync's response handler raises."""
        return {"errorType": self.error_type, "errorMessage": self.message, "errorInfo": self.info}


class ValidationError(DomainError):
    """The input broke a rule of its type; nothing was written."""


class Unauthorized(DomainError):
    """The caller may not do this."""


class NotFound(DomainError):
    """The thing named does not exist (or the caller may not know that it does)."""


class UsernameTaken(DomainError):
    """A profile already exists for this username."""


class EmailTaken(DomainError):
    """Another profile already uses this email address."""


class EmailNotVerified(DomainError):
    """A profile needs the account's email to be verified first."""


class AccountDeactivated(DomainError):
    """An admin deactivated this account."""


class Conflict(DomainError):
    """A concurrent request changed the same data first; retrying may succeed."""


class AlreadyApplied(DomainError):
    """This nanny already applied to this job."""


class JobNotOpen(DomainError):
    """The job is closed: it takes no more applications or bookings."""


class NotJobOwner(DomainError):
    """Only the parent who posted the job may do this."""


class ApplicationNotPending(DomainError):
    """The application was already accepted or declined."""


class JobNotClosed(DomainError):
    """Reviews open once the job is booked (CLOSED)."""


class NotJobParty(DomainError):
    """Only the job's parent and its accepted nanny may review each other."""


class AlreadyReviewed(DomainError):
    """The caller already reviewed this job."""

"""The small, documented exception hierarchy the adapters turn into friendly answers."""
from __future__ import annotations


class GdprError(Exception):
    """A known, expected failure whose message is safe to show to staff (no personal data)."""


class UsageError(GdprError):
    """The command text could not be understood."""


class SubjectNotFound(GdprError):
    """No data subject matches the identity given."""


class AmbiguousSubject(GdprError):
    """Several subjects match; the caller must narrow it down (e.g. with a member number)."""

    def __init__(self, message: str, candidates: list) -> None:
        super().__init__(message)
        self.candidates = candidates


class NotAllowed(GdprError):
    """The user lacks the permission, or the four-eyes rule forbids the action."""


class AlreadyDecided(GdprError):
    """The request was already approved or rejected."""


class DuplicateRequest(GdprError):
    """An open request of the same kind already exists for this subject."""


class NotFound(GdprError):
    """What was asked about does not exist (or a button does not belong to anything)."""


class RequestNotFound(NotFound):
    """No subject request (or Art. 19 notice of one) has that id."""


class RunNotFound(NotFound):
    """No bulk run has that id."""


class BreachNotFound(NotFound):
    """No breach (or reminder of one) has that id."""


class GrantNotFound(NotFound):
    """No such access grant."""


class ConfigError(GdprError):
    """An operator-edited config file is invalid; the message names file, line and key."""


class NotEnded(GdprError):
    """The request has not ended: there is nothing to certify yet."""


class AlreadyInEffect(GdprError):
    """What was asked is already the platform's state (restricted already, nothing restricted to lift)."""

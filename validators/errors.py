"""The one error hierarchy of sendx.

Every failure a caller can act on is a ``SendxError``; subclasses say *what the caller can
do about it* (fix the input, authenticate, look elsewhere, retry differently).  The CLI and
the hub translate them once, at the edge, into exit codes and RFC 9457 problem responses,
so no other layer formats errors for users.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "InputError",
    "InvalidDocumentError",
    "NotAuthorisedError",
    "NotFoundError",
    "SendxError",
    "TooLargeError",
    "UnsupportedKindError",
]


class SendxError(Exception):
    """Base of every error sendx raises on purpose."""

    #: HTTP status the hub answers with; exit code the CLI uses.
    status: int = 500
    exit_code: int = 2
    #: Short machine-readable slug used in problem responses.
    code: str = "error"

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def diagnostics(self) -> str:
        """A plain-English explanation for a person: what, where, and how to fix it."""
        parts = [self.message]
        if self.where:
            parts.append(f"(at {self.where})")
        text = " ".join(parts)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_problem(self) -> dict[str, object]:
        """RFC 9457 problem details body."""
        problem: dict[str, object] = {
            "type": f"https://sendx.dev/problems/{self.code}",
            "title": self.code.replace("-", " "),
            "status": self.status,
            "detail": self.message,
        }
        if self.where:
            problem["instance"] = self.where
        if self.hint:
            problem["hint"] = self.hint
        return problem


class InputError(SendxError):
    """The input is malformed, unreadable or not what was expected: fix the input."""

    status = 400
    exit_code = 2
    code = "bad-input"


class TooLargeError(InputError):
    """The input exceeds a configured size or depth limit."""

    status = 413
    code = "too-large"


class UnsupportedKindError(InputError):
    """The document's kind could not be recognised or is not supported."""

    status = 422
    code = "unsupported-kind"


class InvalidDocumentError(InputError):
    """The document was read but breaks its standard: fix the document.

    Exit status 1, as ``sendx validate`` exits for an invalid document (2 is for usage and I/O).
    """

    status = 422
    exit_code = 1
    code = "invalid-document"


class NotAuthorisedError(SendxError):
    """No valid credentials: sign in or present a valid token or signature."""

    status = 401
    exit_code = 2
    code = "not-authorised"


class ForbiddenError(SendxError):
    """Authenticated, but not allowed to do this."""

    status = 403
    exit_code = 2
    code = "forbidden"


class NotFoundError(SendxError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404
    exit_code = 2
    code = "not-found"


class ConflictError(SendxError):
    """The request conflicts with the current state (e.g. an idempotency key reused)."""

    status = 409
    exit_code = 2
    code = "conflict"


class ConfigError(SendxError):
    """sendx is not configured correctly: fix the configuration or environment."""

    status = 500
    exit_code = 2
    code = "config"

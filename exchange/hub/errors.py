"""Hub-specific errors and the one place HTTP failures become RFC 9457 problem+json.

Every error response the API gives — our own ``SendxError``s, werkzeug's 404/405/413/415,
and any unexpected exception (500) — is a JSON problem document, never an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from sendx.validators.errors import ForbiddenError, SendxError
from sendx.validators.report import Report

__all__ = [
    "ForgedClaimError",
    "InvalidDocumentError",
    "StaleSignatureError",
    "TooManyAttemptsError",
    "UnknownRecipientError",
    "UnsupportedMediaError",
    "problem_headers",
    "problem_response",
]

log = logging.getLogger("sendx.hub")


class InvalidDocumentError(SendxError):
    """The document (or envelope) failed validation: the report says what to fix."""

    status = 422
    exit_code = 1
    code = "invalid-document"

    def __init__(self, report: Report, message: str | None = None) -> None:
        n = len(report.errors)
        super().__init__(message or f"the {report.kind or 'document'} is not valid ({n} error{'s' * (n != 1)})")
        self.report = report

    def to_problem(self) -> dict[str, object]:
        problem = super().to_problem()
        problem["kind"] = self.report.kind
        problem["issues"] = [i.to_dict() for i in self.report.issues]
        return problem


class ForgedClaimError(ForbiddenError):
    """A signed, valid document claims someone else's identity (a plan's LA, a CTF's source...)."""

    code = "claim-not-yours"


class StaleSignatureError(SendxError):
    """The envelope's signature is dated longer before the envelope was created than the hub allows."""

    status = 422
    exit_code = 1
    code = "stale-signature"


class TooManyAttemptsError(SendxError):
    """Too many unknown tokens from one address: wait ``retry_after`` seconds."""

    status = 429
    exit_code = 2
    code = "too-many-attempts"

    def __init__(self, message: str, *, retry_after: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class UnknownRecipientError(SendxError):
    status = 422
    exit_code = 2
    code = "unknown-recipient"


class UnsupportedMediaError(SendxError):
    status = 415
    exit_code = 2
    code = "unsupported-media-type"


def problem_headers(exc: SendxError) -> dict[str, str]:
    """The headers an error's answer carries: a Bearer challenge with a 401, Retry-After with a 429."""
    if exc.status == 401:
        return {"WWW-Authenticate": 'Bearer realm="sendx"'}
    if isinstance(exc, TooManyAttemptsError):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def problem_response(problem: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(problem), status=status, mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    slug = (exc.name or "error").lower().replace(" ", "-")
    problem = {
        "type": f"https://sendx.dev/problems/{slug}",
        "title": exc.name,
        "status": status,
        "detail": exc.description,
    }
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods or ())
    return problem_response(problem, status, headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SendxError)
    def _sendx(exc: SendxError) -> Response:
        return problem_response(exc.to_problem(), exc.status, problem_headers(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _http_problem(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http_problem(exc)
        # The details go to the server log only; the client learns nothing internal.
        log.exception("unhandled error")
        problem = {
            "type": "https://sendx.dev/problems/internal",
            "title": "internal error",
            "status": 500,
            "detail": "the hub hit an unexpected error; nothing was stored",
        }
        return problem_response(problem, 500)

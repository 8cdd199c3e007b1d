"""Small helpers every blueprint shares: the caller, the request body, JSON responses, and
the OpenAPI fragments each blueprint keeps beside its routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, g, json, request
from sqlalchemy.engine import Connection
from werkzeug.exceptions import RequestEntityTooLarge

from sendx.exchange.hub.errors import UnsupportedMediaError
from sendx.exchange.hub.service import Hub
from sendx.exchange.hub.service.policy import openapi_policy
from sendx.exchange.store.database import Participant
from sendx.validators.errors import InputError

__all__ = [
    "POSITIVE",
    "caller",
    "choice_param",
    "hub",
    "json_response",
    "op",
    "query_bool",
    "query_choice",
    "query_date",
    "query_int",
    "read_body",
    "with_policy",
]

JSON_TYPES = ("application/json",)


def hub() -> Hub:
    return current_app.extensions["sendx.hub"]


def caller(conn: Connection | None = None) -> Participant:
    """The authenticated participant (Bearer token), cached for the request; looked up on ``conn`` if given."""
    if "participant" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else None
        g.participant = hub().authenticate(bearer, conn=conn, address=request.remote_addr)
    return g.participant


def read_body(*, types: tuple[str, ...] = JSON_TYPES, suffix: str | None = "+json") -> bytes:
    """The raw body after a content-type check (415) and the size limit (413, enforced by Flask)."""
    mimetype = request.mimetype or ""
    if mimetype not in types and not (suffix and mimetype.startswith("application/") and mimetype.endswith(suffix)):
        raise UnsupportedMediaError(
            f"content type {mimetype or '(none)'!r} is not accepted here", hint=f"send {' or '.join(types)}"
        )
    data = request.get_data(cache=True)
    limit = request.max_content_length
    # When the server terminates the input (chunked uploads under gunicorn or werkzeug),
    # werkzeug stops reading at the limit and returns what it has: look for one byte more,
    # so an oversized body is a 413 and never a silently truncated document.
    terminated = request.environ.get("wsgi.input_terminated")
    if limit is not None and len(data) >= limit and terminated and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    if not data:
        raise InputError("the request body is empty")
    return data


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


#: Largest whole number a query parameter may carry: a signed 64-bit integer, what every
#: backend's columns and LIMIT/OFFSET hold (PostgreSQL refused more with a 500).
MAX_QUERY_INT = 2**63 - 1


def query_int(name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be a whole number", where=name) from None
    if value < minimum:
        raise InputError(f"query parameter {name!r} must be at least {minimum}", where=name)
    if value > MAX_QUERY_INT:
        raise InputError(f"query parameter {name!r} must be at most {MAX_QUERY_INT}", where=name)
    return value


def query_date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be a date (YYYY-MM-DD)", where=name) from None


def query_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    """A query parameter that names one of ``choices``; absent or empty is ``default``.

    Any other value is refused: read as "no filter" or as "matches nothing", a typo would
    come back as a plausible answer.
    """
    raw = request.args.get(name)
    if not raw:
        return default
    if raw not in choices:
        raise InputError(f"query parameter {name!r} must be one of: {', '.join(choices)}", where=name)
    return raw


def choice_param(name: str, choices: tuple[str, ...]) -> tuple[str, str, dict[str, Any], bool]:
    """The OpenAPI parameter for a ``query_choice`` parameter."""
    return (name, "query", {"type": "string", "enum": list(choices)}, False)


_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


def query_bool(name: str) -> bool:
    """A yes/no query parameter (``true``/``false``, ``1``/``0``, ``yes``/``no``); absent or empty is no."""
    raw = (request.args.get(name) or "").lower()
    if raw and raw not in _TRUE + _FALSE:
        raise InputError(f"query parameter {name!r} must be true or false", where=name)
    return raw in _TRUE


# --------------------------------------------------------------------------- OpenAPI fragments

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def op(
    summary: str,
    *,
    tag: str,
    ok: int = 200,
    body: str | None = None,
    params: tuple[tuple[str, str, str | dict[str, Any], bool], ...] = (),
    errors: tuple[int, ...] = (400, 401, 403),
    auth: bool = True,
    content: str = "application/json",
) -> dict[str, Any]:
    """One OpenAPI operation: ``params`` are (name, in, JSON type, "date" or a schema, required)."""
    out: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "operationId": summary.lower().replace(" ", "_").replace("'", "").replace("$", ""),
        "responses": {str(ok): {"description": "success", "content": {content: {"schema": _success_schema(content)}}}},
    }
    # An operation that reads a token may be refused with 429 (``service.throttle``).
    for code in sorted(set(errors) | {500} | ({429} if auth else set())):
        out["responses"][str(code)] = _PROBLEM
    if not auth:
        out["security"] = []
    if params:
        out["parameters"] = [_param(*p) for p in params]
    if body:
        out["requestBody"] = {"required": True, "content": _body_content(body)}
        out["responses"].setdefault("413", _PROBLEM)
        out["responses"].setdefault("415", _PROBLEM)
    return out


def with_policy(operation: dict[str, Any], route: str) -> dict[str, Any]:
    """``operation`` with its rows of the sender policy: ``x-sendx-policy``, and a line saying so."""
    note = (
        "Who may send which kind, and which claims inside the document must be the sender's own "
        "registered identity (refused with 403 claim-not-yours): x-sendx-policy."
    )
    return {**operation, "description": note, "x-sendx-policy": openapi_policy(route)}


def _success_schema(content: str) -> dict[str, Any]:
    return {"type": "object"} if content.endswith("json") else {"type": "string"}


#: A query parameter's schema for counts that start at one (page sizes, tree sizes).
POSITIVE: dict[str, Any] = {"type": "integer", "minimum": 1}


def _param(name: str, where: str, kind: str | dict[str, Any], required: bool) -> dict[str, Any]:
    if isinstance(kind, dict):
        schema = dict(kind)
    else:
        schema = {"type": "string", "format": "date"} if kind == "date" else {"type": kind}
    if schema.get("type") == "integer":  # what query_int accepts
        schema.setdefault("minimum", 0)
        schema.setdefault("maximum", MAX_QUERY_INT)
    required = required or where == "path"
    if where == "query" and not required and schema != {"type": "string"}:
        # The hub reads an empty value (``?limit=``) as the parameter left out (query_int, query_date...).
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}]}
    return {"name": name, "in": where, "required": required, "schema": schema}


def _body_content(body: str) -> dict[str, Any]:
    if body == "document":
        # Any JSON or XML: what is not a valid sendx document gets a report saying so (200).
        return {
            "application/json": {"schema": {"description": "any JSON document"}},
            "application/xml": {"schema": {"type": "string"}},
        }
    if body == "fhir":
        return {
            "application/fhir+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        }
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}

"""Small helpers every blueprint shares: the caller, the request body, JSON responses, and
the OpenAPI fragments each blueprint keeps beside its routes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, g, json, request

from exchange.hub.errors import UnsupportedMediaError
from exchange.hub.service import Hub
from exchange.store import Participant
from validators.errors import InputError

__all__ = ["caller", "hub", "json_response", "op", "query_date", "query_int", "read_body"]

JSON_TYPES = ("application/json",)


def hub() -> Hub:
    return current_app.extensions["sendx.hub"]


def caller() -> Participant:
    """The authenticated participant (Bearer token), cached for the request."""
    if "participant" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.participant = hub().authenticate(token.strip() if scheme.lower() == "bearer" else None)
    return g.participant


def read_body(*, types: tuple[str, ...] = JSON_TYPES, suffix: str | None = "+json") -> bytes:
    """The raw body after a content-type check (415) and the size limit (413, enforced by Flask)."""
    mimetype = request.mimetype or ""
    if mimetype not in types and not (suffix and mimetype.startswith("application/") and mimetype.endswith(suffix)):
        raise UnsupportedMediaError(
            f"content type {mimetype or '(none)'!r} is not accepted here", hint=f"send {' or '.join(types)}"
        )
    data = request.get_data(cache=True)
    if not data:
        raise InputError("the request body is empty")
    return data


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


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
    return value


def query_date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be a date (YYYY-MM-DD)", where=name) from None


# --------------------------------------------------------------------------- OpenAPI fragments

_PROBLEM = {"$ref": "#/components/responses/Problem"}


def op(
    summary: str,
    *,
    tag: str,
    ok: int = 200,
    body: str | None = None,
    params: tuple[tuple[str, str, str, bool], ...] = (),
    errors: tuple[int, ...] = (400, 401, 403),
    auth: bool = True,
    content: str = "application/json",
) -> dict[str, Any]:
    """One OpenAPI operation: ``params`` are (name, in, JSON type or format, required)."""
    out: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "operationId": summary.lower().replace(" ", "_").replace("'", "").replace("$", ""),
        "responses": {str(ok): {"description": "success", "content": {content: {"schema": _success_schema(content)}}}},
    }
    for code in sorted(set(errors) | {500}):
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


def _success_schema(content: str) -> dict[str, Any]:
    return {"type": "object"} if content.endswith("json") else {"type": "string"}


def _param(name: str, where: str, kind: str, required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "format": "date"} if kind == "date" else {"type": kind}
    if kind == "integer":
        schema["minimum"] = 0
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _body_content(body: str) -> dict[str, Any]:
    if body == "document":
        return {
            "application/json": {"schema": {"type": "object"}},
            "application/xml": {"schema": {"type": "string"}},
        }
    if body == "fhir":
        return {
            "application/fhir+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        }
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}

"""Validation as a service (``/v1/validate``): the same report ``sendx validate --format json`` gives."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx import validators
from sendx.exchange.hub.api._http import caller, json_response, op, read_body
from sendx.validators.kinds import all_kinds

bp = Blueprint("validate", __name__)
DOCUMENT_TYPES = ("application/json", "application/xml", "text/xml", "application/fhir+json")
_KINDS = sorted(k.name for k in all_kinds())


@bp.post("/v1/validate")
def validate() -> Response:
    caller()
    body = read_body(types=DOCUMENT_TYPES, suffix="+json")
    report = validators.validate(body, request.args.get("kind") or None)
    return json_response(report.to_dict())


OPENAPI = {
    "/v1/validate": {
        "post": op(
            "Validate a document",
            tag="validation",
            body="document",
            params=(("kind", "query", {"type": "string", "enum": _KINDS}, False),),
            errors=(400, 401),
        )
    }
}

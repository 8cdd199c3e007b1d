"""FHIR ``$validate`` (``/fhir/$validate``): a FHIR OperationOutcome for a resource or Parameters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json

from sendx import validators
from sendx.exchange.hub.api._http import caller, op, read_body
from sendx.validators.errors import InputError
from sendx.validators.formats import operation_outcome
from sendx.validators.parsing import load_json

bp = Blueprint("fhir", __name__)


@bp.post("/fhir/$validate")
def validate() -> Response:
    caller()
    resource = _resource(load_json(read_body(types=("application/fhir+json", "application/json"))))
    report = validators.validate(resource)
    return Response(json.dumps(operation_outcome([report])), 200, mimetype="application/fhir+json")


def _resource(doc: Any) -> dict[str, Any]:
    """The resource to check: the body itself, or the "resource" parameter of a Parameters body.

    FHIR lets ``$validate`` take the resource bare or inside Parameters; a Parameters without
    a "resource" parameter is checked as itself.
    """
    if not isinstance(doc, dict):
        raise InputError(f"a FHIR resource is a JSON object, not {type(doc).__name__}")
    if doc.get("resourceType") != "Parameters":
        return doc
    params = doc.get("parameter", [])
    if not isinstance(params, list):
        raise InputError("Parameters.parameter must be a list", where="Parameters.parameter")
    for n, param in enumerate(params):
        if isinstance(param, dict) and param.get("name") == "resource":
            if not isinstance(param.get("resource"), dict):
                raise InputError(
                    'the "resource" parameter must carry a resource (a JSON object)',
                    where=f"Parameters.parameter[{n}].resource",
                )
            return param["resource"]
    return doc


OPENAPI = {
    "/fhir/$validate": {
        "post": op("FHIR validate", tag="fhir", body="fhir", content="application/fhir+json", errors=(400, 401)),
    }
}

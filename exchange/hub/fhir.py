"""FHIR ``$validate`` (``/fhir/$validate``): a FHIR OperationOutcome for a resource or Parameters."""

from __future__ import annotations

from flask import Blueprint, Response, json

import validators
from exchange.hub._http import caller, op, read_body
from validators.formats import operation_outcome
from validators.parsing import load_json

bp = Blueprint("fhir", __name__)


@bp.post("/fhir/$validate")
def validate() -> Response:
    caller()
    doc = load_json(read_body(types=("application/fhir+json", "application/json")))
    # FHIR lets $validate take the resource bare or inside Parameters (parameter "resource").
    if isinstance(doc, dict) and doc.get("resourceType") == "Parameters":
        doc = next((p.get("resource") for p in doc.get("parameter", []) if p.get("name") == "resource"), doc)
    report = validators.validate(doc)
    return Response(json.dumps(operation_outcome([report])), 200, mimetype="application/fhir+json")


OPENAPI = {
    "/fhir/$validate": {
        "post": op("FHIR validate", tag="fhir", body="fhir", content="application/fhir+json", errors=(400, 401)),
    }
}

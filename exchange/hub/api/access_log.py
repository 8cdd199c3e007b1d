"""The access log (``/v1/access-log``): who read which document when, for the LAs involved."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx.exchange.hub.api._http import POSITIVE, caller, hub, json_response, op, query_int

bp = Blueprint("access_log", __name__)


@bp.get("/v1/access-log")
def access_log() -> Response:
    who = caller()
    body = hub().access_log(
        who,
        transfer=request.args.get("transfer") or None,
        limit=query_int("limit", 100, minimum=1) or 100,
        offset=query_int("offset", 0) or 0,
    )
    return json_response(body)


OPENAPI = {
    "/v1/access-log": {
        "get": op(
            "Read the access log",
            tag="audit",
            params=(
                ("transfer", "query", "string", False),
                ("limit", "query", POSITIVE, False),
                ("offset", "query", "integer", False),
            ),
        )
    }
}

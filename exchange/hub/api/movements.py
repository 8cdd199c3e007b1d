"""Movement events (``/v1/movements``): record explicit events; list those in your scope."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx.exchange.hub.api._http import (
    POSITIVE,
    caller,
    hub,
    json_response,
    op,
    query_bool,
    query_date,
    query_int,
    read_body,
)

bp = Blueprint("movements", __name__)
TAG = "movements"


@bp.post("/v1/movements")
def record() -> Response:
    who = caller()
    result = hub().record_movement(who, read_body())
    return json_response(result.body, result.status)


@bp.get("/v1/movements")
def list_movements() -> Response:
    who = caller()
    body = hub().movements(
        who,
        type=request.args.get("type") or None,
        date_from=query_date("from"),
        date_to=query_date("to"),
        ap=query_bool("ap"),
        upn=request.args.get("upn") or None,
        limit=query_int("limit", 100, minimum=1) or 100,
        after=request.args.get("after") or None,
    )
    return json_response(body)


OPENAPI = {
    "/v1/movements": {
        "post": op("Record a movement", tag=TAG, ok=201, body="Movement", errors=(400, 401, 403, 409, 422)),
        "get": op(
            "List movements",
            tag=TAG,
            params=(
                ("type", "query", "string", False),
                ("from", "query", "date", False),
                ("to", "query", "date", False),
                ("ap", "query", "boolean", False),
                ("upn", "query", "string", False),
                ("limit", "query", POSITIVE, False),
                ("after", "query", "string", False),
            ),
        ),
    }
}

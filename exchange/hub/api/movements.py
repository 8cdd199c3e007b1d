"""Movement events (``/v1/movements``): record explicit events; list those in your scope."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx.exchange.audit.figures import movements_csv_lines
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
    with_policy,
)
from sendx.exchange.hub.service.policy import MOVEMENTS
from sendx.exchange.store import utcnow
from sendx.schemas import codelist_codes

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


@bp.get("/v1/movements/export")
def export() -> Response:
    """An LA's area as CSV — what the LA pages' CSV link gives — streamed as it is read."""
    rows = hub().area_export(caller(), request.args)
    name = f"sendx-movements-{utcnow().date().isoformat()}.csv"
    return Response(
        movements_csv_lines(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


#: The code lists the filters take, as the schemas of their parameters.
MOVEMENT_TYPE = {"type": "string", "enum": sorted(codelist_codes("movement-types"))}
SETTING_TYPE = {"type": "string", "enum": sorted(codelist_codes("setting-types"))}

OPENAPI = {
    "/v1/movements": {
        "post": with_policy(
            op("Record a movement", tag=TAG, ok=201, body="Movement", errors=(400, 401, 403, 409, 422)), MOVEMENTS
        ),
        "get": op(
            "List movements",
            tag=TAG,
            params=(
                ("type", "query", MOVEMENT_TYPE, False),
                ("from", "query", "date", False),
                ("to", "query", "date", False),
                ("ap", "query", "boolean", False),
                ("upn", "query", "string", False),
                ("limit", "query", POSITIVE, False),
                ("after", "query", "string", False),
            ),
        ),
    },
    "/v1/movements/export": {
        "get": op(
            "Export movements as CSV",
            tag=TAG,
            content="text/csv",
            params=(
                ("from", "query", "date", False),
                ("to", "query", "date", False),
                ("type", "query", MOVEMENT_TYPE, False),
                ("setting", "query", "string", False),
                ("settingType", "query", SETTING_TYPE, False),
                ("ap", "query", "boolean", False),
                ("unknown", "query", "boolean", False),
            ),
        )
    },
}

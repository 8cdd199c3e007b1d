"""The recipient's inbox (``/v1/inbox``): newest first, keyset-paged."""

from __future__ import annotations

from flask import Blueprint, Response, request

from exchange.hub._http import POSITIVE, caller, hub, json_response, op, query_int

bp = Blueprint("inbox", __name__)


@bp.get("/v1/inbox")
def inbox() -> Response:
    limit = query_int("limit", 50, minimum=1) or 50
    body = hub().inbox(caller(), limit=limit, cursor=request.args.get("cursor"), status=request.args.get("status"))
    return json_response(body)


OPENAPI = {
    "/v1/inbox": {
        "get": op(
            "List my inbox",
            tag="transfers",
            params=(
                ("limit", "query", POSITIVE, False),
                ("cursor", "query", "string", False),
                ("status", "query", "string", False),
            ),
            errors=(400, 401),
        )
    }
}

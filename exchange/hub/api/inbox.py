"""The recipient's inbox (``/v1/inbox``): newest first, keyset-paged."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx.exchange.hub.api._http import POSITIVE, caller, choice_param, hub, json_response, op, query_choice, query_int

bp = Blueprint("inbox", __name__)
#: ``status`` filter values: what a transfer in an inbox can be (left out: every one).
STATUSES = ("delivered", "acked")


@bp.get("/v1/inbox")
def inbox() -> Response:
    limit = query_int("limit", 50, minimum=1) or 50
    status = query_choice("status", STATUSES)
    body = hub().inbox(caller(), limit=limit, cursor=request.args.get("cursor"), status=status)
    return json_response(body)


OPENAPI = {
    "/v1/inbox": {
        "get": op(
            "List my inbox",
            tag="transfers",
            params=(
                ("limit", "query", POSITIVE, False),
                ("cursor", "query", "string", False),
                choice_param("status", STATUSES),
            ),
            errors=(400, 401),
        )
    }
}

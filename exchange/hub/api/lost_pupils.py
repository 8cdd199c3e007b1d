"""The lost-pupil pool (``/v1/lost-pupils``): LAs search by UPN and redirect to a school."""

from __future__ import annotations

from flask import Blueprint, Response, request

from sendx.exchange.hub.api._http import (
    caller,
    choice_param,
    hub,
    json_response,
    op,
    query_choice,
    read_body,
    with_policy,
)
from sendx.exchange.hub.service.policy import LOST_PUPIL_REDIRECT
from sendx.validators.errors import InputError
from sendx.validators.parsing import load_json

bp = Blueprint("lost_pupils", __name__)
TAG = "lost-pupils"
#: ``status`` filter values: a pool entry is open until an LA redirects it.
STATUSES = ("open", "redirected", "all")


@bp.get("/v1/lost-pupils")
def search() -> Response:
    status = query_choice("status", STATUSES, "open")
    return json_response(
        hub().lost_pupils(caller(), upn=request.args.get("upn"), status=None if status == "all" else status)
    )


@bp.post("/v1/lost-pupils/<lid>/redirect")
def redirect(lid: str) -> Response:
    who = caller()
    data = load_json(read_body())
    if not isinstance(data, dict) or not isinstance(data.get("recipient"), str):
        raise InputError('the body must be {"recipient": "<participant id, LAESTAB or URN>"}')
    result = hub().redirect_lost_pupil(who, lid, data["recipient"])
    return json_response(result.body, result.status)


OPENAPI = {
    "/v1/lost-pupils": {
        "get": op(
            "Search the lost-pupil pool",
            tag=TAG,
            params=(("upn", "query", "string", False), choice_param("status", STATUSES)),
        )
    },
    "/v1/lost-pupils/{lid}/redirect": {
        "post": with_policy(
            op(
                "Redirect a lost pupil",
                tag=TAG,
                ok=201,
                body="Redirect",
                params=(("lid", "path", "string", True),),
                errors=(400, 401, 403, 404, 409, 422),
            ),
            LOST_PUPIL_REDIRECT,
        )
    },
}

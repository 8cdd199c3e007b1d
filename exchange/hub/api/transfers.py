"""Transfers: send an envelope, read one, acknowledge it (``/v1/transfers``)."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from sendx.exchange.hub.api._http import caller, hub, json_response, op, read_body, with_policy
from sendx.exchange.hub.service.policy import TRANSFERS

bp = Blueprint("transfers", __name__)
TAG = "transfers"


@bp.post("/v1/transfers")
def send() -> Response:
    # The body is read between the token lookup and the upload, holding no pooled connection:
    # a client sending it slowly keeps a greenlet waiting, never one of the pool's connections.
    who = caller()
    body = read_body()
    with hub().store.connection() as conn:
        result = hub().submit_transfer(who, body, conn=conn)
    headers = {"Location": url_for("transfers.get", tid=result.body["id"])}
    if not result.created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(result.body, result.status, headers)


@bp.get("/v1/transfers/<tid>")
def get(tid: str) -> Response:
    return json_response(hub().get_transfer(caller(), tid), headers={"Cache-Control": "no-store"})


@bp.post("/v1/transfers/<tid>/ack")
def ack(tid: str) -> Response:
    return json_response(hub().ack(caller(), tid))


_ID = (("tid", "path", "string", True),)
OPENAPI = {
    "/v1/transfers": {
        "post": with_policy(
            op("Send a transfer", tag=TAG, ok=201, body="Envelope", errors=(400, 401, 403, 409, 422)), TRANSFERS
        ),
    },
    "/v1/transfers/{tid}": {"get": op("Fetch a transfer", tag=TAG, params=_ID, errors=(401, 404))},
    "/v1/transfers/{tid}/ack": {"post": op("Acknowledge a transfer", tag=TAG, params=_ID, errors=(401, 403, 404))},
}

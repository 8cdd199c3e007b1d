"""Participants, their public keys and API tokens (``/v1/participants``); writes are admin-only."""

from __future__ import annotations

from flask import Blueprint, Response

from sendx.exchange.hub.api._http import caller, hub, json_response, op, read_body
from sendx.validators.errors import ForbiddenError, InputError
from sendx.validators.parsing import load_json

bp = Blueprint("participants", __name__)
TAG = "participants"


def _admin() -> None:
    if caller().role != "admin":
        raise ForbiddenError("only a hub admin can do this")


@bp.get("/v1/participants/me")
def me() -> Response:
    return json_response(caller().to_dict())


@bp.get("/v1/participants")
def list_participants() -> Response:
    _admin()
    return json_response({"items": hub().list_participants()})


@bp.post("/v1/participants")
def add_participant() -> Response:
    _admin()
    data = load_json(read_body())
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("id", "role", "name")):
        raise InputError('the body must be {"id", "role", "name", ...identifiers}')
    extra = {k: data.get(k) for k in ("la", "urn", "laestab", "ukprn", "ods") if data.get(k) is not None}
    if not all(isinstance(v, str) for v in extra.values()):
        raise InputError("identifiers must be strings")
    return json_response(hub().add_participant(data["id"], data["role"], data["name"], **extra), 201)


@bp.get("/v1/participants/<pid>/keys")
def keys(pid: str) -> Response:
    caller()  # public keys are readable by every participant (to verify signatures)
    return json_response({"participant": pid, "keys": hub().keys(pid)})


@bp.get("/v1/keys")
def all_keys() -> Response:
    caller()  # like one participant's keys: every participant may verify anyone's signature
    return json_response({"participants": hub().all_keys()})


@bp.post("/v1/participants/<pid>/keys")
def add_key(pid: str) -> Response:
    _admin()
    jwk = load_json(read_body(types=("application/json", "application/jwk+json")))
    if not isinstance(jwk, dict):
        raise InputError("the body must be a public JWK object")
    return json_response(hub().add_key(pid, jwk), 201)


@bp.post("/v1/participants/<pid>/keys/<kid>/revoke")
def revoke_key(pid: str, kid: str) -> Response:
    _admin()
    return json_response(hub().revoke_key(kid, participant_id=pid))


@bp.post("/v1/participants/<pid>/tokens")
def new_token(pid: str) -> Response:
    _admin()
    return json_response({"participant": pid, "token": hub().new_token(pid)}, 201, {"Cache-Control": "no-store"})


_ID = (("pid", "path", "string", True),)
OPENAPI = {
    "/v1/participants/me": {"get": op("Who am I", tag=TAG, errors=(401,))},
    "/v1/participants": {
        "get": op("List participants", tag=TAG),
        "post": op("Register a participant", tag=TAG, ok=201, body="Participant", errors=(400, 401, 403, 409)),
    },
    "/v1/participants/{pid}/keys": {
        "get": op("List a participant's public keys", tag=TAG, params=_ID, errors=(401, 404)),
        "post": op("Register a public key", tag=TAG, ok=201, body="JWK", params=_ID, errors=(400, 401, 403, 404, 409)),
    },
    "/v1/keys": {"get": op("List every participant's public keys", tag=TAG, errors=(401,))},
    "/v1/participants/{pid}/keys/{kid}/revoke": {
        "post": op("Revoke a key", tag=TAG, params=(*_ID, ("kid", "path", "string", True)), errors=(401, 403, 404)),
    },
    "/v1/participants/{pid}/tokens": {
        "post": op("Issue an API token", tag=TAG, ok=201, params=_ID, errors=(401, 403, 404)),
    },
}

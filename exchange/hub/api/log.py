"""The movement log's public face (``/v1/log/...``): signed checkpoints, entries, proofs, receipts.

Anyone holding a participant token can audit the log; a leaf carries a salted commitment and
the LA codes the movement touches, never its details (``sendx.exchange.log.leaves``).  Proofs
are RFC 9162 hash lists (base64); checkpoints are C2SP signed notes; a receipt is a C2SP
tlog-proof (``sendx.exchange.log.receipt``): one entry's inclusion proof bundled with the signed
checkpoint it leads to, checkable offline with the hub's log key alone.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, request

from sendx.exchange.hub.api._http import POSITIVE, caller, hub, json_response, op, query_int
from sendx.exchange.log.receipt import opening_extra
from sendx.exchange.store.lognodes import open_log
from sendx.validators.errors import InputError, NotFoundError

bp = Blueprint("log", __name__)
TAG = "log"
_MAX_ENTRIES = 1000


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(x).decode("ascii") for x in items]


def _previous() -> bool:
    """``?log=previous``: the frozen log the hub kept before leaf format 2 (its checkpoints still hold)."""
    which = request.args.get("log") or "current"
    if which not in ("current", "previous"):
        raise InputError("query parameter 'log' is 'current' or 'previous'", where="log")
    if which == "previous" and hub().previous_origin is None:
        raise NotFoundError("this hub has no previous log")
    return which == "previous"


def _origin(previous: bool) -> str:
    h = hub()
    return str(h.previous_origin) if previous else h.log_origin


@bp.get("/v1/log/checkpoint")
def checkpoint() -> Response:
    caller()
    h, previous = hub(), _previous()
    with h.store.read() as s:
        log = open_log(s, previous=previous)
        signed = log.checkpoint(h.log_signer, _origin(previous))
        size = log.size
    body = {"checkpoint": signed, "size": size, "origin": _origin(previous), "verifier": h.log_verifier}
    if h.previous_origin is not None and not previous:
        body["previous"] = h.previous_origin  # this log replaced one: ?log=previous serves it
    return json_response(body)


@bp.get("/v1/log/entries")
def entries() -> Response:
    caller()
    start = query_int("start", 0) or 0
    end = query_int("end")
    previous = _previous()
    with hub().store.read() as s:
        log = open_log(s, previous=previous)
        end = min(log.size if end is None else end, start + _MAX_ENTRIES, log.size)
        if start > end:
            raise InputError(f"start {start} is beyond the log's end ({log.size})", where="start")
        leaves = log.entries(start, end)
    return json_response({"start": start, "end": end, "entries": _b64(leaves)})


@bp.get("/v1/log/proof/inclusion")
def inclusion() -> Response:
    caller()
    index = query_int("index")
    size = query_int("size")
    if index is None:
        raise InputError("query parameter 'index' is required", where="index")
    previous = _previous()
    with hub().store.read() as s:
        log = open_log(s, previous=previous)
        size = log.size if size is None else size
        if not 0 <= index < size:
            raise InputError(f"index {index} is not inside a tree of size {size}", where="index")
        proof = log.inclusion_proof(index, size)
    return json_response({"index": index, "size": size, "proof": _b64(proof)})


@bp.get("/v1/log/proof/consistency")
def consistency() -> Response:
    caller()
    first = query_int("first", minimum=1)
    second = query_int("second", minimum=1)
    if first is None:
        raise InputError("query parameter 'first' is required", where="first")
    previous = _previous()
    with hub().store.read() as s:
        log = open_log(s, previous=previous)
        second = log.size if second is None else second
        if first > second:
            raise InputError(f"first ({first}) must not exceed second ({second})", where="first")
        proof = log.consistency_proof(first, second)
    return json_response({"first": first, "second": second, "proof": _b64(proof)})


@bp.get("/v1/log/receipt")
def receipt() -> Response:
    """The offline receipt for the entry at ``index`` (every 201 from the hub names its log index);
    for a participant in the movement's scope it opens the entry (event and salt)."""
    who = caller()
    index = query_int("index")
    if index is None:
        raise InputError("query parameter 'index' is required", where="index")
    h = hub()
    opening = h.movement_opening(who, index)  # the event and salt, for a participant in scope only
    extra = opening_extra(opening["event"], opening["salt"], opening["leaf"]) if opening else None
    with h.store.read() as s:
        log = open_log(s)
        size = log.size
        if index >= size:
            raise InputError(f"index {index} is not in the log (it holds {size} entries)", where="index")
        text = log.receipt(index, log.checkpoint(h.log_signer, h.log_origin, size), size, extra)
    resp = Response(text, mimetype="text/plain")
    if request.args.get("download") is not None:
        resp.headers["Content-Disposition"] = f'attachment; filename="sendx-log-{index}.tlog-proof"'
    return resp


_LOG_PARAM = ("log", "query", {"type": "string", "enum": ["current", "previous"]}, False)

OPENAPI = {
    "/v1/log/checkpoint": {
        "get": op("Latest signed checkpoint", tag=TAG, params=(_LOG_PARAM,), errors=(400, 401, 404))
    },
    "/v1/log/entries": {
        "get": op(
            "Log entries",
            tag=TAG,
            params=(("start", "query", "integer", False), ("end", "query", "integer", False), _LOG_PARAM),
            errors=(400, 401, 404),
        )
    },
    "/v1/log/proof/inclusion": {
        "get": op(
            "Inclusion proof",
            tag=TAG,
            params=(("index", "query", "integer", True), ("size", "query", "integer", False), _LOG_PARAM),
            errors=(400, 401, 404),
        )
    },
    "/v1/log/receipt": {
        "get": op(
            "Offline receipt",
            tag=TAG,
            params=(("index", "query", "integer", True), ("download", "query", "string", False)),
            errors=(400, 401),
            content="text/plain",
        )
    },
    "/v1/log/proof/consistency": {
        "get": op(
            "Consistency proof",
            tag=TAG,
            params=(("first", "query", POSITIVE, True), ("second", "query", POSITIVE, False), _LOG_PARAM),
            errors=(400, 401, 404),
        )
    },
}

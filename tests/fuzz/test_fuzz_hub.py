"""Fuzzing the hub through the Flask test client: random requests, and signed envelopes of mutated documents.

Property: whatever arrives — any method, path, query string, headers and body, with no
token, a wrong one or a participant's real one — the hub answers below 500 and every
error is an RFC 9457 problem document whose ``status`` is the response's.  Random bytes
mostly stop at the door (401, 404, 415), so the deeper tests send what a real client
would: envelopes properly signed by a registered participant around mutated documents
(every kind, CTFs included), movement events recorded by the caller itself, and admin
writes, which reach validation, routing, storage and the log.  On SQLite and, when
``SENDX_TEST_POSTGRES_URL`` is set, PostgreSQL (which refuses text SQLite accepts).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from hub_helpers import Actor, envelope, movement, post_json
from hypothesis import given
from hypothesis import strategies as st

from sendx.exchange.hub.api.openapi import build_openapi
from sendx.exchange.hub.app import BLUEPRINT_MODULES
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators.errors import SendxError
from tests.fuzz.fuzzkit import (
    NASTY_STRINGS,
    fuzz,
    guarded,
    json_bases,
    json_values,
    mutated_json,
    mutated_xml,
    nasty_text,
)

SPEC = build_openapi(list(BLUEPRINT_MODULES))["paths"]
OPERATIONS = sorted((path, method.upper()) for path, ops in SPEC.items() for method in ops)
#: Every documented query parameter, so random query strings hit the hub's parsers.
PARAMS = sorted({p["name"] for ops in SPEC.values() for o in ops.values() for p in o.get("parameters", [])})
CONTENT_TYPES = [
    None,
    "application/json",
    "application/fhir+json",
    "application/jwk+json",
    "application/xml",
    "text/xml",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "application/evil+json",
]
SENDERS = ["school-145832", "school-145833", "ap-103614", "college-10001234", "la-330", "health-RXH"]
DOCUMENTS = {kind: json_bases(kind) for kind in ("ehcp", "passport", "movement", "health-advice")}
#: CTFs from the cast's school-145832 (LAESTAB 3304001), so that sending them is allowed.
CTF = [
    synthetic_ctf(n, seed=5, source_laestab="3304001", source_urn="145832", dest_laestab=dest, sen_rate=0.5)
    for n, dest in ((2, "3304002"), (1, "XXXXXXX"))
]
values = nasty_text | st.integers(-(2**70), 2**70).map(str) | st.dates().map(str)


@pytest.fixture
def seeded(client, world) -> dict[str, list[str]]:
    """Ids for the path parameters: participants, keys, one delivered transfer and one lost pupil."""
    school, la = world["school-145832"], world["la-330"]
    sent = post_json(client, "/v1/transfers", envelope(school, "school-145833", movement(), "movement"), school)
    assert sent.status_code == 201, sent.json
    lost = post_json(client, "/v1/transfers", envelope(school, "XXXXXXX", CTF[1].decode(), "ctf"), school)
    assert lost.status_code == 201, lost.json
    pool = client.get("/v1/lost-pupils", headers=la.headers).json["items"]
    return {
        "pid": list(world),
        "kid": [a.key.kid for a in world.values()],
        "tid": [sent.json["id"]],
        "lid": [p["id"] for p in pool],
    }


def check_response(r: Any, caplog: pytest.LogCaptureFixture, method: str) -> None:
    assert r.status_code < 500, f"{r.status_code} {r.get_data(as_text=True)[:300]}\n{caplog.text[-4000:]}"
    if 300 <= r.status_code < 400:  # werkzeug's redirect of a path with doubled slashes
        assert r.headers["Location"]
        return
    if method == "HEAD":
        return
    body = r.get_data()
    if method == "OPTIONS" and r.status_code == 200:  # Flask's own answer: the methods, no body
        assert r.headers["Allow"] and not body
        return
    if r.status_code >= 400:
        assert r.mimetype == "application/problem+json", r.mimetype
        assert json.loads(body)["status"] == r.status_code
    else:
        assert r.mimetype in ("application/json", "application/fhir+json"), r.mimetype
        json.loads(body)


def _send(client: Any, caplog: pytest.LogCaptureFixture, target: str, method: str, url: str, **kw: Any) -> None:
    caplog.clear()
    r = guarded(target, client.open, url, method=method, **kw)
    assert not isinstance(r, SendxError), r  # the hub turns its own errors into responses
    check_response(r, caplog, method)


@st.composite
def requests(draw: st.DrawFn, ids: dict[str, list[str]], tokens: list[str]) -> dict[str, Any]:
    """Any request: a documented operation most of the time, with random parameters, headers and body."""
    if draw(st.integers(0, 9)):
        template, method = draw(st.sampled_from(OPERATIONS))
    else:
        template = "/" + draw(st.text(max_size=30))
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
    path = template
    for name in ("pid", "kid", "tid", "lid"):
        if "{" + name + "}" in path:
            value = draw(st.sampled_from(ids[name]) | values)
            path = path.replace("{" + name + "}", urllib.parse.quote(value, safe=""))
    query = draw(st.dictionaries(st.sampled_from(PARAMS) | st.text(max_size=8), values, max_size=4))
    token = draw(st.sampled_from([None, *tokens]) | st.sampled_from(NASTY_STRINGS))
    headers = {}
    if token is not None:
        scheme = draw(st.sampled_from(["Bearer", "bearer", "Basic", ""]))
        # Header values are latin-1 on the wire and cannot hold line breaks.
        value = f"{scheme} {token}".encode("utf-8", "replace").decode("latin-1")
        headers["Authorization"] = value.replace("\r", "").replace("\n", "")
    body = draw(st.none() | st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
    return {
        "method": method,
        "url": path + ("?" + urllib.parse.urlencode(query) if query else ""),
        "headers": headers,
        "data": body,
        "content_type": draw(st.sampled_from(CONTENT_TYPES)),
    }


@fuzz()
@given(data=st.data())
def test_random_requests(client, world, seeded, caplog, data: st.DataObject) -> None:
    req = data.draw(requests(seeded, [a.token for a in world.values()]), label="request")
    _send(client, caplog, "hub: random request", req.pop("method"), req.pop("url"), **req)


@st.composite
def signed_envelopes(draw: st.DrawFn, world: dict[str, Actor]) -> tuple[Actor, dict[str, Any] | bytes]:
    """A participant and an envelope it signed around a mutated document (sometimes damaged after)."""
    sender = world[draw(st.sampled_from(SENDERS))]
    kind = draw(st.sampled_from([*DOCUMENTS, "ctf"]))
    if kind == "ctf":
        document: Any = draw(mutated_xml(CTF)).decode("utf-8", "replace")
    else:
        document = draw(mutated_json(DOCUMENTS[kind]) if draw(st.booleans()) else st.sampled_from(DOCUMENTS[kind]))
    if kind == "movement" and isinstance(document, dict):
        document = {**document, "eventId": f"MV-{draw(st.integers(0, 10**9))}"}
    recipient = draw(st.sampled_from([*world, "XXXXXXX", "MMMMMMM", "3304002", "145833"]) | nasty_text)
    try:
        env = envelope(sender, recipient, document, draw(st.sampled_from([kind, kind, "ehcp", "ctf", "other"])))
    except SendxError:  # a document that cannot be canonicalised cannot be signed: send it unsigned
        return sender, json.dumps({"sender": sender.id, "recipient": recipient, "document": document}).encode()
    if draw(st.integers(0, 3)) == 0:
        env = draw(mutated_json([env], max_ops=2))
    return sender, env


@fuzz(scale=1.5)
@given(data=st.data())
def test_signed_transfers(client, world, caplog, data: st.DataObject) -> None:
    sender, env = data.draw(signed_envelopes(world), label="envelope")
    body = env if isinstance(env, bytes) else json.dumps(env).encode()
    _send(client, caplog, "hub: signed transfer", "POST", "/v1/transfers", data=body,
          content_type="application/json", headers=sender.headers)  # fmt: skip
    if isinstance(env, dict) and data.draw(st.booleans(), label="replay"):
        # The same upload again is answered from the first (idempotent), never a server error.
        _send(client, caplog, "hub: replayed transfer", "POST", "/v1/transfers", data=body,
              content_type="application/json", headers=sender.headers)  # fmt: skip


@fuzz()
@given(data=st.data())
def test_recorded_movements(client, world, caplog, data: st.DataObject) -> None:
    who = world[data.draw(st.sampled_from(["school-145832", "ap-103614", "college-10001234", "la-330"]))]
    event = data.draw(mutated_json(DOCUMENTS["movement"]), label="event")
    if isinstance(event, dict) and data.draw(st.booleans()):
        event = {**event, "recordedBy": {"participant": who.id, "role": who.role}}
    _send(client, caplog, "hub: recorded movement", "POST", "/v1/movements", data=json.dumps(event).encode(),
          content_type="application/json", headers=who.headers)  # fmt: skip


PARTICIPANTS = [
    {"id": "school-200001", "role": "school", "name": "Fuzz School", "urn": "200001", "laestab": "3304100"},
    {"id": "la-332", "role": "la", "name": "Fuzz Council", "la": "332"},
]


@fuzz()
@given(data=st.data())
def test_writes_by_the_roles_allowed_them(client, world, seeded, caplog, data: st.DataObject) -> None:
    # Admin writes (participants, keys, tokens), an LA's redirect and a health trust's $validate.
    who = world["admin"]
    what = data.draw(st.sampled_from(["participant", "key", "revoke", "token", "redirect", "fhir"]))
    if what == "participant":
        url, body = "/v1/participants", data.draw(mutated_json(PARTICIPANTS))
    elif what == "key":
        pid = data.draw(st.sampled_from(seeded["pid"]) | values)
        url = f"/v1/participants/{urllib.parse.quote(pid, safe='')}/keys"
        body = data.draw(mutated_json([world["la-331"].key.public_jwk]) | json_values)
    elif what == "redirect":
        lid = data.draw(st.sampled_from(seeded["lid"] or ["none"]) | values)
        who = world["la-330"]
        url, body = (
            f"/v1/lost-pupils/{urllib.parse.quote(lid, safe='')}/redirect",
            data.draw(mutated_json([{"recipient": "school-145833"}, {"recipient": "3304002"}])),
        )
    elif what == "fhir":
        who = world["health-RXH"]
        advice = json_bases("health-advice")[0]
        params = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": advice}]}
        url, body = "/fhir/$validate", data.draw(mutated_json([params, advice]))
    else:
        pid = data.draw(st.sampled_from(seeded["pid"]) | values)
        kid = data.draw(st.sampled_from(seeded["kid"]) | values)
        quoted = urllib.parse.quote(pid, safe="")
        revoke = f"/v1/participants/{quoted}/keys/{urllib.parse.quote(kid, safe='')}/revoke"
        url = f"/v1/participants/{quoted}/tokens" if what == "token" else revoke
        body = None
    _send(client, caplog, f"hub: {what} write", "POST", url, data=None if body is None else json.dumps(body).encode(),
          content_type="application/json", headers=who.headers)  # fmt: skip

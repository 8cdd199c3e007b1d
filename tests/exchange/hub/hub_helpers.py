"""Helpers for the hub tests: the cast of participants, documents and signed envelopes, signing in
to the LA pages as a browser does, and a populated pair of areas with the answers they must give."""

from __future__ import annotations

import copy
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendx import schemas
from sendx.exchange.audit.figures import SyntheticHistory
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.exchange.trust.keys import SigningKey
from sendx.exchange.trust.signing import sign_envelope


@dataclass
class Actor:
    id: str
    role: str
    token: str
    key: SigningKey
    info: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


CAST: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin", "name": "Hub admin"},
    "school-145832": {"role": "school", "name": "Kingsbridge Academy", "urn": "145832", "laestab": "3304001"},
    "school-145833": {"role": "school", "name": "Riverside Primary", "urn": "145833", "laestab": "3304002"},
    "ap-103614": {"role": "school", "name": "Northfield Pupil Referral Unit", "urn": "103614", "laestab": "3301100"},
    "school-140001": {"role": "school", "name": "Hilltop School", "urn": "140001", "laestab": "3314001"},
    "college-10001234": {"role": "college", "name": "Westgate College", "ukprn": "10001234", "la": "330"},
    "health-RXH": {"role": "health", "name": "Northfield NHS Trust", "ods": "RXH"},
    "la-330": {"role": "la", "name": "Northfield Council", "la": "330"},
    "la-331": {"role": "la", "name": "Southfield Council", "la": "331"},
}


def example(kind: str, name: str | None = None) -> dict[str, Any]:
    paths = schemas.examples(kind)
    path = next(p for p in paths if name is None or p.stem == name)
    return json.loads(Path(path).read_text(encoding="utf-8"))


def movement(name: str = "ap-placement-start", **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(example("movement", name))
    doc["eventId"] = f"MV-{uuid.uuid4().hex[:12]}"
    doc.update(changes)
    return doc


#: The identifier each role issues a passport under (the hub's sender policy checks it is the sender's).
_ISSUER_ID = {"la": "la", "school": "urn", "college": "ukprn", "health": "ods"}


def own_passport(actor: Actor) -> dict[str, Any]:
    """The example passport issued in ``actor``'s own name (an admin, who issues none, claims LA 330)."""
    doc = example("passport")
    if actor.role in _ISSUER_ID:
        doc["issuer"] = {"type": actor.role, "id": actor.info[_ISSUER_ID[actor.role]], "name": actor.info["name"]}
    return doc


def movement_by(actor: Actor, name: str = "ap-placement-start") -> dict[str, Any]:
    """An example movement out of ``actor``'s own school, recorded by it (what the sender policy accepts)."""
    info = actor.info
    own = {"name": info["name"], "urn": info["urn"], "la": info.get("la") or info["laestab"][:3], "ap": False}
    return movement(name, **{"from": own}, recordedBy={"participant": actor.id, "role": actor.role})


def envelope(
    sender: Actor,
    recipient: str,
    document: Any,
    kind: str,
    *,
    key: str | None = None,
    signing_key: SigningKey | None = None,
) -> dict[str, Any]:
    body = {
        "$schema": "https://schemas.sendx.org.uk/envelope/v1",
        "envelopeId": f"env-{uuid.uuid4().hex[:16]}",
        "kind": kind,
        "sender": sender.id,
        "recipient": recipient,
        "created": "2026-11-01T09:00:00Z",
        "idempotencyKey": key or f"idem-{uuid.uuid4().hex}",
        "document": document,
    }
    return sign_envelope(body, signing_key or sender.key)


def post_json(client, url: str, body: Any, actor: Actor | None = None, **kw: Any):
    headers = actor.headers if actor else {}
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers, **kw)


def register_cast(hub: Any) -> dict[str, Actor]:
    """Every participant of ``CAST`` registered at ``hub``, each with a signing key and an API token."""
    actors = {}
    for pid, spec in CAST.items():
        extra = {k: v for k, v in spec.items() if k not in ("role", "name")}
        info = hub.add_participant(pid, spec["role"], spec["name"], **extra)
        key = SigningKey.generate(pid)
        hub.add_key(pid, key.public_jwk)
        actors[pid] = Actor(pid, spec["role"], hub.new_token(pid), key, info)
    return actors


# ------------------------------------------------------------------ the LA pages, as a browser


def csrf_field(html: str) -> str:
    """The ``csrf_token`` a page's POST forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if found is None:
        raise AssertionError("the page has no CSRF field")
    return found.group(1)


def sign_in(client: Any, actor: Actor | None, **fields: str) -> Any:
    """Sign in through the form on a client with no session yet: GET it, POST its CSRF token and the token."""
    form = client.get("/la/sign-in")
    data = {"csrf_token": csrf_field(form.get_data(as_text=True)), "token": actor.token if actor else "", **fields}
    return client.post("/la/sign-in", data=data)


def page_csrf(client: Any) -> str:
    """The CSRF token this client's forms carry (its session's, signed in or not): from an LA's
    log page, another participant's home page, or else the sign-in form."""
    for url in ("/la/log", "/", "/la/sign-in"):
        page = client.get(url, headers={"Accept": "text/html"})
        if page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True):
            break
    return csrf_field(page.get_data(as_text=True))


# ------------------------------------------------------------------ two populated areas


@dataclass(frozen=True)
class Areas:
    """What ``populate_areas`` recorded, and what LA 330's overview must show for it on ``history.as_of``."""

    history: SyntheticHistory
    plan_transfers: tuple[str, ...]  # EHCP transfers from la-330 to Kingsbridge, in the order sent
    lost_files: int  # lost-pupil CTFs from LA 330 schools, waiting in the pool
    lost_pupils: int  # the pupils in them (one each): each also a destination-unknown movement in LA 330
    ehcp: tuple[int, int, int, int]  # plans issued, within 20 weeks, late with an exception, late
    reviews_overdue: int


def _plan(plan_id: str, final: str, *, exceptions: tuple[dict[str, str], ...] = (), **changes: Any) -> dict:
    """The example plan, re-timed: requested 3 March 2025, so a final plan after 21 July 2025 is late."""
    doc = example("ehcp")
    doc["planId"] = plan_id
    doc["timeline"] = {
        "requestDate": "2025-03-03",
        "decisionDate": "2025-04-07",
        "draftIssuedDate": "2025-07-14",
        "finalIssuedDate": final,
        "exceptions": list(exceptions),
    }
    return {**doc, **changes}


def populate_areas(hub: Any, actors: dict[str, Actor], history: SyntheticHistory) -> Areas:
    """Record ``history`` (LAs 330 and 331) through the hub as each area's LA, then send LA 330's plans
    and two lost-pupil CTFs, all through ``Hub`` as the API would."""
    who = {a.info["la"]: hub.authenticate(a.token) for a in actors.values() if a.role == "la"}
    for event in history.events:
        la = who[event["recordedBy"]["participant"].split(":", 1)[1]]  # synthetic recorders are "la:<code>"
        recorded = {**event, "recordedBy": {"participant": la.id, "role": "la"}}
        hub.record_movement(la, json.dumps(recorded).encode())

    def send(sender: str, recipient: str, document: Any, kind: str) -> str:
        body = json.dumps(envelope(actors[sender], recipient, document, kind)).encode()
        return hub.submit_transfer(hub.authenticate(actors[sender].token), body).body["id"]

    on_time = example("ehcp")  # requested 3 Nov 2025, final 20 Mar 2026: 137 days; review due March 2027
    plans = [
        on_time,
        {**on_time, "status": "amended"},  # a later version of the same plan: counted once
        _plan("EHCP-330-2025-00101", "2025-08-25"),  # 175 days, no exception: late; review overdue
        _plan("EHCP-330-2025-00102", "2025-08-25", exceptions=({"reason": "missed-appointment"},)),
    ]
    sent = tuple(send("la-330", "school-145832", p, "ehcp") for p in plans)
    leavers = ("school-145832", "school-145833", "ap-103614")  # a lost-pupil CTF holds exactly one pupil
    for sender in leavers:
        school = actors[sender].info
        ctf = synthetic_ctf(1, source_laestab=school["laestab"], dest_laestab="XXXXXXX", source_urn=school["urn"])
        send(sender, "XXXXXXX", ctf.decode("utf-8"), "ctf")
    return Areas(history, sent, len(leavers), len(leavers), (3, 1, 1, 1), 2)


def movements_by_index(client: Any) -> dict[int, dict[str, Any]]:
    """Every movement in a ``HubClient``'s scope, by log index (every page; none damaged)."""
    out: dict[int, dict[str, Any]] = {}
    after: str | None = None
    while True:
        page = client.movements(limit=200, after=after)
        assert not page["damaged"], page["damaged"]
        out.update((item["logIndex"], item) for item in page["items"])
        if page["next"] is None:
            break
        after = page["next"]
    return out

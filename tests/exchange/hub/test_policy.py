"""The sender policy, cell by cell: role × way in × kind, and every claim, allowed and refused.

The cells are generated from ``policy.POLICY`` itself, and each one drives the real hub over HTTP:
for each row and role, the role's honest document (every claim its own) is accepted if the row
lets that role in and refused by role otherwise; for each claim and each role the row lets in,
the same document with only that claim made someone else's is refused with the claim's status,
and nothing is stored.  A claim added to the table without a way here to forge it fails
``test_every_claim_cell_has_a_forgery``.  The attacks reported in issue #17 follow, one test each.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hub_helpers import Actor, envelope, example, movement, own_passport, post_json

from sendx.exchange.hub.service import policy
from sendx.exchange.store import ROLES
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.exchange.trust.keys import SigningKey

#: The cast member that speaks for each role; an LA sends CTFs only from an LAESTAB of its own.
SENDER = {"school": "school-145832", "college": "college-10001234", "health": "health-RXH", "la": "la-330"}
LA_WITH_RECORDS = "la-332"  # registered with LAESTAB 3327001 for the records LA 332 holds itself
RIVERSIDE = "school-145833"


def _sender_id(role: str, row: policy.Entry) -> str:
    if role == "admin":
        return "admin"
    if role == "la" and row.route == policy.TRANSFERS and row.kind == "ctf":
        return LA_WITH_RECORDS
    return SENDER[role]


@pytest.fixture
def cast(hub, world) -> dict[str, Actor]:
    info = hub.add_participant(LA_WITH_RECORDS, "la", "Eastfield Council", la="332", laestab="3327001")
    key = SigningKey.generate(LA_WITH_RECORDS)
    hub.add_key(LA_WITH_RECORDS, key.public_jwk)
    return {**world, LA_WITH_RECORDS: Actor(LA_WITH_RECORDS, "la", hub.new_token(LA_WITH_RECORDS), key, info)}


# ------------------------------------------------------------------ honest documents


def _ctf(source: str, dest: str, urn: str | None, n: int = 1) -> str:
    text = synthetic_ctf(n, seed=17, source_laestab=source, dest_laestab=dest, source_urn=urn or "100000").decode()
    return text if urn else re.sub(r"<URN>100000</URN>", "", text, count=1)


def _own_movement(actor: Actor) -> dict[str, Any]:
    doc = movement()  # Kingsbridge (LA 330) into Northfield AP
    if actor.role == "college":
        doc.update(
            type="post-16-transition",
            to={"name": "Westgate College", "ukprn": actor.info["ukprn"], "la": "330", "ap": False},
        )
        doc.pop("plannedEndDate", None)
    doc["recordedBy"] = {"participant": actor.id, "role": actor.role}
    return doc


def _own_ctf(actor: Actor) -> str:
    if actor.role == "la":
        return _ctf(actor.info["laestab"], "3304002", None)
    return _ctf("3304001", "3304002", "145832")  # Kingsbridge's own leaver (others are refused by role)


def _own_advice(actor: Actor) -> dict[str, Any]:
    return example("health-advice")


def _own_plan(actor: Actor) -> dict[str, Any]:
    doc = example("ehcp")
    doc["la"] = {**doc["la"], "code": actor.info.get("la") or "330"}
    return doc


HONEST: dict[str, Callable[[Actor], Any]] = {
    "ehcp": _own_plan,
    "passport": own_passport,
    "movement": _own_movement,
    "ctf": _own_ctf,
    "health-advice": _own_advice,
}

# ------------------------------------------------------------------ forgeries: one claim made someone else's
#: (claim id, role) → how to make the honest (document, recipient) claim someone else's identity.
Forge = Callable[[Any, str], tuple[Any, str]]


def _set(path: str, value: Any) -> Forge:
    def forge(doc: Any, to: str) -> tuple[Any, str]:
        doc = copy.deepcopy(doc)
        *parents, leaf = path.split("/")
        node = doc
        for p in parents:
            node = node[p]
        node[leaf] = value
        return doc, to

    return forge


def _moves(frm: dict[str, Any], to: dict[str, Any]) -> Forge:
    def forge(doc: Any, recipient: str) -> tuple[Any, str]:
        return {**doc, "from": frm, "to": to}, recipient

    return forge


def _ctf_from(source: str, dest: str, urn: str | None, to: str = RIVERSIDE) -> Forge:
    """A CTF with this header instead of the honest one (the pupils are the same invented ones)."""

    def forge(doc: Any, recipient: str) -> tuple[Any, str]:
        return _ctf(source, dest, urn), to

    return forge


RIVERSIDE_SETTING = {"name": "Riverside Primary", "urn": "145833", "la": "330", "ap": False}
HILLTOP = {"name": "Hilltop School", "urn": "140001", "la": "331", "ap": False}
SOUTHFIELD_AP = {"name": "Southfield AP", "urn": "140999", "la": "331", "ap": True}
NORTHFIELD_AP = {"name": "Northfield Pupil Referral Unit", "urn": "103614", "la": "330", "ap": True}
KINGSBRIDGE_IN_331 = {"name": "Kingsbridge Academy", "urn": "145832", "la": "331", "ap": False}
WESTGATE_IN_331 = {"name": "Westgate College", "ukprn": "10001234", "la": "331", "ap": False}

FORGERIES: dict[tuple[str, str], Forge] = {
    ("ehcp.la", "la"): _set("la/code", "331"),
    **{("passport.issuer-type", r): _set("issuer/type", "college" if r != "college" else "school") for r in SENDER},
    ("passport.issuer-id", "la"): _set("issuer/id", "331"),
    ("passport.issuer-id", "school"): _set("issuer/id", "145833"),
    ("passport.issuer-id", "college"): _set("issuer/id", "10009999"),
    ("passport.issuer-id", "health"): _set("issuer/id", "RYW"),
    **{("movement.recorder", r): _set("recordedBy/participant", RIVERSIDE) for r in ("school", "college", "la")},
    **{("movement.recorder-role", r): _set("recordedBy/role", "health") for r in ("school", "college", "la")},
    ("movement.party", "school"): _moves(RIVERSIDE_SETTING, NORTHFIELD_AP),
    ("movement.party", "college"): _moves(RIVERSIDE_SETTING, NORTHFIELD_AP),
    ("movement.party", "la"): _moves(HILLTOP, SOUTHFIELD_AP),
    ("movement.own-end", "school"): _moves(KINGSBRIDGE_IN_331, NORTHFIELD_AP),
    ("movement.own-end", "college"): _moves(RIVERSIDE_SETTING, WESTGATE_IN_331),
    ("ctf.source", "school"): _ctf_from("3314001", "3304002", "145832"),  # Hilltop's LAESTAB
    ("ctf.source", "la"): _ctf_from("3304001", "3304002", None),  # one of its schools'
    ("ctf.source-urn", "school"): _ctf_from("3304001", "3304002", "145833"),
    ("ctf.source-urn", "la"): _ctf_from("3327001", "3304002", "145832"),
    ("ctf.destination", "school"): _ctf_from("3304001", "3314001", "145832"),  # the header says Hilltop
    ("ctf.destination", "la"): _ctf_from("3327001", "3314001", None),
    ("ctf.la-to-school", "la"): _ctf_from("3327001", "XXXXXXX", None, to="XXXXXXX"),
}
#: Cells where a claim cannot be false for a role, and why (every other cell has a forgery).
NOT_APPLICABLE = {
    ("movement.own-end", "la"): "an LA records movements of its area, it is not one of their ends",
    ("ctf.la-to-school", "school"): "the claim is about LAs; a school may send its leaver to the pool",
}

# ------------------------------------------------------------------ sending, the way the row says


def _recipient(row: policy.Entry) -> str:
    return "la-331" if row.kind == "health-advice" else RIVERSIDE


def _submit(client, hub, cast, row: policy.Entry, actor: Actor, doc: Any, to: str):
    if row.route == policy.TRANSFERS:
        return post_json(client, "/v1/transfers", envelope(actor, to, doc, row.kind), actor)
    if row.route == policy.MOVEMENTS:
        return post_json(client, "/v1/movements", doc, actor)
    return post_json(client, f"/v1/lost-pupils/{doc}/redirect", {"recipient": to}, actor)


def _pool_entry(client, cast, from_school: str) -> str:
    """A leaver's CTF from ``from_school`` in the pool; the pool entry's id (what a redirect names)."""
    school = cast[from_school]
    doc = _ctf(school.info["laestab"], "XXXXXXX", school.info["urn"])
    sent = post_json(client, "/v1/transfers", envelope(school, "XXXXXXX", doc, "ctf"), school)
    assert sent.status_code == 201, sent.json
    la = cast["la-331" if school.info["la"] == "331" else "la-330"]
    return client.get("/v1/lost-pupils", headers=la.headers).json["items"][0]["id"]


def _honest(client, cast, row: policy.Entry, actor: Actor) -> tuple[Any, str]:
    if row.route == policy.LOST_PUPIL_REDIRECT:
        return _pool_entry(client, cast, "school-145832"), RIVERSIDE
    return HONEST[row.kind](actor), _recipient(row)


ROLE_CELLS = [(row, role) for row in policy.POLICY for role in ROLES]
CLAIM_CELLS = [
    (row, claim, role)
    for row in policy.POLICY
    for claim in row.claims
    for role in row.roles
    if (claim.id, role) not in NOT_APPLICABLE
]


def _id(row: policy.Entry) -> str:
    return f"{row.route.split()[1]}:{row.kind}"


@pytest.mark.parametrize("row,role", ROLE_CELLS, ids=[f"{_id(r)}:{role}" for r, role in ROLE_CELLS])
def test_role_cell(client, hub, cast, row, role):
    """The role's own honest document: accepted if the row lets the role in, else refused by role."""
    actor = cast[_sender_id(role, row)]
    doc, to = _honest(client, cast, row, actor)
    before = hub.counts()
    r = _submit(client, hub, cast, row, actor, doc, to)
    if role in row.roles:
        assert r.status_code == 201, r.json
    else:
        assert r.status_code == 403, r.json
        assert "may not send" in r.json["detail"] and hub.counts() == before


@pytest.mark.parametrize("row,claim,role", CLAIM_CELLS, ids=[f"{_id(r)}:{c.id}:{role}" for r, c, role in CLAIM_CELLS])
def test_claim_cell(client, hub, cast, row, claim, role):
    """The honest document with only this claim made someone else's: refused, nothing stored."""
    actor = cast[_sender_id(role, row)]
    if row.route == policy.LOST_PUPIL_REDIRECT:  # the pooled pupil left another area's school
        doc, to = _pool_entry(client, cast, "school-140001"), RIVERSIDE
    else:
        doc, to = FORGERIES[claim.id, role](*_honest(client, cast, row, actor))
    before = hub.counts()
    r = _submit(client, hub, cast, row, actor, doc, to)
    assert r.status_code == claim.status, r.json
    assert hub.counts() == before
    if claim.status == 403:
        assert r.json["type"].endswith("/claim-not-yours") and r.json["instance"] == claim.where


def test_every_claim_cell_has_a_forgery() -> None:
    missing = [
        (c.id, role)
        for row in policy.POLICY
        if row.route != policy.LOST_PUPIL_REDIRECT
        for c in row.claims
        for role in row.roles
        if (c.id, role) not in FORGERIES and (c.id, role) not in NOT_APPLICABLE
    ]
    assert not missing, f"claims in policy.POLICY with no forged document in this test: {missing}"


def test_every_kind_an_envelope_carries_has_a_row() -> None:
    from sendx import schemas

    kinds = schemas.load_schema("envelope")["properties"]["kind"]["enum"]
    assert sorted(r.kind for r in policy.POLICY if r.route == policy.TRANSFERS) == sorted(kinds)


def test_readme_and_openapi_render_the_table(app) -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    assert policy.markdown_table() in readme
    spec = app.extensions["sendx.openapi"]["paths"]
    assert spec["/v1/transfers"]["post"]["x-sendx-policy"] == policy.openapi_policy(policy.TRANSFERS)
    assert spec["/v1/movements"]["post"]["x-sendx-policy"] == policy.openapi_policy(policy.MOVEMENTS)
    redirect = spec["/v1/lost-pupils/{lid}/redirect"]["post"]["x-sendx-policy"]
    assert redirect == policy.openapi_policy(policy.LOST_PUPIL_REDIRECT) and redirect[0]["roles"] == ["la"]


# ------------------------------------------------------------------ the attacks of issue #17


def _movement_envelope(client, sender: Actor, doc: dict[str, Any], to: str = RIVERSIDE):
    return post_json(client, "/v1/transfers", envelope(sender, to, doc, "movement"), sender)


def test_nhs_trust_cannot_record_an_exclusion_as_the_school(client, hub, world):
    trust = world["health-RXH"]
    doc = movement(
        "destination-unknown",
        type="permanent-exclusion",
        recordedBy={"participant": "school-145832", "role": "school"},
    )
    before = hub.counts()
    r = _movement_envelope(client, trust, doc)
    assert r.status_code == 403 and hub.counts() == before
    school = world["school-145832"]
    assert client.get("/v1/movements", headers=school.headers).json["items"] == []


def test_college_cannot_write_into_another_area_as_its_la(client, hub, world):
    college = world["college-10001234"]
    doc = movement("destination-unknown", **{"from": HILLTOP}, recordedBy={"participant": "la-331", "role": "la"})
    before = hub.counts()
    assert _movement_envelope(client, college, doc).status_code == 403 and hub.counts() == before
    assert client.get("/v1/movements", headers=world["la-331"].headers).json["items"] == []


@pytest.mark.parametrize("forger", ["college-10001234", "health-RXH", "school-145833"])
def test_only_the_la_issues_its_plans(client, hub, world, forger):
    sender = world[forger]
    plan = example("ehcp")  # "issued by LA 330"
    to = "school-145832"
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(sender, to, plan, "ehcp"), sender)
    assert r.status_code == 403 and hub.counts() == before
    assert client.get("/v1/inbox", headers=world[to].headers).json["items"] == []


def test_another_la_cannot_issue_las_plan(client, hub, world):
    la331 = world["la-331"]
    r = post_json(client, "/v1/transfers", envelope(la331, "school-145832", example("ehcp"), "ehcp"), la331)
    assert r.status_code == 403 and r.json["instance"] == "/document/la/code"


def test_a_school_cannot_issue_a_passport_as_the_la(client, hub, world):
    school = world["school-145832"]
    passport = example("passport")  # issuer: LA 330
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(school, "college-10001234", passport, "passport"), school)
    assert r.status_code == 403 and hub.counts() == before


def test_a_whole_class_sent_to_the_pool_is_refused(client, hub, world):
    """A 3-pupil CTF whose header names a real school, addressed to XXX: nothing is pooled."""
    school = world["school-145832"]
    doc = _ctf("3304001", "3304002", "145832", n=3)
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(school, "XXXXXXX", doc, "ctf"), school)
    assert r.status_code == 403 and r.json["instance"] == "/document/Header/DestSchool"
    assert hub.counts() == before
    assert client.get("/v1/lost-pupils", headers=world["la-330"].headers).json["items"] == []


def test_an_la_cannot_send_a_ctf_from_another_areas_school(client, hub, world):
    la = world["la-330"]
    doc = _ctf("3314001", "XXXXXXX", "140001")  # "from a Coventry school", into LA 331's pool
    before = hub.counts()
    assert post_json(client, "/v1/transfers", envelope(la, "XXXXXXX", doc, "ctf"), la).status_code == 403
    assert hub.counts() == before
    assert client.get("/v1/lost-pupils", headers=world["la-331"].headers).json["items"] == []


def test_a_school_cannot_send_under_another_schools_urn(client, hub, world):
    school = world["school-145832"]
    doc = _ctf("3304001", "3304002", "140001")  # its own LAESTAB, Hilltop's URN
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(school, RIVERSIDE, doc, "ctf"), school)
    assert r.status_code == 403 and r.json["instance"] == "/document/Header/SourceSchool/URN"
    assert hub.counts() == before
    assert client.get("/v1/movements", headers=world["school-140001"].headers).json["items"] == []


@pytest.mark.parametrize("sender", ["college-10001234", "urn-only"])
def test_a_sender_without_a_laestab_sends_no_ctf(client, hub, world, sender):
    if sender == "urn-only":
        hub.add_participant(sender, "school", "Brookside Free School", urn="149999", la="330")
        key = SigningKey.generate(sender)
        hub.add_key(sender, key.public_jwk)
        actor = Actor(sender, "school", hub.new_token(sender), key, {})
    else:
        actor = world[sender]
    before = hub.counts()
    doc = _ctf("3304001", "3304002", "145832")
    r = post_json(client, "/v1/transfers", envelope(actor, RIVERSIDE, doc, "ctf"), actor)
    assert r.status_code == 403 and hub.counts() == before


def test_the_header_destination_must_be_the_recipient(client, hub, world):
    school = world["school-145832"]
    doc = _ctf("3304001", "3314001", "145832")  # the header says Hilltop
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(school, RIVERSIDE, doc, "ctf"), school)
    assert r.status_code == 403 and hub.counts() == before
    lost = _ctf("3304001", "XXXXXXX", "145832")  # the header says "unknown", the envelope a school
    assert post_json(client, "/v1/transfers", envelope(school, RIVERSIDE, lost, "ctf"), school).status_code == 403


def test_refusals_say_what_and_where(client, world):
    school = world["school-145832"]
    passport = json.loads(json.dumps(example("passport")))
    r = post_json(client, "/v1/transfers", envelope(school, RIVERSIDE, passport, "passport"), school)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert r.json["instance"] == "/document/issuer/type" and "school-145832" in r.json["detail"]
    assert "must be yours" in r.json["hint"]

"""The authorisation matrix: every role × every endpoint × own/other resource → expected status.

One test per endpoint row; each checks every actor and reports all mismatches at once.  A
transfer T, an EHC plan, goes from LA 330 to Riverside (LA 330); "own" means the actor is
party to the resource, "other" that it is not.  Nobody outside the transfer can read it —
not even the other LA (LAs see movements and the access log, not others' documents).  Which
roles may send which kinds of document is the sender policy's (``test_policy``): here every
sender sends a passport in its own name.

The HTML pages are in the matrix too.  Each actor opens them in a browser of its own after
trying to sign in through the form: only an LA gets a session, so every other role (and an
API token alone) is redirected to the sign-in page (303) like an anonymous visitor.  P is an
EHC plan LA 330 sent to Kingsbridge: its own plan for la-330, another area's for la-331.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hub_helpers import Actor, envelope, example, movement, own_passport, page_csrf, sign_in

ACTORS = [
    "anon",
    "admin",
    "school-145832",
    "school-145833",  # recipient of T
    "ap-103614",
    "school-140001",  # another LA's school
    "college-10001234",
    "health-RXH",
    "la-330",  # sender of T
    "la-331",
]
EVERYONE = {a: 200 for a in ACTORS if a != "anon"} | {"anon": 401}
#: Who can hold a page session: every participant but the hub admin.
SESSIONS = [a for a in ACTORS if a not in ("anon", "admin")]
#: An LA page: the two LAs see their own area's; anyone else signed in is refused; the rest go to sign in.
LA_PAGE = {a: 200 if a.startswith("la-") else 403 if a in SESSIONS else 303 for a in ACTORS}


def _only(ok: dict[str, int], default: int) -> dict[str, int]:
    return {a: ok.get(a, default) for a in ACTORS if a != "anon"} | {"anon": 401}


@pytest.fixture
def setup(client, world) -> dict[str, Any]:
    a, b, la = world["school-145832"], world["school-145833"], world["la-330"]
    env = envelope(la, b.id, example("ehcp"), "ehcp")
    t = client.post("/v1/transfers", json=env, headers=la.headers)
    assert t.status_code == 201
    p = client.post("/v1/transfers", json=envelope(la, a.id, example("ehcp"), "ehcp"), headers=la.headers)
    assert p.status_code == 201
    return {"tid": t.json["id"], "la_tid": p.json["id"]}


Request = Callable[[Any, Actor | None, dict[str, Any], dict[str, Actor]], Any]


def _get(url: str) -> Request:
    return lambda c, actor, ctx, world: c.get(url.format(**ctx), headers=actor.headers if actor else {})


def _post(url: str, body: Callable[[Actor | None, dict[str, Actor]], Any] | None = None) -> Request:
    def run(c, actor, ctx, world):
        data = body(actor, world) if body else None
        return c.post(
            url.format(**ctx),
            data=json.dumps(data) if data is not None else None,
            content_type="application/json",
            headers=actor.headers if actor else {},
        )

    return run


def _browser(c: Any, actor: Actor | None, signed_in: bool) -> Any:
    """A client of the actor's own (its own cookies), after trying to sign in to the LA pages."""
    browser = c.application.test_client()
    if actor is not None and signed_in:
        sign_in(browser, actor)  # every participant but the admin gets a session
    return browser


def _page(url: str, *, signed_in: bool = True, bearer: bool = False) -> Request:
    def run(c, actor, ctx, world):
        headers = actor.headers if actor and bearer else {}
        return _browser(c, actor, signed_in).get(url.format(**ctx), headers=headers)

    return run


def _page_form(url: str) -> Request:
    """POST a page's form with the CSRF token the actor's own forms carry."""

    def run(c, actor, ctx, world):
        browser = _browser(c, actor, True)
        return browser.post(url.format(**ctx), data={"csrf_token": page_csrf(browser)})

    return run


def _page_sign_in(c, actor, ctx, world):
    return sign_in(c.application.test_client(), actor)


def _self_envelope(actor, world):
    """A passport the actor issued in its own name, to Riverside (or Kingsbridge if it is Riverside)."""
    sender = actor or world["school-145832"]
    to = "school-145832" if sender.id == "school-145833" else "school-145833"
    return envelope(sender, to, own_passport(sender), "passport")


def _own_movement(actor, world):
    """An AP placement touching the actor's setting / area where it has one."""
    doc = movement()
    doc["recordedBy"] = {"participant": actor.id if actor else "x"}
    return doc


CASES: list[tuple[str, Request, dict[str, int]]] = [
    ("me", _get("/v1/participants/me"), EVERYONE),
    ("list participants", _get("/v1/participants"), _only({"admin": 200}, 403)),
    (
        "add participant",
        _post(
            "/v1/participants", lambda a, w: {"id": f"new-{a.id if a else 'x'}", "role": "la", "name": "X", "la": "332"}
        ),
        _only({"admin": 201}, 403),
    ),
    ("read keys", _get("/v1/participants/school-145832/keys"), EVERYONE),
    (
        "add key",
        _post("/v1/participants/school-145832/keys", lambda a, w: w["school-145833"].key.public_jwk),
        _only({"admin": 409}, 403),  # the admin may, but this key already belongs to someone else
    ),
    ("issue token", _post("/v1/participants/la-330/tokens"), _only({"admin": 201}, 403)),
    # Every participant but the admin sends documents (as itself; which kinds: test_policy).
    ("send", _post("/v1/transfers", _self_envelope), _only({"admin": 403}, 201)),
    ("fetch own/other transfer", _get("/v1/transfers/{tid}"), _only({"la-330": 200, "school-145833": 200}, 404)),
    ("ack", _post("/v1/transfers/{tid}/ack"), _only({"school-145833": 200, "la-330": 403}, 404)),
    ("inbox", _get("/v1/inbox"), EVERYONE),
    ("lost pupils", _get("/v1/lost-pupils"), _only({"la-330": 200, "la-331": 200}, 403)),
    (
        "redirect",
        _post("/v1/lost-pupils/nope/redirect", lambda a, w: {"recipient": "school-145833"}),
        _only({"la-330": 404, "la-331": 404}, 403),
    ),
    (
        "record movement",
        _post("/v1/movements", _own_movement),
        _only({"school-145832": 201, "ap-103614": 201, "la-330": 201, "admin": 403, "health-RXH": 403}, 403),
    ),
    (
        "list movements",
        _get("/v1/movements"),
        _only({"admin": 403, "health-RXH": 403}, 200),
    ),
    ("access log", _get("/v1/access-log"), _only({"la-330": 200, "la-331": 200}, 403)),
    ("validate", _post("/v1/validate", lambda a, w: example("ehcp")), EVERYONE),
    ("log checkpoint", _get("/v1/log/checkpoint"), EVERYONE),
    # ---- the HTML pages (303: to the sign-in page, or from it once signed in)
    ("page sign-in form", _page("/la/sign-in"), {a: 303 if a in SESSIONS else 200 for a in ACTORS}),
    ("page sign in", _page_sign_in, _only(dict.fromkeys(SESSIONS, 303), 403) | {"anon": 400}),
    ("page sign out", _page_form("/la/sign-out"), {a: 303 for a in ACTORS}),
    *(
        (f"page {what}", request, LA_PAGE)
        for what, request in (
            ("dashboard", _page("/la/dashboard")),
            ("movements", _page("/la/movements")),
            ("movements csv", _page("/la/movements.csv")),
            ("log", _page("/la/log")),
            ("verify log", _page_form("/la/log/verify")),
            ("access log", _page("/la/access")),
        )
    ),
    ("page dashboard, API token only", _page("/la/dashboard", signed_in=False, bearer=True), {a: 303 for a in ACTORS}),
    (
        "page plan, API token",
        _page("/plans/{tid}", signed_in=False, bearer=True),
        _only({"la-330": 200, "school-145833": 200}, 404) | {"anon": 303},
    ),
    (
        "page plan, page session",  # LA 330's plan to Kingsbridge: for them, not found for the others signed in
        _page("/plans/{la_tid}"),
        {a: 200 if a in ("la-330", "school-145832") else 404 if a in SESSIONS else 303 for a in ACTORS},
    ),
]


@pytest.mark.parametrize("name,request_,expected", CASES, ids=[c[0] for c in CASES])
def test_authorisation_matrix(client, world, setup, name, request_, expected):
    problems = []
    for actor_id in ACTORS:
        actor = None if actor_id == "anon" else world[actor_id]
        r = request_(client, actor, setup, world)
        if r.status_code != expected[actor_id]:
            problems.append(
                f"{actor_id}: got {r.status_code}, want {expected[actor_id]}: {r.get_data(as_text=True)[:200]}"
            )
        if r.status_code >= 400:
            assert r.mimetype == "application/problem+json", (actor_id, r.mimetype)
    assert not problems, f"{name}:\n" + "\n".join(problems)


def test_nobody_reads_anothers_documents(client, world):
    """Every pair of participants: a transfer between two is invisible to every third.

    The LA sends plans, the others passports in their own names (what the sender policy allows).
    """
    senders = ["school-145832", "ap-103614", "college-10001234", "health-RXH", "la-330"]
    sent = []
    for s_id in senders:
        for r_id in senders:
            if s_id != r_id:
                s = world[s_id]
                kind = "ehcp" if s.role == "la" else "passport"
                doc = example("ehcp") if kind == "ehcp" else own_passport(s)
                r = client.post("/v1/transfers", json=envelope(s, r_id, doc, kind), headers=s.headers)
                assert r.status_code == 201, r.json
                sent.append((r.json["id"], s_id, r_id, kind))
    for actor_id in ACTORS[1:]:
        actor = world[actor_id]
        inbox = {t["id"] for t in client.get("/v1/inbox?limit=200", headers=actor.headers).json["items"]}
        for tid, s_id, r_id, kind in sent:
            party = actor_id in (s_id, r_id)
            status = client.get(f"/v1/transfers/{tid}", headers=actor.headers).status_code
            assert status == (200 if party else 404), (actor_id, s_id, r_id)
            page = client.get(f"/plans/{tid}", headers=actor.headers).status_code
            assert page == (status if kind == "ehcp" else 404), ("plan page", actor_id, s_id, r_id)
            assert (tid in inbox) == (actor_id == r_id)


def test_no_la_sees_another_areas_movements(client, world):
    hill = world["school-140001"]
    doc = movement(
        "destination-unknown", **{"from": {"name": "Hilltop School", "urn": "140001", "la": "331", "ap": False}}
    )
    doc["recordedBy"] = {"participant": hill.id}
    assert client.post("/v1/movements", json=doc, headers=hill.headers).status_code == 201
    assert client.get("/v1/movements", headers=world["la-330"].headers).json["items"] == []
    assert len(client.get("/v1/movements", headers=world["la-331"].headers).json["items"]) == 1
    assert client.get("/v1/movements?upn=N330200119043", headers=world["la-330"].headers).json["items"] == []

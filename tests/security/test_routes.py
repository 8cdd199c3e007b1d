"""An authorisation decision for every route the hub serves, checked against the live route map.

``ROUTES`` names, for each (method, rule) in ``app.url_map``, who may use it: nobody needs
credentials (``PUBLIC``), an LA signed in to the pages (``PAGE``), any participant
(``ANY``), the parties to a transfer (``PARTIES``), its recipient (``RECIPIENT``), or a set
of roles.  A route added without a decision here fails the first test, so no route can ship
without someone deciding who may call it.  The other tests hold every route to its decision:
without credentials an API route is a 401 (a page sends the browser to sign in), and a
caller outside the decision is refused, with the role check's own words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hub_helpers import Actor, envelope, example, movement, own_passport, sign_in

from sendx.exchange.trust.keys import SigningKey

PUBLIC, PAGE, ANY, PARTIES, RECIPIENT = "public", "page", "any", "parties", "recipient"
ADMIN = frozenset({"admin"})
LA = frozenset({"la"})
RECORDERS = frozenset({"school", "college", "la"})
#: Who sends documents at all (which kinds each may send is the sender policy's, tested in test_policy).
SENDERS = frozenset({"school", "college", "health", "la"})
ROLE_REFUSALS = ("this needs the role", "only a hub admin")
# T: an EHCP from LA 330 (la-330) to Riverside (school-145833).
SENDER, RECIPIENT_ID = "la-330", "school-145833"


@dataclass(frozen=True)
class Route:
    who: str | frozenset[str]
    url: str  # with {tid} and {kid} filled in per test
    body: Callable[[Actor | None], Any] | None = None


def _new_participant(actor: Actor | None) -> dict[str, str]:
    return {"id": f"new-{actor.id if actor else 'anon'}", "role": "la", "name": "New Council", "la": "332"}


def _own_envelope(actor: Actor | None) -> dict[str, Any] | None:
    """A passport the actor issued in its own name, to Riverside (or, from Riverside, to LA 330)."""
    if actor is None:
        return {"kind": "passport"}
    to = SENDER if actor.id == RECIPIENT_ID else RECIPIENT_ID
    return envelope(actor, to, own_passport(actor), "passport")


def _own_movement(actor: Actor | None) -> dict[str, Any]:
    doc = movement()
    doc["recordedBy"] = {"participant": actor.id if actor else "anon"}
    return doc


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/static/<path:filename>"): Route(PUBLIC, "/static/none.css"),
    ("GET", "/openapi.json"): Route(PUBLIC, "/openapi.json"),
    ("GET", "/healthz"): Route(PUBLIC, "/healthz"),
    ("GET", "/v1/participants/me"): Route(ANY, "/v1/participants/me"),
    ("GET", "/v1/participants"): Route(ADMIN, "/v1/participants"),
    ("POST", "/v1/participants"): Route(ADMIN, "/v1/participants", _new_participant),
    ("GET", "/v1/participants/<pid>/keys"): Route(ANY, f"/v1/participants/{SENDER}/keys"),
    ("GET", "/v1/keys"): Route(ANY, "/v1/keys"),  # public keys only: anyone may verify a signature
    ("POST", "/v1/participants/<pid>/keys"): Route(
        ADMIN, "/v1/participants/la-331/keys", lambda a: SigningKey.generate("la-331").public_jwk
    ),
    ("POST", "/v1/participants/<pid>/keys/<kid>/revoke"): Route(ADMIN, "/v1/participants/la-331/keys/{kid}/revoke"),
    ("POST", "/v1/participants/<pid>/tokens"): Route(ADMIN, "/v1/participants/la-331/tokens"),
    ("POST", "/v1/transfers"): Route(SENDERS, "/v1/transfers", _own_envelope),
    ("GET", "/v1/transfers/<tid>"): Route(PARTIES, "/v1/transfers/{tid}"),
    ("POST", "/v1/transfers/<tid>/ack"): Route(RECIPIENT, "/v1/transfers/{tid}/ack"),
    ("GET", "/v1/inbox"): Route(ANY, "/v1/inbox"),
    ("GET", "/v1/lost-pupils"): Route(LA, "/v1/lost-pupils"),
    ("POST", "/v1/lost-pupils/<lid>/redirect"): Route(
        LA, "/v1/lost-pupils/0b7c6d2e-0000-4000-8000-000000000000/redirect", lambda a: {"recipient": RECIPIENT_ID}
    ),
    ("POST", "/v1/movements"): Route(RECORDERS, "/v1/movements", _own_movement),
    ("GET", "/v1/movements"): Route(RECORDERS, "/v1/movements"),
    ("GET", "/v1/movements/export"): Route(LA, "/v1/movements/export"),
    ("POST", "/v1/validate"): Route(ANY, "/v1/validate", lambda a: example("ehcp")),
    ("POST", "/fhir/$validate"): Route(
        ANY, "/fhir/$validate", lambda a: {"resourceType": "Bundle", "type": "document"}
    ),
    ("GET", "/v1/log/checkpoint"): Route(ANY, "/v1/log/checkpoint"),
    ("GET", "/v1/log/entries"): Route(ANY, "/v1/log/entries"),
    ("GET", "/v1/log/proof/inclusion"): Route(ANY, "/v1/log/proof/inclusion?index=0"),
    ("GET", "/v1/log/proof/consistency"): Route(ANY, "/v1/log/proof/consistency?first=1"),
    ("GET", "/v1/log/receipt"): Route(ANY, "/v1/log/receipt?index=0"),
    ("GET", "/v1/access-log"): Route(LA, "/v1/access-log"),
    ("GET", "/la/sign-in"): Route(PUBLIC, "/la/sign-in"),
    ("POST", "/la/sign-in"): Route(PUBLIC, "/la/sign-in"),  # the token it is given is the credential
    ("POST", "/la/sign-out"): Route(PAGE, "/la/sign-out"),
    ("GET", "/la/dashboard"): Route(PAGE, "/la/dashboard"),
    ("GET", "/la/movements"): Route(PAGE, "/la/movements"),
    ("GET", "/la/movements.csv"): Route(PAGE, "/la/movements.csv"),
    ("GET", "/la/log"): Route(PAGE, "/la/log"),
    ("POST", "/la/log/verify"): Route(PAGE, "/la/log/verify"),
    ("GET", "/la/access"): Route(PAGE, "/la/access"),
    ("GET", "/plans/<tid>"): Route(PARTIES, "/plans/{tid}"),
    ("GET", "/"): Route(PUBLIC, "/"),  # the home page: what a participant may read, once signed in
    ("GET", "/la"): Route(PUBLIC, "/la"),  # on to the overview, which is the LA's
}


def _served(app: Any) -> set[tuple[str, str]]:
    # HEAD follows GET and OPTIONS is Flask's own (it answers with the Allow header, no data).
    return {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_an_authorisation_decision(app) -> None:
    served = _served(app)
    missing = sorted(served - set(ROUTES))
    stale = sorted(set(ROUTES) - served)
    assert not missing, f"routes without an authorisation decision in {__name__}.ROUTES: {missing}"
    assert not stale, f"ROUTES names routes the hub no longer serves: {stale}"


@pytest.fixture
def scene(client, hub, world) -> dict[str, str]:
    """T, an EHCP from LA 330 to Riverside, and a spare key of la-331's for the admin to revoke."""
    a = world[SENDER]
    sent = client.post("/v1/transfers", json=envelope(a, RECIPIENT_ID, example("ehcp"), "ehcp"), headers=a.headers)
    assert sent.status_code == 201
    spare = hub.add_key("la-331", SigningKey.generate("la-331").public_jwk)
    return {"tid": sent.json["id"], "kid": spare["kid"]}


def _call(
    client: Any,
    method: str,
    route: Route,
    scene: dict[str, str],
    actor: Actor | None,
    address: str = "127.0.0.1",
    **headers: str,
) -> Any:
    url = route.url.format(**scene)
    sent = {**(actor.headers if actor else {}), **headers}
    env = {"REMOTE_ADDR": address}
    if method == "GET":
        return client.get(url, headers=sent, environ_base=env)
    body = route.body(actor) if route.body else None
    data = json.dumps(body) if body is not None else None
    return client.post(url, data=data, content_type="application/json", headers=sent, environ_base=env)


def _is_sign_in_redirect(r: Any) -> bool:
    return r.status_code == 303 and r.headers["Location"].startswith("/la/sign-in")


PROTECTED = sorted(k for k, r in ROUTES.items() if r.who != PUBLIC)


def test_every_protected_route_refuses_a_caller_without_credentials(client, scene) -> None:
    """API routes: 401 problem JSON with a Bearer challenge, also for HEAD; pages: off to sign in."""
    failures = []
    for method, rule in PROTECTED:
        route = ROUTES[method, rule]
        r = _call(client, method, route, scene, None)
        if route.who == PAGE or rule == "/plans/<tid>":
            ok = _is_sign_in_redirect(r)
        else:
            ok = (
                r.status_code == 401
                and r.mimetype == "application/problem+json"
                and r.headers.get("WWW-Authenticate", "").startswith("Bearer")
            )
            if method == "GET":
                ok = ok and client.head(route.url.format(**scene)).status_code == 401
        if not ok:
            failures.append(f"{method} {rule}: {r.status_code} {r.get_data(as_text=True)[:160]}")
    assert not failures, "\n".join(failures)


def test_every_bearer_route_refuses_a_forged_token(client, scene) -> None:
    """Each from an address of its own: unknown tokens from one address are throttled (test_tokens)."""
    failures = []
    for n, (method, rule) in enumerate(PROTECTED):
        if ROUTES[method, rule].who == PAGE:
            continue
        forged = "Bearer sxt_" + "A" * 43
        r = _call(client, method, ROUTES[method, rule], scene, None, f"10.1.0.{n + 1}", Authorization=forged)
        if r.status_code != 401:
            failures.append(f"{method} {rule}: {r.status_code}")
    assert not failures, "\n".join(failures)


def _allowed(route: Route, actor: Actor) -> bool:
    if isinstance(route.who, frozenset):
        return actor.role in route.who
    if route.who == PARTIES:
        return actor.id in (SENDER, RECIPIENT_ID)
    if route.who == RECIPIENT:
        return actor.id == RECIPIENT_ID
    return True


def _refused_as_expected(route: Route, actor: Actor, r: Any) -> bool:
    """The refusal a caller outside the decision must get: by role, or as if T did not exist."""
    text = r.get_data(as_text=True)
    if isinstance(route.who, frozenset):
        return r.status_code == 403 and any(words in text for words in ROLE_REFUSALS)
    if route.who == RECIPIENT and actor.id == SENDER:
        return r.status_code == 403
    return r.status_code == 404  # no existence oracle: someone else's transfer is "not found"


def test_every_api_route_holds_each_participant_to_its_decision(client, world, scene) -> None:
    """Inside the decision: never a 401 nor a role refusal.  Outside it: the refusal, every time."""
    failures = []
    for (method, rule), route in sorted(ROUTES.items()):
        if route.who in (PUBLIC, PAGE):
            continue
        for actor in world.values():
            r = _call(client, method, route, scene, actor)
            text = r.get_data(as_text=True)
            if _allowed(route, actor):
                wrong = r.status_code == 401 or (r.status_code == 403 and any(w in text for w in ROLE_REFUSALS))
                wrong = wrong or (route.who in (PARTIES, RECIPIENT) and r.status_code != 200)
            else:
                wrong = not _refused_as_expected(route, actor, r)
            if wrong:
                failures.append(f"{method} {rule} as {actor.id}: {r.status_code} {text[:160]}")
    assert not failures, "\n".join(failures)


def test_pages_open_only_for_a_signed_in_la(app, world, scene) -> None:
    """Any participant signs in, but only an LA opens an LA page; a Bearer token, even an LA's, opens none."""
    school, la = world["school-145832"], world["la-330"]
    pages = [(m, r) for (m, r), route in ROUTES.items() if route.who == PAGE and m == "GET"]
    anonymous = app.test_client()
    for _, rule in pages:
        assert _is_sign_in_redirect(anonymous.get(rule, headers=la.headers)), rule
    signed_in_school = app.test_client()
    assert sign_in(signed_in_school, school).status_code == 303
    for _, rule in pages:
        assert signed_in_school.get(rule).status_code == 403, rule
    browser = app.test_client()
    assert sign_in(browser, la).status_code == 303
    for _, rule in pages:
        assert browser.get(rule).status_code == 200, rule


def test_no_body_is_parsed_before_the_caller_is_known(client, hub, scene) -> None:
    """An anonymous caller cannot reach the parsers: a bomb or an ambiguous body is just a 401."""
    bodies = [
        (b'{"kind": "ehcp", "kind": "ctf"}', "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><CTfile>&a;</CTfile>', "application/xml"),
    ]
    posts = [(rule, route) for (m, rule), route in ROUTES.items() if m == "POST" and route.who not in (PUBLIC, PAGE)]
    for rule, route in posts:
        for data, content_type in bodies:
            r = client.post(route.url.format(**scene), data=data, content_type=content_type)
            assert r.status_code == 401, (rule, content_type, r.status_code)

"""API tokens: unguessable, never stored in clear, compared safely, and failing one uniform way.

Timing-safety is checked by structure, not by the clock: the lookup goes to the database by
the token's SHA-256 (the secret itself never reaches SQL), and the final comparison is
``hmac.compare_digest``.  The hub has no failed-attempt lockout, on purpose: a token has 256
bits of entropy, so guessing is hopeless, while a lockout keyed on anything an attacker can
send would let them lock real participants out (see ``test_tokens_have_256_bits_of_entropy``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from hub_helpers import envelope, example, post_json
from sqlalchemy import event

from sendx.exchange.hub.service import participants as service
from sendx.exchange.store.database import ApiToken
from tests.security.kit import problem, stored_text

TOKEN_PREFIX = "sxt_"


def test_tokens_have_256_bits_of_entropy(hub, world) -> None:
    """Each token is the prefix and 32 random bytes (base64url): 64 issued, 64 different."""
    tokens = [hub.new_token("la-330") for _ in range(64)]
    assert len(set(tokens)) == 64
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :] + "=")
        assert len(raw) == 32
    # No shared structure either: no two tokens agree on their first 8 random characters.
    assert len({t[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8] for t in tokens}) == 64


def test_no_token_is_stored_in_clear_anywhere(client, hub, world) -> None:
    """Every row of every table (and every decrypted record) is searched for every token."""
    issued = client.post("/v1/participants/la-330/tokens", headers=world["admin"].headers)
    assert issued.status_code == 201 and issued.headers["Cache-Control"] == "no-store"
    tokens = [a.token for a in world.values()] + [issued.json["token"]]
    everything = stored_text(hub)
    for token in tokens:
        secret_part = token[len(TOKEN_PREFIX) :]
        assert token not in everything and secret_part not in everything
        assert secret_part[:16] not in everything  # not even a truncated copy
    with hub.store.read() as s:
        hashes = {row.token_hash for row in s.query(ApiToken)}
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} <= hashes


def test_token_lookup_is_by_hash_and_the_compare_is_constant_time(hub, world, monkeypatch) -> None:
    """The SQL sees only the hash; the hub confirms the match with hmac.compare_digest."""
    token = world["la-331"].token
    sent: list[Any] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(parameters)

    compared: list[tuple[Any, Any]] = []
    real_compare = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(service.hmac, "compare_digest", spy)
    event.listen(hub.store.engine, "before_cursor_execute", record)
    try:
        assert hub.authenticate(token).id == "la-331"
    finally:
        event.remove(hub.store.engine, "before_cursor_execute", record)
    digest = service.hash_token(token)
    params = repr(sent)
    assert digest in params and token not in params and token[len(TOKEN_PREFIX) :] not in params
    assert (digest, digest) in compared


WRONG_TOKENS = [
    "sxt_" + secrets.token_urlsafe(32),  # well-formed, never issued
    "sxt_",
    "sxt",
    "x" * 5000,
    secrets.token_urlsafe(32),
    "' OR '1'='1",
    "%00",
    "sxt_" + "A" * 43,
]


def test_wrong_tokens_all_get_one_uniform_401(client, hub, world) -> None:
    """No oracle: well-formed or not, a stolen hash, a revoked token, another scheme: the same answer."""
    la = world["la-330"]
    revoked = hub.new_token("la-330")
    _revoke(hub, revoked)
    candidates = [
        *WRONG_TOKENS,
        service.hash_token(la.token),  # the database's copy, presented as a token (pass-the-hash)
        la.token.upper(),
        la.token[:-1],
        la.token + "x",
        revoked,
    ]
    answers = set()
    for token in candidates:
        r = client.get("/v1/inbox", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and problem(r)["type"].endswith("/not-authorised")
        answers.add((r.get_data(as_text=True), r.headers["WWW-Authenticate"]))
    assert len(answers) == 1, answers
    # The real token still works: the uniform 401 is about the tokens, not a broken hub.
    assert client.get("/v1/inbox", headers=la.headers).status_code == 200


def test_a_revoked_token_stops_working_at_once(client, hub, world) -> None:
    token = hub.new_token("school-145833")
    assert client.get("/v1/participants/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    _revoke(hub, token)
    r = client.get("/v1/participants/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and problem(r)


MISPLACED = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic c2Nob29sOnBhc3N3b3Jk"},
    {"Authorization": "Token TOKEN"},
    {"X-Api-Token": "TOKEN"},
    {"Cookie": "token=TOKEN"},
]


def test_a_token_counts_only_as_a_bearer_credential(client, world) -> None:
    """A valid token sent anywhere but ``Authorization: Bearer`` (or in the URL) does not authenticate."""
    token = world["la-330"].token
    for headers in MISPLACED:
        sent = {k: v.replace("TOKEN", token) for k, v in headers.items()}
        for url in ("/v1/inbox", f"/v1/inbox?token={token}", f"/v1/inbox?access_token={token}"):
            r = client.get(url, headers=sent)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), (url, headers)


def test_unknown_and_known_participants_are_indistinguishable_without_a_token(client, world) -> None:
    """Anonymous callers learn nothing about which participant ids exist."""
    known = client.get("/v1/participants/school-145832/keys")
    unknown = client.get("/v1/participants/school-999999/keys")
    assert known.status_code == unknown.status_code == 401
    assert known.get_data() == unknown.get_data()


def test_other_participants_transfers_are_indistinguishable_from_missing_ones(client, world) -> None:
    """A third party asking for (or acknowledging) a real transfer id gets the answer a made-up id gets."""
    a, b, c = world["la-330"], world["school-145833"], world["school-140001"]
    tid = post_json(client, "/v1/transfers", envelope(a, b.id, example("ehcp"), "ehcp"), a).json["id"]
    made_up = "00000000-0000-4000-8000-000000000000"
    for method, suffix in (("get", ""), ("post", "/ack")):
        real = getattr(client, method)(f"/v1/transfers/{tid}{suffix}", headers=c.headers)
        fake = getattr(client, method)(f"/v1/transfers/{made_up}{suffix}", headers=c.headers)
        assert real.status_code == fake.status_code == 404
        assert real.get_data(as_text=True).replace(tid, made_up) == fake.get_data(as_text=True)


def _revoke(hub: Any, token: str) -> None:
    assert hub.revoke_tokens(hub.authenticate(token).id, token)["revoked"] == 1

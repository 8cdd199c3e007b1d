"""API tokens: unguessable, never stored in clear, compared safely, and failing one uniform way.

Timing-safety is checked by structure, not by the clock: the lookup goes to the database by
the token's SHA-256 (the secret itself never reaches SQL), and the final comparison is
``hmac.compare_digest``.  A token has 256 bits of entropy, so guessing is hopeless; unknown
tokens are still throttled, per client address and never per participant, so a third party
slows only itself (and whoever shares its address) and cannot lock a participant out; a
client's own ``X-Forwarded-For`` counts only through the configured ``SENDX_PROXY_HOPS``.
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


# ------------------------------------------------------------------ guessing, throttled per address

GUESS = "Bearer sxt_" + "G" * 43


def _me(client: Any, authorization: str, address: str, **headers: str) -> Any:
    return client.get(
        "/v1/participants/me",
        headers={"Authorization": authorization, **headers},
        environ_base={"REMOTE_ADDR": address},
    )


def _guess_until_throttled(client: Any, address: str, **headers: str) -> tuple[int, Any]:
    """Guess from ``address`` until refused with 429; how many 401s came first, and the 429."""
    from sendx.exchange.hub.service.throttle import BURST

    for n in range(BURST + 5):
        r = _me(client, GUESS, address, **headers)
        if r.status_code == 429:
            return n, r
        assert r.status_code == 401
    raise AssertionError(f"{BURST + 5} unknown tokens from {address} and never a 429")


def test_unknown_tokens_are_throttled_per_address_with_retry_after(client, world) -> None:
    from sendx.exchange.hub.service.throttle import BURST

    failed, refused = _guess_until_throttled(client, "203.0.113.5")
    assert failed == BURST and problem(refused)["type"].endswith("/too-many-attempts")
    assert int(refused.headers["Retry-After"]) >= 1
    # Refused before the lookup: not even a right token gets through from that address now...
    la = world["la-330"]
    assert _me(client, f"Bearer {la.token}", "203.0.113.5").status_code == 429
    # ...but the participant is not locked out: from its own address its token works.
    assert _me(client, f"Bearer {la.token}", "198.51.100.7").status_code == 200
    # A request with no token at all is not a guess.
    assert client.get("/v1/participants/me", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 401


def test_a_client_cannot_dodge_the_throttle_with_x_forwarded_for(client) -> None:
    """No proxies configured: a client's own X-Forwarded-For is not its address."""
    _guess_until_throttled(client, "203.0.113.9")
    for n in range(5):
        spoofed = _me(client, GUESS, "203.0.113.9", **{"X-Forwarded-For": f"192.0.2.{n}"})
        assert spoofed.status_code == 429


def test_behind_the_configured_proxy_each_client_is_throttled_alone(database_url, tmp_path) -> None:
    """SENDX_PROXY_HOPS=1: the proxy's X-Forwarded-For says who the client is; a hop it added is
    believed, one the client wrote itself is not, and one client's guessing slows no other."""
    from hub_helpers import register_cast

    from sendx.exchange.hub import create_app

    app = create_app(
        {"SENDX_HOME": str(tmp_path / "proxied"), "SENDX_DATABASE_URL": database_url, "SENDX_PROXY_HOPS": "1"}
    )
    try:
        client, cast = app.test_client(), register_cast(app.extensions["sendx.hub"])
        proxy = "127.0.0.1"
        _guess_until_throttled(client, proxy, **{"X-Forwarded-For": "203.0.113.5"})
        # The attacker writes the victim's address first; the proxy appends the real one.
        dodge = _me(client, GUESS, proxy, **{"X-Forwarded-For": "198.51.100.7, 203.0.113.5"})
        assert dodge.status_code == 429
        la = cast["la-330"]
        victim = _me(client, f"Bearer {la.token}", proxy, **{"X-Forwarded-For": "198.51.100.7"})
        assert victim.status_code == 200
    finally:
        app.extensions["sendx.hub"].store.dispose()


def test_the_sign_in_form_is_throttled_too(client, world) -> None:
    from hub_helpers import csrf_field

    from sendx.exchange.hub.service.throttle import BURST

    form = client.get("/la/sign-in")
    data = {"csrf_token": csrf_field(form.get_data(as_text=True)), "token": "sxt_" + "S" * 43}
    env = {"REMOTE_ADDR": "203.0.113.77"}
    statuses = [client.post("/la/sign-in", data=data, environ_base=env).status_code for _ in range(BURST + 1)]
    assert statuses == [401] * BURST + [429]
    last = client.post("/la/sign-in", data=data, environ_base=env)
    assert last.status_code == 429 and "Retry-After" in last.headers

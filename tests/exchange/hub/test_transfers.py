"""Transfers: send → inbox → fetch → ack, idempotency, and every rejection leaving the store unchanged."""

from __future__ import annotations

import copy
import json

import pytest
from hub_helpers import envelope, example, movement, post_json

from sendx.exchange.trust.keys import SigningKey


def _send(client, actor, env):
    return post_json(client, "/v1/transfers", env, actor)


def test_send_inbox_fetch_ack(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(), "movement")
    r = _send(client, a, env)
    assert r.status_code == 201, r.json
    tid = r.json["id"]
    assert r.json["logIndex"] == 0 and r.json["status"] == "delivered" and r.json["recipient"] == b.id
    assert r.headers["Location"].endswith(f"/v1/transfers/{tid}")

    inbox = client.get("/v1/inbox", headers=b.headers).json
    assert [t["id"] for t in inbox["items"]] == [tid]
    assert "envelope" not in inbox["items"][0]  # listing is not reading

    got = client.get(f"/v1/transfers/{tid}", headers=b.headers)
    assert got.status_code == 200
    assert got.json["envelope"] == env  # the signed envelope, byte-for-byte meaning, for the recipient to verify

    r1 = client.post(f"/v1/transfers/{tid}/ack", headers=b.headers)
    r2 = client.post(f"/v1/transfers/{tid}/ack", headers=b.headers)
    assert r1.status_code == r2.status_code == 200
    assert r1.json["status"] == "acked" and r1.json["acknowledged"] == r2.json["acknowledged"]

    def listed(status: str) -> list[str]:
        return [t["id"] for t in client.get(f"/v1/inbox?status={status}", headers=b.headers).json["items"]]

    assert listed("acked") == listed("") == [tid] and listed("delivered") == []

    log = world["la-330"]
    access = client.get("/v1/access-log", headers=log.headers).json["items"]
    assert [(e["participant"], e["transferId"], e["action"]) for e in access] == [(b.id, tid, "read")]


def test_stored_encrypted_at_rest(client, hub, world):
    a, b = world["la-330"], world["school-145833"]
    doc = example("ehcp")
    r = _send(client, a, envelope(a, b.id, doc, "ehcp"))
    assert r.status_code == 201, r.json
    assert r.json["logIndex"] is None  # an EHCP carries no movement
    from sendx.exchange.store.database import Transfer

    with hub.store.read() as s:
        row = s.get(Transfer, r.json["id"])
        assert doc["$schema"].encode() not in row.ciphertext
        assert len(row.nonce) == 12


def test_inbox_pages_newest_first(client, world):
    a, b = world["la-330"], world["school-145833"]
    ids = [_send(client, a, envelope(a, b.id, example("ehcp"), "ehcp")).json["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        q = f"/v1/inbox?limit=2{'&cursor=' + cursor if cursor else ''}"
        page = client.get(q, headers=b.headers).json
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    assert client.get("/v1/inbox?cursor=@@@", headers=b.headers).status_code == 400


def test_replay_same_key_same_body_returns_original(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(), "movement", key="replay-key-0001")
    first = _send(client, a, env)
    before = hub.counts()
    again = _send(client, a, env)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert hub.counts() == before


def test_replay_same_key_different_body_conflicts(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    assert _send(client, a, envelope(a, b.id, movement(), "movement", key="replay-key-0002")).status_code == 201
    before = hub.counts()
    r = _send(client, a, envelope(a, b.id, movement(), "movement", key="replay-key-0002"))
    assert r.status_code == 409 and r.mimetype == "application/problem+json"
    assert "idempotency key" in r.json["detail"]
    assert hub.counts() == before


def _rejected(client, hub, actor, body, status, *, raw=None, content_type="application/json"):
    before = hub.counts()
    data = raw if raw is not None else json.dumps(body)
    r = client.post("/v1/transfers", data=data, content_type=content_type, headers=actor.headers)
    assert r.status_code == status, r.json
    assert r.mimetype == "application/problem+json"
    assert r.json["status"] == status and r.json["detail"]
    assert hub.counts() == before
    return r.json


def test_invalid_document_422_with_issues(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    bad = movement()
    bad["pupil"]["upn"] = "N330200119044"  # wrong check letter
    problem = _rejected(client, hub, a, envelope(a, b.id, bad, "movement"), 422)
    assert problem["type"].endswith("/invalid-document")
    assert any("ID-UPN" in i["message"] or i["rule"] == "ID-UPN" for i in problem["issues"])


def test_malformed_envelope_422(client, hub, world):
    a = world["school-145832"]
    problem = _rejected(client, hub, a, {"kind": "ehcp"}, 422)
    assert problem["issues"] and all(i["rule"] == "ENVELOPE-SCHEMA" for i in problem["issues"])


@pytest.mark.parametrize(
    "tamper",
    ["document", "wrong-key", "unknown-key", "revoked-key", "missing"],
)
def test_bad_signatures_rejected(client, hub, world, tamper):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(), "movement")
    if tamper == "document":
        env["document"]["reason"] = "altered after signing"
    elif tamper == "wrong-key":  # signed by someone else's key but claiming the sender's kid
        other = envelope(a, b.id, env["document"], "movement", signing_key=SigningKey.generate(a.id))
        env["signature"]["jws"] = other["signature"]["jws"]
    elif tamper == "unknown-key":
        env = envelope(a, b.id, movement(), "movement", signing_key=SigningKey.generate(a.id))
    elif tamper == "revoked-key":
        hub.revoke_key(a.key.kid)
    elif tamper == "missing":
        env["signature"] = {"kid": a.key.kid, "jws": "not-a-jws"}
    problem = _rejected(client, hub, a, env, 401)
    assert problem["type"].endswith("/bad-signature")


def test_sender_must_be_caller(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(), "movement")
    _rejected(client, hub, b, env, 403)


def test_unknown_recipient_422(client, hub, world):
    a = world["school-145832"]
    problem = _rejected(client, hub, a, envelope(a, "school-999999", example("ehcp"), "ehcp"), 422)
    assert problem["type"].endswith("/unknown-recipient") and "school-999999" in problem["detail"]


def test_oversized_body_413(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(reason="x" * 400), "movement")
    raw = json.dumps(env) + " " * (300 * 1024)
    _rejected(client, hub, a, None, 413, raw=raw)


def test_wrong_content_type_415(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    env = envelope(a, b.id, movement(), "movement")
    _rejected(client, hub, a, None, 415, raw=json.dumps(env), content_type="text/plain")


@pytest.mark.parametrize("raw", ["{not json", '{"a": 1, "a": 2}', "[]", ""])
def test_malformed_json_400(client, hub, world, raw):
    _rejected(client, hub, world["school-145832"], None, 400, raw=raw)


def test_duplicate_event_id_in_new_transfer_conflicts(client, hub, world):
    a, b = world["school-145832"], world["ap-103614"]
    doc = movement()
    assert _send(client, a, envelope(a, b.id, doc, "movement")).status_code == 201
    before = hub.counts()
    r = _send(client, a, envelope(a, b.id, copy.deepcopy(doc), "movement"))
    assert r.status_code == 409 and "eventId" in r.json["detail"]
    assert hub.counts() == before


def test_an_upload_runs_three_short_transactions(client, hub, world):
    """The token lookup ends before the body is read (no transaction waits on a slow client),
    the checks read in one transaction, and the write transaction reserves the log indices
    with its first statement instead of setting the head's size at the end."""
    from sqlalchemy import event

    a, b = world["school-145832"], world["ap-103614"]
    _send(client, a, envelope(a, b.id, movement(), "movement"))  # the first request's own setup aside
    steps: list[str] = []

    def statement(conn, cursor, sql, params, context, executemany):
        if not sql.startswith("BEGIN"):  # SQLite's own BEGIN DEFERRED / IMMEDIATE (the begin event counts it)
            steps.append(" ".join(sql.split()[:3]))

    listeners = {
        "begin": lambda conn: steps.append("BEGIN"),
        "commit": lambda conn: steps.append("COMMIT"),
        "before_cursor_execute": statement,
    }
    for name, fn in listeners.items():
        event.listen(hub.store.engine, name, fn)
    try:
        r = _send(client, a, envelope(a, b.id, movement(), "movement"))
    finally:
        for name, fn in listeners.items():
            event.remove(hub.store.engine, name, fn)
    assert r.status_code == 201, r.json
    transactions: list[list[str]] = [[]]
    for step in steps:
        transactions[-1].append(step)
        if step == "COMMIT":
            transactions.append([])
    token, reads, write, after = transactions
    assert token == ["BEGIN", "SELECT api_tokens.token_hash, api_tokens.revoked_at,", "COMMIT"]
    assert reads[0] == "BEGIN" and all(s.startswith("SELECT") for s in reads[1:-1])
    assert write[:2] == ["BEGIN", "UPDATE log_head SET"] and after == []
    assert sum(s.startswith("UPDATE log_head") for s in write) == 1

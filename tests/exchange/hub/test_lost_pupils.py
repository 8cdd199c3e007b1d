"""CTFs: school-to-school by LAESTAB, and the lost-pupil pool (XXX/MMM) LAs search and redirect."""

from __future__ import annotations

import hashlib
import json

import pytest
from hub_helpers import envelope, post_json

from sendx import validators
from sendx.exchange.hub import _seams
from sendx.exchange.synth.ctf import synthetic_ctf


def _ctf(dest: str, n: int = 1, seed: int = 1) -> str:
    return synthetic_ctf(n, seed=seed, source_laestab="3304001", source_urn="145832", dest_laestab=dest).decode()


def test_ctf_to_school_by_laestab_logs_movements(client, hub, world):
    a, b = world["school-145832"], world["school-145833"]
    r = post_json(client, "/v1/transfers", envelope(a, "3304002", _ctf("3304002", n=3), "ctf"), a)
    assert r.status_code == 201, r.json
    assert r.json["recipient"] == b.id and r.json["logEntries"] == 3 and r.json["logIndex"] == 0
    assert [t["id"] for t in client.get("/v1/inbox", headers=b.headers).json["items"]] == [r.json["id"]]
    moves = client.get("/v1/movements", headers=world["la-330"].headers).json["items"]
    assert len(moves) == 3 and {m["event"]["type"] for m in moves} == {"leave"}
    assert all(m["event"]["to"]["laestab"] == "3304002" for m in moves)


def test_an_uploaded_ctf_is_read_for_its_route_once(client, world, monkeypatch):
    """The policy, the routing and the movement events share one streaming pass over the file
    (a second pass doubled the time of a 10,000-pupil upload)."""
    a = world["school-145832"]
    reads = []
    real = _seams.ctf_route
    monkeypatch.setattr(_seams, "ctf_route", lambda xml: reads.append(len(xml)) or real(xml))
    r = post_json(client, "/v1/transfers", envelope(a, "3304002", _ctf("3304002", n=2), "ctf"), a)
    assert r.status_code == 201 and r.json["logEntries"] == 2, r.json
    assert len(reads) == 1


def test_ctf_from_someone_elses_school_forbidden(client, hub, world):
    b = world["school-145833"]  # the file says it comes from 3304001
    before = hub.counts()
    r = post_json(client, "/v1/transfers", envelope(b, "3314001", _ctf("3314001"), "ctf"), b)
    assert r.status_code == 403 and hub.counts() == before


@pytest.mark.parametrize("dest", ["XXXXXXX", "MMMMMMM"])
def test_unknown_destination_goes_to_pool_and_la_redirects(client, hub, world, dest):
    a, b, la, other_la = world["school-145832"], world["school-145833"], world["la-330"], world["la-331"]
    doc = _ctf(dest)
    upn = doc.split("<UPN>")[1].split("</UPN>")[0]
    r = post_json(client, "/v1/transfers", envelope(a, dest, doc, "ctf"), a)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "lost" and r.json["recipient"] is None

    # Only the source school's LA finds it, and only by the right UPN.
    hits = client.get(f"/v1/lost-pupils?upn={upn}", headers=la.headers).json["items"]
    assert len(hits) == 1 and hits[0]["destination"] == dest and hits[0]["transferId"] == r.json["id"]
    assert client.get(f"/v1/lost-pupils?upn={upn}", headers=other_la.headers).json["items"] == []
    assert client.get("/v1/lost-pupils?upn=A123456789012", headers=la.headers).json["items"] == []
    assert client.get(f"/v1/lost-pupils?upn={upn}", headers=a.headers).status_code == 403

    lid = hits[0]["id"]
    assert post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": b.id}, other_la).status_code == 404
    red = post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": "3304002"}, la)
    assert red.status_code == 201, red.json
    assert red.json["recipient"] == b.id and red.json["redirectedFrom"] == r.json["id"]
    again = post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": b.id}, la)
    assert again.status_code == 200 and again.json == red.json
    assert post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": "ap-103614"}, la).status_code == 409

    # The status filter: open by default (also when left empty), or redirected, or all.
    def pool(query: str) -> list[str]:
        return [h["id"] for h in client.get(f"/v1/lost-pupils?upn={upn}{query}", headers=la.headers).json["items"]]

    assert pool("") == pool("&status=") == pool("&status=open") == []
    assert pool("&status=redirected") == pool("&status=all") == [lid]

    got = client.get(f"/v1/transfers/{red.json['id']}", headers=b.headers)
    assert got.status_code == 200 and got.json["envelope"]["document"] == doc
    joins = client.get(f"/v1/movements?type=join&upn={upn}", headers=la.headers).json["items"]
    assert len(joins) == 1 and joins[0]["event"]["to"]["urn"] == "145833"
    assert client.get("/v1/lost-pupils", headers=la.headers).json["items"] == []  # nothing left open


def test_redirect_to_non_school_is_422(client, hub, world):
    a, la = world["school-145832"], world["la-330"]
    post_json(client, "/v1/transfers", envelope(a, "XXXXXXX", _ctf("XXXXXXX"), "ctf"), a)
    lid = client.get("/v1/lost-pupils", headers=la.headers).json["items"][0]["id"]
    before = hub.counts()
    r = post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": "college-10001234"}, la)
    assert r.status_code == 422 and hub.counts() == before


# ------------------------------------------------------------------ one child's record per redirect


def _verifies(envelope_: dict, sender) -> bool:
    from sendx.exchange.trust.keys import TrustedKey, TrustRegistry
    from sendx.exchange.trust.signing import SignatureError, verify_envelope

    since = "2000-01-01T00:00:00Z"
    key = TrustedKey.from_dict({"kid": sender.key.kid, "jwk": sender.key.public_jwk, "notBefore": since})
    try:
        verify_envelope(envelope_, TrustRegistry({sender.id: (key,)}))
    except SignatureError:
        return False
    return True


def test_each_pooled_pupil_is_sealed_as_its_own_file_at_receipt(client, hub, world):
    from sendx.exchange.store import LostPupil

    a = world["school-145832"]
    doc = _ctf("XXXXXXX")
    r = post_json(client, "/v1/transfers", envelope(a, "XXXXXXX", doc, "ctf"), a)
    assert r.status_code == 201
    with hub.store.read() as s:
        (row,) = s.query(LostPupil).all()
    assert row.ciphertext is not None and doc.encode() not in row.ciphertext
    assert hub.cipher.decrypt(row.nonce, row.ciphertext, f"lost-pupil:{row.id}") == doc.encode()


def test_a_one_pupil_file_is_redirected_as_its_sender_signed_it(client, hub, world):
    a, b, la = world["school-145832"], world["school-145833"], world["la-330"]
    post_json(client, "/v1/transfers", envelope(a, "XXXXXXX", _ctf("XXXXXXX"), "ctf"), a)
    lid = client.get("/v1/lost-pupils", headers=la.headers).json["items"][0]["id"]
    red = post_json(client, f"/v1/lost-pupils/{lid}/redirect", {"recipient": b.id}, la)
    got = client.get(f"/v1/transfers/{red.json['id']}", headers=b.headers).json["envelope"]
    assert "derived" not in got and _verifies(got, a)


def _pool_as_the_old_hub_did(hub, sender, doc: str) -> str:
    """A lost-pupil file of several pupils pooled whole, rows without files of their own: what a hub
    before this version made of a class CTF sent to XXX (issue #17).  Returns the transfer id."""
    import uuid

    from sendx.exchange.hub._seams import ctf_route
    from sendx.exchange.store import LostPupil, Transfer

    env = envelope(sender, "XXXXXXX", doc, "ctf")
    raw = json.dumps(env).encode()
    tid = str(uuid.uuid4())
    nonce, ct = hub.cipher.encrypt(raw, tid)
    with hub.store.write() as s:
        s.add(
            Transfer(
                id=tid,
                sender_id=sender.id,
                recipient_id=None,
                kind="ctf",
                status="lost",
                idempotency_key=env["idempotencyKey"],
                request_hash="0" * 64,
                envelope_id=env["envelopeId"],
                nonce=nonce,
                ciphertext=ct,
                size=len(raw),
                log_count=0,
            )
        )
        s.flush()
        for upn in ctf_route(doc.encode()).upns:
            s.add(
                LostPupil(
                    id=str(uuid.uuid4()),
                    transfer_id=tid,
                    upn_hash=hub.cipher.index(upn),
                    source_la="330",
                    source_id=sender.id,
                    destination="XXXXXXX",
                )
            )
    return tid


def test_a_redirect_from_a_class_file_releases_one_child_only(client, hub, world):
    a, b, la = world["school-145832"], world["school-145833"], world["la-330"]
    doc = synthetic_ctf(3, seed=9, source_laestab="3304001", source_urn="145832", dest_laestab="3304002").decode()
    upns = [u.split("</UPN>")[0] for u in doc.split("<UPN>")[1:]]
    original = _pool_as_the_old_hub_did(hub, a, doc)
    hits = client.get(f"/v1/lost-pupils?upn={upns[1]}", headers=la.headers).json["items"]
    red = post_json(client, f"/v1/lost-pupils/{hits[0]['id']}/redirect", {"recipient": b.id}, la)
    assert red.status_code == 201, red.json
    got = client.get(f"/v1/transfers/{red.json['id']}", headers=b.headers).json["envelope"]
    file = got["document"]
    assert upns[1] in file and upns[0] not in file and upns[2] not in file
    assert validators.validate(file.encode()).valid
    # The hub says it cut the file, and from what; the sender's signature covers only the original.
    assert got["recipient"] == b.id and got["derived"]["by"] == "hub"
    assert got["derived"]["fromTransfer"] == original
    assert got["derived"]["sourceSha256"] == hashlib.sha256(doc.encode()).hexdigest()
    assert "signature" not in got and not _verifies({**got, "signature": got["derived"]["sourceSignature"]}, a)
    # The class file itself stays sealed: not the new school's to read.
    assert client.get(f"/v1/transfers/{original}", headers=b.headers).status_code == 404
    joins = client.get(f"/v1/movements?type=join&upn={upns[1]}", headers=la.headers).json["items"]
    assert len(joins) == 1

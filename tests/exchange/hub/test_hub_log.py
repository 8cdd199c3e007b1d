"""The log endpoints: a signed checkpoint, entries and proofs that verify offline; serialised appends."""

from __future__ import annotations

import base64
import threading

from hub_helpers import envelope, movement, post_json

from sendx.exchange.log import merkle
from sendx.exchange.log.checkpoint import Verifier, verify_checkpoint


def _b(items):
    return [base64.b64decode(x) for x in items]


def test_checkpoint_entries_and_proofs_verify(client, hub, world):
    a = world["school-145832"]
    for _ in range(5):
        doc = movement()
        doc["recordedBy"] = {"participant": a.id}
        assert post_json(client, "/v1/movements", doc, a).status_code == 201
    la = world["la-330"]
    cp = client.get("/v1/log/checkpoint", headers=la.headers).json
    verifier = Verifier.from_text(cp["verifier"])
    checkpoint = verify_checkpoint(cp["checkpoint"], verifier, origin=cp["origin"])
    assert checkpoint.size == 5
    leaves = _b(client.get("/v1/log/entries?start=0&end=5", headers=la.headers).json["entries"])
    assert merkle.root_hash(leaves) == checkpoint.root
    assert b"N330200119043" not in b"".join(leaves)  # no personal data in the public log
    for i, leaf in enumerate(leaves):
        proof = _b(client.get(f"/v1/log/proof/inclusion?index={i}&size=5", headers=la.headers).json["proof"])
        merkle.verify_inclusion(i, 5, merkle.leaf_hash(leaf), proof, checkpoint.root)
    old_root = merkle.root_hash(leaves[:2])
    proof = _b(client.get("/v1/log/proof/consistency?first=2&second=5", headers=la.headers).json["proof"])
    merkle.verify_consistency(2, 5, old_root, checkpoint.root, proof)
    for bad in ("/v1/log/proof/inclusion?index=9", "/v1/log/proof/inclusion", "/v1/log/proof/consistency?first=6"):
        r = client.get(bad, headers=la.headers)
        assert r.status_code == 400 and r.mimetype == "application/problem+json", bad


def test_concurrent_appends_keep_one_history(app, hub, world):
    """Parallel uploads (threads → separate DB connections) get distinct, gap-free log indices."""
    a, b = world["school-145832"], world["ap-103614"]
    results, errors = [], []

    def worker(n):
        client = app.test_client()
        for _ in range(n):
            r = post_json(client, "/v1/transfers", envelope(a, b.id, movement(), "movement"), a)
            (results if r.status_code == 201 else errors).append(r.json)

    threads = [threading.Thread(target=worker, args=(6,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r["logIndex"] for r in results) == list(range(24))
    with hub.store.read() as s:
        from sendx.exchange.store.lognodes import open_log

        log = open_log(s)
        assert log.size == 24 and merkle.root_hash(log.entries(0, 24)) == log.root()

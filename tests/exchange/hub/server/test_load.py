"""Load (SPEC §10/§11): 8 concurrent clients send a fixed number of transfers; none is lost or duplicated.

Two schools send signed movement envelopes to two recipients through ``sendx serve --workers 4``
from 8 client threads.  Throughput and p50/p99 latency are printed — figures, not assertions
(``bench/bench_hub.py`` is the benchmark, with the same driver); what is asserted is that every
upload was acknowledged once, reaches its recipient's inbox once, and has one log entry.
"""

from __future__ import annotations

import base64
import json
from collections import Counter

from hub_helpers import envelope, movement_by, movements_by_index

from bench.hubdriver import Upload, inbox_items, run_load
from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.log.audit import fetch_entries
from sendx.exchange.log.leaves import opens

CLIENTS = 8
WORKERS = 4


def test_eight_clients_lose_and_duplicate_nothing(served, world, hub, long_run, capsys):
    n = 2000 if long_run else 200
    pairs = [(world["school-145832"], world["ap-103614"]), (world["school-145833"], world["school-140001"])]
    envelopes = [envelope(s, r.id, movement_by(s), "movement") for k in range(n) for s, r in [pairs[k % 2]]]
    uploads = [Upload(json.dumps(e).encode(), world[e["sender"]].token) for e in envelopes]
    server = served(workers=WORKERS)

    load = run_load(server.url, uploads, clients=CLIENTS)

    assert not load.unanswered and load.lost_responses == 0, load.summary()
    assert load.statuses == Counter({201: n}), [a.body for a in load.answers if a.status != 201][:3]
    ids = [a.body["id"] for a in load.answers]
    assert len(set(ids)) == n
    for _, recipient in pairs:
        inbox = inbox_items(HubClient(server.url, recipient.token))
        expected = {a.body["id"] for a in load.answers if envelopes[a.index]["recipient"] == recipient.id}
        assert len(inbox) == len(expected) == n // 2  # nothing duplicated ...
        assert {t["id"] for t in inbox} == expected  # ... nothing lost
    auditor = HubClient(server.url, world["la-330"].token)
    size = auditor.checkpoint()["size"]
    entries = fetch_entries(auditor, size)
    assert sorted(a.body["logIndex"] for a in load.answers) == list(range(n)) == list(range(size))
    opened = movements_by_index(auditor)  # the entries disclose nothing: the LA opens them
    for a in load.answers:
        item = opened[a.body["logIndex"]]
        assert item["event"]["eventId"] == envelopes[a.index]["document"]["eventId"]
        assert opens(entries[a.body["logIndex"]], item["event"], base64.b64decode(item["salt"]))

    with capsys.disabled():
        print(f"\nload [{hub.store.dialect}]: {CLIENTS} clients, {WORKERS} workers, {n} transfers: {load.summary()}")

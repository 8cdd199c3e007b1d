"""Several gunicorn workers on one database keep ONE linear log history (issues 6 and 7).

``sendx serve --workers 4`` takes, all at once, movement envelopes, multi-pupil CTFs (whose
events must take consecutive indices) and explicit movements from a school and an LA, while
an auditor keeps reading signed checkpoints.  Everything is checked through the HTTP API: indices
0..n-1 are each handed out exactly once, each holds the event it was handed out for, and
every sampled checkpoint is a prefix of the final tree, consistent with the others by the
hub's own proofs (``sendx.exchange.log.verify``, and ``sendx.exchange.log.audit`` as ``sendx log verify`` runs it).
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hub_helpers import Actor, envelope, movement, movements_by_index

from bench.hubdriver import Answer, Upload, run_load
from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.log.audit import HubEntries, audit_log, fetch_entries
from sendx.exchange.log.checkpoint import Verifier, verify_checkpoint
from sendx.exchange.log.leaves import opens
from sendx.exchange.log.verify import VerifierState, verify_log
from sendx.exchange.synth.ctf import synthetic_ctf

WORKERS = 4
CTF_PUPILS = 3


def _uploads(world: dict[str, Actor], rounds: int) -> tuple[list[Upload], list[str | None]]:
    """Per round: 3 movement envelopes, 1 CTF of CTF_PUPILS pupils, 1 movement each from a school and an LA.

    Returns the uploads (shuffled) and, for each, the eventId its log entry must carry (None
    for a CTF, whose events are derived by the hub).
    """
    school, ap, riverside, la = world["school-145832"], world["ap-103614"], world["school-145833"], world["la-330"]
    items: list[tuple[Upload, str | None]] = []
    for n in range(rounds):
        for _ in range(3):
            doc = movement()
            env = envelope(school, ap.id, doc, "movement")
            items.append((Upload(json.dumps(env).encode(), school.token), doc["eventId"]))
        dest = riverside.info["laestab"]
        ctf = synthetic_ctf(CTF_PUPILS, seed=n, source_laestab="3304001", source_urn="145832", dest_laestab=dest)
        env = envelope(school, dest, ctf.decode(), "ctf")
        items.append((Upload(json.dumps(env).encode(), school.token), None))
        for actor, role in ((school, "school"), (la, "la")):
            doc = movement(recordedBy={"participant": actor.id, "role": role})
            items.append((Upload(json.dumps(doc).encode(), actor.token, "/v1/movements"), doc["eventId"]))
    random.shuffle(items)
    return [u for u, _ in items], [e for _, e in items]


def test_workers_share_one_linear_log(served, world, hub, long_run, capsys):
    uploads, expected_events = _uploads(world, 100 if long_run else 12)
    server = served(workers=WORKERS)
    assert len(server.processes()) == WORKERS + 1
    auditor = HubClient(server.url, world["la-331"].token)

    # Every 6th answer, that client reads a checkpoint while the others keep appending.
    samples: list[str] = []
    answers = itertools.count(1)

    def sample_checkpoint(_: Answer) -> None:
        if next(answers) % 6 == 0:
            samples.append(HubClient(server.url, world["la-331"].token).checkpoint()["checkpoint"])

    load = run_load(server.url, uploads, clients=8, on_answer=sample_checkpoint)
    assert not load.unanswered and load.lost_responses == 0, load.summary()
    assert load.statuses == Counter({201: len(uploads)}), [a.body for a in load.answers if a.status != 201][:3]

    # Every index from 0 to n-1 was handed out exactly once ...
    claimed: dict[int, tuple[int, str | None]] = {}  # log index → (upload, eventId expected there)
    for a, event_id in zip(load.answers, expected_events, strict=True):
        first, count = a.body["logIndex"], a.body.get("logEntries", 1)
        assert count == (CTF_PUPILS if event_id is None else 1), a.body
        for index in range(first, first + count):
            assert index not in claimed, f"log index {index} was given to two uploads"
            claimed[index] = (a.index, event_id)
    head = auditor.checkpoint()
    entries = fetch_entries(auditor, head["size"])
    assert sorted(claimed) == list(range(head["size"])) and len(entries) == head["size"]

    # ... and holds the event it was handed out for; nothing is in the log twice.
    # The entries disclose nothing: LA 330, in whose area every movement is, opens them.
    opened = movements_by_index(HubClient(server.url, world["la-330"].token))
    for index, (_, event_id) in claimed.items():
        item = opened[index]
        assert opens(entries[index], item["event"], base64.b64decode(item["salt"])), index
        if event_id is not None:
            assert item["event"]["eventId"] == event_id, index
        else:
            assert item["recordedBy"] == "school-145832" and item["event"]["from"]["urn"] == "145832"
    recorded = Counter((item["recordedBy"], item["event"]["eventId"]) for item in opened.values())
    assert max(recorded.values()) == 1
    ctf_blocks = Counter(upload for upload, event_id in claimed.values() if event_id is None)
    assert set(ctf_blocks.values()) == {CTF_PUPILS}  # each CTF's events sit side by side

    # Every checkpoint sampled during the load is a prefix of the final tree, and the hub's
    # consistency proof between each and the next verifies: one history, never a fork.
    verifier = Verifier.from_text(head["verifier"])
    sizes: dict[int, str] = {}
    roots: dict[int, set[bytes]] = {}
    for note in samples:
        cp = verify_checkpoint(note, verifier, origin=head["origin"])
        sizes[cp.size] = note
        roots.setdefault(cp.size, set()).add(cp.root)
    assert all(len(r) == 1 for r in roots.values()), "two roots signed for one size: a fork"
    assert len(sizes) >= 3, f"the sampler saw too few distinct checkpoints ({sorted(sizes)}) to compare"
    state = VerifierState()
    for size in sorted(sizes):  # each run reads what is new and checks the hub's consistency proof
        outcome = verify_log(HubEntries(auditor), sizes[size], verifier, state, origin=head["origin"])
        assert outcome.ok, (size, [p.message for p in outcome.problems])
        state = outcome.state
    final = audit_log(auditor, state, verifier=head["verifier"])  # what ``sendx log verify`` does
    assert final.ok and final.checkpoint is not None and final.checkpoint.size == len(claimed)

    with capsys.disabled():
        print(
            f"\nworkers [{hub.store.dialect}]: {WORKERS} workers, {len(uploads)} uploads → {len(claimed)} log "
            f"entries, one history across {len(sizes)} sampled checkpoints; {load.summary()}"
        )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a gunicorn setting: one store is enough
def test_gunicorn_opens_no_shared_control_socket(served, tmp_path: Path):
    """gunicorn ≥ 25.1 opens $XDG_RUNTIME_DIR/gunicorn.ctl (else ~/.gunicorn/gunicorn.ctl) by default:
    one path per user, taken over by each hub started after it and deleted when any of them stops."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    server = served(workers=2, env={"XDG_RUNTIME_DIR": str(runtime)})
    assert len(server.processes()) == 3
    assert list(runtime.iterdir()) == []

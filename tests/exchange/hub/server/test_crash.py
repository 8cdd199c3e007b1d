"""Crash safety (SPEC §11): killing the hub mid-load loses no acknowledged transfer.

A real hub — ``sendx serve --workers 2``, a gunicorn master and its workers — takes concurrent
uploads of signed envelopes (movements, and CTFs whose pupils each become a log entry) from
several client threads while its whole process group is SIGKILLed at random moments and
restarted on the same data directory and database.  Clients send again, byte for byte (same
idempotency key), every upload whose response was lost.  At the end every acknowledged
transfer must be present, intact and still verify against its sender's key, own exactly its
log entries, and the log must verify against every checkpoint an auditor saw before each
kill; sending everything again must only replay.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import random
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from hub_helpers import Actor, envelope, movement, movements_by_index

from bench.hubdriver import Answer, HubProcess, Upload, inbox_items, run_load
from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.log.audit import audit_log, fetch_entries
from sendx.exchange.log.leaves import opens
from sendx.exchange.log.verify import VerifierState
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.exchange.trust.keys import TrustRegistry
from sendx.exchange.trust.signing import verify_envelope

CLIENTS = 6
WORKERS = 2
ANSWERS_BETWEEN_KILLS = 15  # kills land while uploads are flowing, never before the clients are back
CTF_EVERY = 5  # one upload in five is a CTF ...
CTF_PUPILS = 2  # ... whose two log entries must commit together or not at all


class _Auditor:
    """An LA auditing the log through the API (``sendx.exchange.log.audit``, behind ``sendx log verify``),
    remembering every checkpoint it accepted, and the log key it saw first."""

    def __init__(self, server: HubProcess, token: str) -> None:
        self.server, self.token = server, token
        self.state = VerifierState()
        self.verifier: str | None = None  # pinned at first sight: the log key must survive restarts
        self.audits = 0

    def audit(self) -> list[bytes]:
        assert self.server.url is not None
        client = HubClient(self.server.url, self.token)
        if self.verifier is None:
            self.verifier = client.checkpoint()["verifier"]
        outcome = audit_log(client, self.state, verifier=self.verifier)
        assert outcome.ok and outcome.checkpoint is not None, [p.message for p in outcome.problems]
        self.state = outcome.state
        self.audits += 1
        return fetch_entries(client, outcome.checkpoint.size)


def _upload(world: dict[str, Actor], n: int) -> tuple[dict[str, Any], Actor]:
    """The n-th signed envelope from school-145832, and the participant it is delivered to."""
    sender = world["school-145832"]
    if n % CTF_EVERY == CTF_EVERY - 1:
        riverside = world["school-145833"]
        ctf = synthetic_ctf(
            CTF_PUPILS, seed=n, source_laestab="3304001", source_urn="145832", dest_laestab=riverside.info["laestab"]
        )
        return envelope(sender, riverside.info["laestab"], ctf.decode(), "ctf"), riverside
    return envelope(sender, "ap-103614", movement(), "movement"), world["ap-103614"]


def _send_and_hang_up(url: str, upload: Upload) -> None:
    """POST an upload and close the connection without reading the answer: its response is lost."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    headers = {"Authorization": f"Bearer {upload.token}", "Content-Type": "application/json"}
    conn.request("POST", upload.path, body=upload.body, headers=headers)
    conn.close()


def _wait_for_inbox_key(client: HubClient, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [t for t in inbox_items(client) if t["idempotencyKey"] == key]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"the upload with idempotency key {key} was never stored")


def test_killed_hub_loses_no_acknowledged_transfer(
    served, hub, world, long_run, capsys, run_cli, monkeypatch, tmp_path
):
    kills = 10 if long_run else 3
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    sender = world["school-145832"]
    sent = [_upload(world, n) for n in range(200 * (kills + 1))]  # more than the hub will take
    uploads = [Upload(json.dumps(env).encode(), sender.token) for env, _ in sent]
    server = served(workers=WORKERS)
    auditor = _Auditor(server, world["la-331"].token)

    answered = threading.Condition()
    count = [0]

    def on_answer(_: Answer) -> None:
        with answered:
            count[0] += 1
            answered.notify_all()

    victims: list[int] = []
    problems: list[BaseException] = []
    stop = threading.Event()

    def wait_for_answers(n: int) -> None:
        with answered:
            goal = count[0] + n
            answered.wait_for(lambda: count[0] >= goal or stop.is_set(), timeout=180)
            if count[0] < goal:
                raise AssertionError(f"the hub answered {count[0]} uploads, never {goal}\n{server.log_tail()}")

    def killer() -> None:
        try:
            for _ in range(kills):
                wait_for_answers(ANSWERS_BETWEEN_KILLS)
                auditor.audit()  # a checkpoint seen before the kill, to hold the hub to afterwards
                time.sleep(rng.uniform(0.0, 0.4))
                victims.append(server.kill())
                server.start()
            wait_for_answers(ANSWERS_BETWEEN_KILLS)  # the last restarted hub takes uploads too
        except BaseException as exc:
            problems.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=killer, name="killer")
    thread.start()
    try:
        load = run_load(lambda: server.url, uploads, clients=CLIENTS, retry_lost=True, stop=stop, on_answer=on_answer)
    finally:  # never leave the killer restarting a hub behind the fixture's back
        stop.set()
        with answered:
            answered.notify_all()
        thread.join()
    if problems:
        raise problems[0]
    assert len(victims) == kills
    assert not load.unanswered, f"uploads never answered: {load.unanswered[:5]}"
    assert load.lost_responses >= kills, "every kill should cut at least one upload's response"
    for a in load.answers:
        # First sends are never replays; a send after a lost response is a replay exactly when
        # the lost one was committed.
        assert (a.status, a.replayed) in {(201, False), (200, True)}, (a, server.log_tail())
        assert a.status == 201 or a.attempts > 1, a
    acked = {a.index: a.body for a in load.answers}
    replayed_after_kill = sum(1 for a in load.answers if a.status == 200)

    # The response lost after the commit, made certain: the client hangs up without reading the
    # answer, the upload is committed, the hub is killed; the retry must return the original.
    sent.append(_upload(world, 0))
    uploads.append(Upload(json.dumps(sent[-1][0]).encode(), sender.token))
    _send_and_hang_up(server.url, uploads[-1])
    committed = _wait_for_inbox_key(HubClient(server.url, sent[-1][1].token), sent[-1][0]["idempotencyKey"])
    victims.append(server.kill())
    server.start()
    (retry,) = run_load(server.url, uploads[-1:], clients=1).answers
    assert (retry.status, retry.replayed) == (200, True)
    assert retry.body["id"] == committed["id"] and retry.body["logIndex"] == committed["logIndex"]
    acked[len(uploads) - 1] = retry.body

    # Every acknowledged transfer is there once, in its recipient's inbox, under its original id.
    recipients = {pid: HubClient(server.url, world[pid].token) for pid in ("ap-103614", "school-145833")}
    stored = [t for client in recipients.values() for t in inbox_items(client)]
    assert len(stored) == len(acked), f"{len(stored)} transfers stored for {len(acked)} acknowledged"
    assert {t["idempotencyKey"]: t["id"] for t in stored} == {
        sent[i][0]["idempotencyKey"]: body["id"] for i, body in acked.items()
    }

    # Intact: the document the recipient fetches is what was sent, and its signature verifies
    # against the sender's own key (not just the hub's copy of it).
    sender_keys = TrustRegistry({sender.id: (sender.key.trusted(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)),)})
    for i, body in acked.items():
        env, recipient = sent[i]
        fetched = recipients[recipient.id].transfer(body["id"])
        assert fetched["envelope"] == env
        assert (fetched["logIndex"], fetched["logEntries"]) == (body["logIndex"], body["logEntries"])
        assert verify_envelope(fetched["envelope"], sender_keys).kid == sender.key.kid

    # Each transfer owns exactly its own entries — a CTF all of its pupils' — and no entry belongs
    # to a transfer nobody was told about; the log verifies against every checkpoint seen before a kill.
    # The entries disclose nothing, so the sender checks them with the openings it is given.
    entries = auditor.audit()
    opened = movements_by_index(HubClient(server.url, sender.token))
    owner: dict[int, int] = {}
    for i, body in acked.items():
        env = sent[i][0]
        assert body["logEntries"] == (CTF_PUPILS if env["kind"] == "ctf" else 1), body
        for index in range(body["logIndex"], body["logIndex"] + body["logEntries"]):
            assert index not in owner, f"log entry {index} is claimed by two transfers"
            owner[index] = i
            item = opened[index]
            assert opens(entries[index], item["event"], base64.b64decode(item["salt"]))
            if env["kind"] == "movement":
                assert item["event"]["eventId"] == env["document"]["eventId"]
            assert item["recordedBy"] == sender.id
    assert sorted(owner) == list(range(len(entries)))

    # Sending everything again (a client that never saw an answer) only replays the originals.
    again = run_load(server.url, [uploads[i] for i in sorted(acked)], clients=CLIENTS)
    assert [(a.status, a.replayed) for a in again.answers] == [(200, True)] * len(acked)
    assert [a.body for a in again.answers] == [acked[i] for i in sorted(acked)]
    assert len(auditor.audit()) == len(entries)
    assert sum(len(inbox_items(client)) for client in recipients.values()) == len(acked)
    assert server.kills == kills + 1
    assert all(v >= WORKERS + 1 for v in victims), f"SIGKILL must reach the master and every worker: {victims}"

    # And the auditor's own tool agrees: ``sendx log verify`` against everything seen across the kills.
    state_file = tmp_path / "log-state.json"
    auditor.state.save(state_file)
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "auditor"))
    monkeypatch.setenv("SENDX_HUB_URL", server.url)
    monkeypatch.setenv("SENDX_TOKEN", world["la-331"].token)
    cli = run_cli("log", "verify", "--state", state_file, "--verifier", auditor.verifier, "--format", "json")
    assert cli.exit_code == 0, cli.output
    verdict = json.loads(cli.output)
    assert verdict["ok"] and verdict["entries"] == len(entries)

    with capsys.disabled():
        print(
            f"\ncrash [{hub.store.dialect}] seed {seed}: {server.kills} kills survived ({sum(victims)} processes "
            f"SIGKILLed); {len(acked)} acknowledged transfers verified (stored once, fetched intact, signature, "
            f"{len(entries)} log entries); {load.lost_responses} sends without an answer retried, "
            f"{replayed_after_kill} of them already committed (replayed) + 1 deliberate; {auditor.audits} log audits"
        )

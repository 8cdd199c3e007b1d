"""An existing hub moves to leaf format 2 verifiably: the old log stays, frozen and checkable
against what its auditors verified, and the new log's first entry commits to its final checkpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from hub_helpers import movement
from werkzeug.serving import make_server

from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.hub import create_app
from sendx.exchange.hub.app import load_log_signer
from sendx.exchange.hub.config import load_config
from sendx.exchange.hub.service.sealed import movement_aad
from sendx.exchange.log.audit import audit_log
from sendx.exchange.log.leaves import BridgeLeaf, MovementLeaf, parse_leaf
from sendx.exchange.log.verify import VerifierState, verify_log
from sendx.exchange.store import Participant, Store
from sendx.exchange.store.atrest import Cipher
from sendx.exchange.store.lognodes import append_leaves, open_log
from sendx.exchange.trust.canonical import canonical_json

OLD = 6
ZEROED = 4  # a row damaged before the upgrade: its new entry is one no event opens


def _old_hub(config: dict) -> tuple[bytes, VerifierState]:
    """A hub database at revision 0001, written as the hub wrote it then (format 1 leaves);
    return its log's root and an auditor's state from verifying it."""
    cfg = load_config(config)
    store = Store(cfg.database_url)
    store.migrate("0001")
    cipher, signer = Cipher(cfg.storage_key), load_log_signer(cfg)
    columns = [
        "event_id",
        "recorded_by",
        "type",
        "effective_date",
        "upn_hash",
        "from_la",
        "to_la",
        "school_la",
        "from_ap",
        "to_ap",
        "request_hash",
        "salt",
        "nonce",
        "ciphertext",
        "log_index",
        "created_at",
    ]
    movements = sa.table("movements", *(sa.column(c) for c in columns))
    leaves = []
    with store.write() as s:
        s.add_all(  # the participants table is the same at 0001 and 0002
            [
                Participant(id="school-145832", role="school", name="K", la="330", laestab="3304001", urn="145832"),
                Participant(id="la-330", role="la", name="LA 330", la="330"),
            ]
        )
        s.flush()
        for i in range(OLD):
            event = movement(recordedBy={"participant": "school-145832", "role": "school"})
            plaintext = canonical_json(event)
            nonce, ct = cipher.encrypt(plaintext, movement_aad("school-145832", event["eventId"]))
            row = {
                "event_id": event["eventId"],
                "recorded_by": "school-145832",
                "type": event["type"],
                "effective_date": sa.func.current_date(),
                "upn_hash": cipher.index(event["pupil"]["upn"]),
                "from_la": "330",
                "to_la": "330",
                "school_la": "330",
                "from_ap": False,
                "to_ap": True,
                "request_hash": "x",
                "salt": bytes([i]) * 32,
                "nonce": nonce,
                "ciphertext": bytes(len(ct)) if i == ZEROED else ct,
                "log_index": i,
                "created_at": sa.func.current_timestamp(),
            }
            s.execute(movements.insert().values(**row))
            leaves.append(canonical_json({"v": 1, "eventId": event["eventId"], "type": event["type"]}))
        append_leaves(s, store.lock_log_head(s), leaves)
    with store.read() as s:
        log = open_log(s)
        root, note = log.root(), log.checkpoint(signer, cfg.log_origin)
        state = verify_log(log, note, signer.verifier()).state
    store.dispose()
    return root, state


@contextmanager
def _served(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_an_existing_hub_moves_to_the_new_log_verifiably(database_url, tmp_path, run_cli, monkeypatch):
    config = {"SENDX_HOME": str(tmp_path / "home"), "SENDX_DATABASE_URL": database_url}
    old_root, old_state = _old_hub(config)
    origin = load_config(config).log_origin

    app = create_app(config)  # migrates to 0002 and carries the log over
    hub = app.extensions["sendx.hub"]
    try:
        assert (hub.previous_origin, hub.log_origin) == (origin, f"{origin}/2")
        with hub.store.read() as s:
            new = open_log(s)
            assert new.size == OLD + 1
            bridge, *carried = new.entries()
        assert parse_leaf(bridge) == BridgeLeaf(old_state.checkpoints[-1].checkpoint)
        assert parse_leaf(bridge).checkpoint.root == old_root
        assert all(isinstance(parse_leaf(x), MovementLeaf) and parse_leaf(x).las == ("330",) for x in carried)
        assert hub.upgrade_log() == 0  # a second start changes nothing

        with _served(app) as url:
            la = HubClient(url, hub.new_token("la-330"))
            assert la.checkpoint()["previous"] == origin
            # The old log, frozen: what its auditor verified before still holds.
            old = audit_log(la, old_state, previous=True)
            assert old.ok and old.checkpoint.size == OLD and old.read == 0, old.problems
            # The new log: entry 0 is the old log's final checkpoint, signed; LA 330's movements are
            # its entries 1.., each at its old index + 1; the row damaged before is named, not lost.
            fresh = audit_log(la, VerifierState(), la="330")
            assert [(p.kind, p.index) for p in fresh.problems] == [("damaged-movement", ZEROED + 1)]
            items = la.movements(limit=200)["items"]
            assert sorted(i["logIndex"] for i in items) == [i + 1 for i in range(OLD) if i != ZEROED]
            assert audit_log(la, VerifierState()).ok  # the log itself verifies, bridge included

            # ``sendx log verify`` with the state kept before: it is the previous log's, and says so.
            monkeypatch.setenv("SENDX_HUB_URL", url)
            monkeypatch.setenv("SENDX_TOKEN", la.token)
            monkeypatch.setenv("SENDX_HOME", str(tmp_path / "auditor"))
            kept = tmp_path / "old-state.json"
            old_state.save(kept)
            r = run_cli("log", "verify", "--state", kept)
            assert r.exit_code == 2 and "holds checkpoints of the log this hub replaced" in r.output
            r = run_cli("log", "verify", "--previous", "--state", kept)
            assert r.exit_code == 0 and f"log verified: {OLD} entries" in r.output, r.output
    finally:
        hub.store.dispose()

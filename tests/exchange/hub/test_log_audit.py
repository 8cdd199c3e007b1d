"""Auditing a live hub's log (``sendx.exchange.log.audit`` and ``sendx log``) against tampering, on both stores.

The attacker here has write access to the hub database and keeps the hub signing: after
changing the stored entries it rebuilds the Merkle nodes through the hub's own append path,
so the hub serves, and signs, a self-consistent tree for the altered history.  Only what an
auditor verified before (its state file) or a receipt a sender kept can expose that; an
entry changed *without* rebuilding the tree is caught even on a first verification.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from hub_helpers import movement, post_json
from sqlalchemy import delete, select, update
from werkzeug.serving import make_server

from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.log.audit import audit_log
from sendx.exchange.log.checkpoint import Signer, Verifier
from sendx.exchange.log.leaves import MovementLeaf, parse_leaf
from sendx.exchange.log.receipt import open_receipt
from sendx.exchange.log.verify import VerifierState
from sendx.exchange.store.database import AreaMovement, LogLeaf, LogNode, Movement
from sendx.exchange.store.lognodes import append_leaves

EVENTS = 8


@pytest.fixture
def live(app, client, world) -> Iterator[HubClient]:
    """The app served on a free port, with ``EVENTS`` movements logged, as LA 330's client."""
    school = world["school-145832"]
    for _ in range(EVENTS):
        doc = movement()
        doc["recordedBy"] = {"participant": school.id}
        assert post_json(client, "/v1/movements", doc, school).status_code == 201
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HubClient(f"http://127.0.0.1:{server.server_port}", world["la-330"].token)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _leaves(hub) -> list[bytes]:
    with hub.store.read() as s:
        return [bytes(x) for x in s.scalars(select(LogLeaf.leaf).order_by(LogLeaf.index))]


def _rewrite(hub, leaves: list[bytes]) -> None:
    """Replace the whole log with ``leaves``, rebuilding the tree the way the hub appends."""
    with hub.store.write() as s:
        s.execute(delete(LogNode))
        s.execute(delete(LogLeaf))
        hub.store.lock_log_head(s)
        append_leaves(s, 0, leaves)  # the emptied tables hold a log of size 0


def _verified(live) -> VerifierState:
    first = audit_log(live, VerifierState())
    assert first.ok, first.problems
    assert first.entries == EVENTS and first.checkpoint.size == EVENTS
    return first.state


def test_clean_log_verifies_and_grows_consistently(live, client, hub, world):
    state = _verified(live)
    school = world["school-145832"]
    for _ in range(3):
        doc = movement()
        doc["recordedBy"] = {"participant": school.id}
        assert post_json(client, "/v1/movements", doc, school).status_code == 201
    again = audit_log(live, state, index=EVENTS + 1)
    assert again.ok, again.problems
    assert [c.checkpoint.size for c in again.state.checkpoints] == [EVENTS, EVENTS + 3]


def _altered(leaf: bytes) -> bytes:
    """The same entry committing to something else (a well-formed leaf, as a forger would write)."""
    parsed = parse_leaf(leaf)
    return MovementLeaf(parsed.las, bytes(32)).to_bytes()


def _edit(leaves):
    leaves[2] = _altered(leaves[2])
    return leaves, 2, "changed"


def _delete(leaves):
    del leaves[2]
    return leaves, 2, "deleted"


def _reorder(leaves):
    leaves[1], leaves[3] = leaves[3], leaves[1]
    return leaves, 1, "swapped"


def _insert(leaves):
    leaves.insert(2, _altered(leaves[5]))
    return leaves, 2, "inserted"


@pytest.mark.parametrize("attack", [_edit, _delete, _reorder, _insert], ids=lambda f: f.__name__[1:])
def test_history_rewritten_behind_a_checkpoint_names_the_first_altered_entry(live, hub, attack):
    state = _verified(live)
    leaves, first, word = attack(_leaves(hub))
    _rewrite(hub, leaves)
    fresh = audit_log(live, VerifierState())
    assert fresh.ok  # the rewritten log is self-consistent: only what was seen before can tell
    result = audit_log(live, state)
    assert not result.ok and result.first_altered == first
    assert any(word in p.message for p in result.problems), result.problems
    assert result.state == state  # a failed verification never replaces the state


def test_an_entry_changed_without_rebuilding_the_tree_fails_even_a_first_verification(live, hub):
    with hub.store.write() as s:
        s.execute(update(LogLeaf).where(LogLeaf.index == 4).values(leaf=b'{"forged":true}'))
    result = audit_log(live, VerifierState())
    assert not result.ok
    assert [(p.kind, p.index) for p in result.problems] == [("altered-entry", 4)]
    assert "changed after it was logged" in result.problems[0].message


def test_a_new_log_key_is_refused(live, hub):
    state = _verified(live)
    hub.log_signer = Signer.generate(hub.log_origin)  # the hub re-signs with a key of its own choosing
    result = audit_log(live, state)
    assert not result.ok and [p.kind for p in result.problems] == ["log-key-changed"]


def test_a_kept_receipt_exposes_a_rewrite_a_first_verification_cannot_see(live, hub):
    receipt = live.receipt(3)
    assert audit_log(live, VerifierState(), receipt=receipt).ok
    leaves = _leaves(hub)
    leaves[3] = _altered(leaves[3])
    _rewrite(hub, leaves)
    result = audit_log(live, VerifierState(), receipt=receipt)
    assert not result.ok and result.problems[0].kind == "receipt" and result.first_altered == 3


def test_receipt_endpoint_serves_a_c2sp_tlog_proof(live, client, world):
    r = client.get("/v1/log/receipt?index=3&download", headers=world["la-330"].headers)
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")  # LA 330's movement: it opens the entry
    opened = open_receipt(text, Verifier.from_text(live.checkpoint()["verifier"]))
    assert opened.index == 3 and opened.event["recordedBy"]["participant"] == "school-145832"
    other = client.get("/v1/log/receipt?index=3", headers=world["la-331"].headers).get_data(as_text=True)
    assert other.startswith("c2sp.org/tlog-proof@v1\nindex 3\n")  # not LA 331's: the proof alone
    assert "sendx-log-3.tlog-proof" in r.headers["Content-Disposition"]
    for bad in ("/v1/log/receipt", f"/v1/log/receipt?index={EVENTS}", "/v1/log/receipt?index=-1"):
        assert client.get(bad, headers=world["la-330"].headers).status_code == 400, bad
    assert client.get("/v1/log/receipt?index=0").status_code == 401


def test_sendx_log_verify_and_receipt_commands(live, hub, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("SENDX_HUB_URL", live.base_url)
    monkeypatch.setenv("SENDX_TOKEN", live.token)
    state = tmp_path / "state.json"
    receipt = tmp_path / "entry-5.tlog-proof"
    r = run_cli("log", "receipt", "5", "-o", receipt)
    assert r.exit_code == 0 and receipt.read_text().startswith("c2sp.org/tlog-proof@v1")
    r = run_cli("log", "verify", "--state", state, "--receipt", receipt, "--index", "5")
    assert r.exit_code == 0, r.output
    assert f"log verified: {EVENTS} entries" in r.output and "receipt entry-5.tlog-proof verifies" in r.output
    assert "first verification" in r.output
    assert json.loads(state.read_text())["checkpoints"][0]["size"] == EVENTS
    again = run_cli("log", "verify", "--state", state)  # the same log again: one checkpoint seen before
    assert again.exit_code == 0 and "consistent with 1 checkpoint seen before" in again.output, again.output

    leaves = _leaves(hub)
    _rewrite(hub, [*leaves[:6], leaves[7], leaves[6]])
    r = run_cli("log", "verify", "--state", state, "--format", "json")
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert out["ok"] is False and out["firstAltered"] == 6
    r = run_cli("log", "verify", "--state", state)
    assert r.exit_code == 1 and "the first altered entry is 6" in r.output


def test_log_verify_index_past_the_end_is_a_usage_error(live, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("SENDX_HUB_URL", live.base_url)
    monkeypatch.setenv("SENDX_TOKEN", live.token)
    r = run_cli("log", "verify", "--state", tmp_path / "state.json", "--index", "99")
    assert r.exit_code == 2, r.output
    assert f"there is no entry 99: the log holds {EVENTS} entries" in r.output
    assert "altered" not in r.output


# ------------------------------------------------------------------ an LA's audit covers its area


def _row_id(s, index: int) -> int:
    return s.scalar(select(Movement.id).where(Movement.log_index == index))


def _rescope(hub, world) -> int:
    """The row and its place in the area index (what the LA's reads select by) moved to LA 331."""
    with hub.store.write() as s:
        mid = _row_id(s, 2)
        s.execute(update(Movement).where(Movement.id == mid).values(from_la="331", to_la="331", school_la="331"))
        s.execute(delete(AreaMovement).where(AreaMovement.movement_id == mid, AreaMovement.la == "331"))
        s.execute(update(AreaMovement).where(AreaMovement.movement_id == mid).values(la="331"))
    return 2


def _delete_row(hub, world) -> int:
    with hub.store.write() as s:
        mid = _row_id(s, 5)
        s.execute(delete(AreaMovement).where(AreaMovement.movement_id == mid))
        s.execute(delete(Movement).where(Movement.id == mid))
    return 5


def _swap_rows(hub, world) -> int:
    """Two rows trade places in the log (their log indices swapped)."""
    with hub.store.write() as s:
        s.execute(update(Movement).where(Movement.log_index == 1).values(log_index=-1))
        s.execute(update(Movement).where(Movement.log_index == 3).values(log_index=1))
        s.execute(update(Movement).where(Movement.log_index == -1).values(log_index=3))
    return 1


def _zero_row(hub, world) -> int:
    with hub.store.write() as s:
        ct = s.scalar(select(Movement.ciphertext).where(Movement.log_index == 6))
        s.execute(update(Movement).where(Movement.log_index == 6).values(ciphertext=bytes(len(ct))))
    return 6


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (_rescope, "missing-movement"),
        (_delete_row, "missing-movement"),
        (_swap_rows, "damaged-movement"),
        (_zero_row, "damaged-movement"),
    ],
    ids=["re-scoped-away", "deleted", "re-ordered", "zeroed"],
)
def test_an_las_audit_names_the_entry_of_a_tampered_movement_row(
    live, hub, world, run_cli, monkeypatch, tmp_path, damage, kind
):
    monkeypatch.setenv("SENDX_HUB_URL", live.base_url)
    monkeypatch.setenv("SENDX_TOKEN", live.token)  # LA 330
    state = tmp_path / "state.json"
    r = run_cli("log", "verify", "--state", state)
    assert r.exit_code == 0 and f"area 330: the {EVENTS} entries naming it are the movements" in r.output, r.output
    entry = damage(hub, world)
    r = run_cli("log", "verify", "--state", state)
    assert r.exit_code == 1, r.output
    assert f"the first altered entry is {entry}" in r.output and kind in r.output
    # The log itself is intact: an auditor without an area (a school) still verifies it.
    assert audit_log(live, VerifierState()).ok


def test_a_movement_re_scoped_into_the_area_is_named(live, app, hub, world):
    client = app.test_client()
    other = world["school-140001"]
    doc = movement()
    doc["recordedBy"] = {"participant": other.id}
    doc["from"] = {"name": "Hilltop School", "urn": "140001", "laestab": "3314001", "la": "331", "ap": False}
    doc["to"] = {"name": "Hilltop Annexe", "urn": "140002", "la": "331", "ap": True}
    index = post_json(client, "/v1/movements", doc, other).json["logIndex"]
    assert audit_log(live, VerifierState(), la="330").ok
    with hub.store.write() as s:  # the row, and a place in LA 330's area index beside LA 331's
        mid = _row_id(s, index)
        s.execute(update(Movement).where(Movement.id == mid).values(to_la="330"))
        theirs = s.execute(select(AreaMovement.__table__).where(AreaMovement.movement_id == mid)).mappings().first()
        s.execute(AreaMovement.__table__.insert().values({**theirs, "la": "330"}))
    result = audit_log(live, VerifierState(), la="330")
    assert not result.ok and [(p.kind, p.index) for p in result.problems] == [("re-scoped", index)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # only SQLite lets a column hold another type
def test_a_mistyped_leaf_is_named_damaged_storage(live, hub, run_cli, monkeypatch, tmp_path):
    from sqlalchemy import text

    with hub.store.write() as s:
        s.execute(text("UPDATE log_leaves SET leaf = 'not bytes' WHERE \"index\" = 3"))
    result = audit_log(live, VerifierState())
    assert not result.ok and [(p.kind, p.index) for p in result.problems] == [("damaged-storage", 3)]
    assert "entry 3 is stored as str, not bytes" in result.problems[0].message
    monkeypatch.setenv("SENDX_HUB_URL", live.base_url)
    monkeypatch.setenv("SENDX_TOKEN", live.token)
    r = run_cli("log", "verify", "--state", tmp_path / "state.json")
    assert r.exit_code == 1 and "damaged-storage" in r.output and "unexpected" not in r.output

"""``sendx admin`` and the client commands (send/inbox/fetch/ack/movements) against a live hub."""

from __future__ import annotations

import json
import threading

import pytest
from hub_helpers import example
from werkzeug.serving import make_server

from sendx.exchange.trust.keys import KeyStore


@pytest.fixture
def live(tmp_path, monkeypatch):
    """A hub home on SQLite, administered through the CLI, served on a free local port."""
    home = tmp_path / "home"
    monkeypatch.setenv("SENDX_HOME", str(home))
    monkeypatch.delenv("SENDX_DATABASE_URL", raising=False)
    yield home


def test_admin_and_client_round_trip(live, run_cli, monkeypatch, tmp_path):
    assert "log verifier key" in run_cli("admin", "init").output
    for args in (
        (
            "--id",
            "school-145832",
            "--role",
            "school",
            "--name",
            "Kingsbridge",
            "--urn",
            "145832",
            "--laestab",
            "3304001",
        ),
        (
            "--id",
            "ap-103614",
            "--role",
            "school",
            "--name",
            "Northfield PRU",
            "--urn",
            "103614",
            "--laestab",
            "3301100",
        ),
        ("--id", "la-330", "--role", "la", "--name", "Northfield Council", "--la", "330"),
    ):
        r = run_cli("admin", "participant", "add", *args)
        assert r.exit_code == 0, r.output
    dup = run_cli("admin", "participant", "add", "--id", "la-330", "--role", "la", "--name", "x", "--la", "330")
    assert dup.exit_code == 2 and "already registered" in dup.output
    assert "school-145832" in run_cli("admin", "participant", "list").output

    keys = KeyStore(live)
    sender_key = keys.generate("school-145832")
    jwk_file = tmp_path / "pub.jwk"
    jwk_file.write_text(json.dumps(sender_key.public_jwk))
    r = run_cli("admin", "key", "add", "--participant", "school-145832", "--jwk", jwk_file)
    assert r.exit_code == 0 and sender_key.kid in r.output
    tokens = {
        p: run_cli("admin", "token", "new", "--participant", p).output.strip()
        for p in ("school-145832", "ap-103614", "la-330")
    }
    assert all(t.startswith("sxt_") for t in tokens.values())

    from sendx.exchange.hub import create_app

    server = make_server("127.0.0.1", 0, create_app({"SENDX_AUTO_MIGRATE": False}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SENDX_HUB_URL", f"http://127.0.0.1:{server.server_port}")

        def as_(pid):
            monkeypatch.setenv("SENDX_TOKEN", tokens[pid])
            monkeypatch.setenv("SENDX_PARTICIPANT", pid)

        as_("school-145832")
        move = example("movement", "ap-placement-start")
        doc = tmp_path / "move.json"
        doc.write_text(json.dumps(move))
        r = run_cli("send", doc, "--to", "ap-103614", "--format", "json")
        assert r.exit_code == 0, r.output
        tid = json.loads(r.output)["id"]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**move, "pupil": {"upn": "N330200119044"}, "eventId": "MV-2"}))
        r = run_cli("send", bad, "--to", "ap-103614")
        assert r.exit_code == 1 and "ID-UPN" in r.output  # the hub's 422 issues reach the user

        as_("ap-103614")
        assert tid in run_cli("inbox").output
        out = tmp_path / "got.json"
        r = run_cli("fetch", tid, "-o", out)
        assert r.exit_code == 0 and "signature ok" in r.output
        assert json.loads(out.read_text()) == move
        assert json.loads(run_cli("ack", tid, "--format", "json").output)["status"] == "acked"
        assert run_cli("fetch", "no-such-id").exit_code == 2

        as_("la-330")
        listing = run_cli("movements", "list", "--ap").output
        assert "ap-placement-start" in listing and "Northfield" in listing
    finally:
        server.shutdown()


def test_client_without_token_is_a_clear_error(live, run_cli, monkeypatch):
    monkeypatch.delenv("SENDX_TOKEN", raising=False)
    r = run_cli("inbox")
    assert r.exit_code == 2 and "sendx login" in r.output


def test_unreachable_hub(live, run_cli, monkeypatch):
    monkeypatch.setenv("SENDX_TOKEN", "x")
    monkeypatch.setenv("SENDX_HUB_URL", "http://127.0.0.1:9")
    r = run_cli("inbox")
    assert r.exit_code == 2 and "cannot reach the hub" in r.output


def test_admin_token_revoke_one_or_all(live, run_cli):
    from sendx.exchange.hub import create_app

    assert run_cli("admin", "init").exit_code == 0
    add = ("admin", "participant", "add", "--id", "la-330", "--role", "la", "--name", "Northfield", "--la", "330")
    assert run_cli(*add).exit_code == 0
    first, second, third = (run_cli("admin", "token", "new", "--participant", "la-330").output.strip() for _ in "123")
    api = create_app({"SENDX_AUTO_MIGRATE": False}).test_client()

    def status(token: str) -> int:
        return api.get("/v1/participants/me", headers={"Authorization": f"Bearer {token}"}).status_code

    assert {status(t) for t in (first, second, third)} == {200}
    r = run_cli("admin", "token", "revoke", "--participant", "la-330", "--token", "-", input=first + "\n")
    assert r.exit_code == 0 and r.output == "revoked 1 token of la-330\n"
    assert (status(first), status(second), status(third)) == (401, 200, 200)
    again = run_cli("admin", "token", "revoke", "--participant", "la-330", "--token", first)
    assert again.exit_code == 2 and "not a live token" in again.output
    r = run_cli("admin", "token", "revoke", "--participant", "la-330", "--format", "json")
    assert json.loads(r.output)["revoked"] == 2 and {status(second), status(third)} == {401}
    assert run_cli("admin", "token", "revoke", "--participant", "nobody").exit_code == 2


def test_movements_export_writes_the_areas_csv_with_progress(live, run_cli, monkeypatch, tmp_path):
    import csv
    import io

    from sendx.exchange.hub import build_hub, create_app
    from sendx.exchange.hub.service.movements import append_movements
    from sendx.exchange.synth.movements import synthetic_movements

    hub = build_hub()
    hub.add_participant("la-330", "la", "Northfield Council", la="330")
    hub.add_participant("school-145832", "school", "Kingsbridge", urn="145832", laestab="3304001")
    la = hub.authenticate(hub.new_token("la-330"))
    events = list(synthetic_movements(1200, seed=4, la="330"))
    with hub.store.write() as s:
        append_movements(hub, s, la, events, None)
    tokens = {p: hub.new_token(p) for p in ("la-330", "school-145832")}
    app = create_app({"SENDX_AUTO_MIGRATE": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SENDX_HUB_URL", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.setenv("SENDX_TOKEN", tokens["la-330"])
        monkeypatch.setenv("SENDX_PARTICIPANT", "la-330")
        out = tmp_path / "area.csv"
        r = run_cli("movements", "export", "-o", out, "--ap", "--format", "json")
        assert r.exit_code == 0, r.output
        assert "exporting" in r.stderr
        rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert json.loads(r.stdout) == {"rows": len(rows), "file": str(out)}
        api = app.test_client().get(
            "/v1/movements/export?ap=1", headers={"Authorization": f"Bearer {tokens['la-330']}"}
        )
        assert out.read_bytes() == api.data and api.mimetype == "text/csv"
        assert 100 < len(rows) < len(events) and all("true" in (r["fromAp"], r["toAp"]) for r in rows)
        assert [r["effectiveDate"] for r in rows] == sorted((r["effectiveDate"] for r in rows), reverse=True)
        assert not (tmp_path / "area.csv.part").exists()

        everything = run_cli("movements", "export")  # to stdout
        assert everything.exit_code == 0 and f"exported {len(events):,} movements" in everything.stderr
        assert everything.stdout_bytes.count(b"\r\n") == len(events) + 1

        bad = run_cli("movements", "export", "--type", "teleport", "-o", tmp_path / "x.csv")
        assert bad.exit_code == 2 and "teleport" in bad.output and not (tmp_path / "x.csv").exists()
        monkeypatch.setenv("SENDX_TOKEN", tokens["school-145832"])
        monkeypatch.setenv("SENDX_PARTICIPANT", "school-145832")
        refused = run_cli("movements", "export")
        assert refused.exit_code != 0 and "role la" in refused.output
    finally:
        server.shutdown()
        hub.store.dispose()

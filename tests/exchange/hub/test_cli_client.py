"""The participant's commands against a live hub: one --format convention, login from a pipe,
``fetch -o`` keeping the signature, ``trust pull`` for offline ``verify``, and ``lost-pupils``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_helpers import example
from werkzeug.serving import make_server

from sendx.adapters.ctf import ctf_to_pupils
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.exchange.trust.keys import KeyStore


@pytest.fixture
def served(app, world, tmp_path, monkeypatch) -> Iterator[str]:
    """The hub on a free local port; $SENDX_HOME is a participant's machine (its key store)."""
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "me"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("SENDX_HUB_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def as_(hub, world, monkeypatch):
    """Act as a participant: its token in the environment, and a key of its own in the key store."""

    def act(pid: str) -> None:
        monkeypatch.setenv("SENDX_TOKEN", world[pid].token)
        monkeypatch.setenv("SENDX_PARTICIPANT", pid)
        store = KeyStore()
        if not any(org == pid for org, _ in store.trust()):
            hub.add_key(pid, store.generate(pid).public_jwk)

    return act


def _write(path: Path, doc: object) -> Path:
    path.write_text(
        json.dumps(doc) if not isinstance(doc, (bytes, str)) else doc.decode() if isinstance(doc, bytes) else doc
    )
    return path


def test_login_reads_a_piped_token_without_a_warning(served, world, tmp_path) -> None:
    home = tmp_path / "fresh"
    env = {**os.environ, "SENDX_HOME": str(home)}
    env.pop("SENDX_TOKEN", None)
    r = subprocess.run(
        [sys.executable, "-m", "sendx.exchange", "login", "--hub", served, "--participant", "la-330"],
        input=(world["la-330"].token + "\n").encode(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert b"Warning" not in r.stderr and b"getpass" not in r.stderr.lower()
    profile = home / "profile.json"
    assert json.loads(profile.read_text())["token"] == world["la-330"].token
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600 and stat.S_IMODE(home.stat().st_mode) == 0o700


def test_send_inbox_ack_speak_text_by_default_and_json_on_request(served, as_, run_cli, tmp_path) -> None:
    as_("la-330")
    plan = _write(tmp_path / "plan.json", example("ehcp"))
    sent = run_cli("send", plan, "--to", "school-145832")
    assert sent.exit_code == 0, sent.output
    assert sent.output.startswith("sent plan.json (ehcp) to school-145832: transfer ")
    tid = sent.output.split("transfer ")[1].split(",")[0]

    as_("school-145832")
    assert tid in run_cli("inbox").output and "from la-330" in run_cli("inbox").output
    listed = json.loads(run_cli("inbox", "--format", "json").output)
    assert [t["id"] for t in listed["items"]] == [tid]
    old = run_cli("inbox", "--json")  # the old flag is gone: one convention
    assert old.exit_code == 2 and "No such option '--json'" in old.output
    assert run_cli("ack", tid).output == f"acknowledged {tid} (ehcp from la-330)\n"


def test_movements_add_and_list_speak_text_and_json(served, as_, run_cli, tmp_path) -> None:
    as_("school-145832")
    move = example("movement", "ap-placement-start")
    added = run_cli("movements", "add", _write(tmp_path / "m.json", move))
    assert added.exit_code == 0 and added.output.startswith(f"recorded {move['eventId']} (log entry ")
    as_("la-330")
    assert "ap-placement-start" in run_cli("movements", "list").output
    page = json.loads(run_cli("movements", "list", "--format", "json").output)
    assert [m["event"]["eventId"] for m in page["items"]] == [move["eventId"]]


@pytest.mark.parametrize("kind", ["ehcp", "ctf"])
def test_fetch_keeps_the_signature_so_verify_passes_offline(served, as_, run_cli, tmp_path, kind) -> None:
    if kind == "ehcp":
        sender, doc, name = "la-330", _write(tmp_path / "plan.json", example("ehcp")), "got.json"
    else:
        ctf = synthetic_ctf(2, seed=4, source_laestab="3304001", dest_laestab="3304002", source_urn="145832")
        sender, doc, name = "school-145832", _write(tmp_path / "leavers.xml", ctf), "got.xml"
    as_(sender)
    tid = json.loads(run_cli("send", doc, "--to", "school-145833", "--format", "json").output)["id"]

    as_("school-145833")
    got = tmp_path / name
    fetched = run_cli("fetch", tid, "-o", got)
    assert fetched.exit_code == 0, fetched.output
    sidecar = tmp_path / ("got.sig.json" if kind == "ehcp" else "got.xml.sig")
    assert sidecar.exists() and "signature beside it" in fetched.output
    assert stat.S_IMODE(got.stat().st_mode) == 0o600
    pulled = run_cli("trust", "pull")  # the hub's registry: the sender's key among them
    assert pulled.exit_code == 0 and "keys of" in pulled.output, pulled.output
    verified = run_cli("verify", got)
    assert verified.exit_code == 0 and f"valid signature by {sender}" in verified.output, verified.output
    got.write_bytes(got.read_bytes().replace(b"2", b"3", 1))  # one changed character
    assert run_cli("verify", got).exit_code == 1


def test_trust_pull_lists_public_keys_only(served, as_, run_cli, client, world, tmp_path) -> None:
    as_("college-10001234")
    out = tmp_path / "hub-trust.json"
    r = run_cli("trust", "pull", "-o", out, "--format", "json")
    assert r.exit_code == 0, r.output
    registry = json.loads(out.read_text())
    assert set(registry["participants"]) == set(world) and json.loads(r.output)["keys"] >= len(world)
    text = out.read_text()
    assert "Kingsbridge" not in text and '"d"' not in text  # ids and public keys, nothing else
    assert client.get("/v1/keys").status_code == 401  # not without a token


def test_lost_pupils_search_and_redirect(served, as_, run_cli, tmp_path) -> None:
    as_("school-145832")
    ctf = synthetic_ctf(1, seed=9, source_laestab="3304001", dest_laestab="XXXXXXX", source_urn="145832")
    upn = ctf_to_pupils(ctf)["pupils"][0]["upn"]
    assert run_cli("send", _write(tmp_path / "lost.xml", ctf), "--to", "XXXXXXX").exit_code == 0

    as_("la-330")
    found = json.loads(run_cli("lost-pupils", "--upn", upn, "--format", "json").output)["items"]
    assert len(found) == 1 and found[0]["status"] == "open"
    assert found[0]["id"] in run_cli("lost-pupils").output
    moved = run_cli("lost-pupils", "redirect", found[0]["id"], "--to", "school-145833")
    assert moved.exit_code == 0 and moved.output.startswith(f"redirected {found[0]['id']} to school-145833")
    assert "no lost pupils (open)" in run_cli("lost-pupils").output
    assert "-> school-145833" in run_cli("lost-pupils", "--status", "redirected").output

    as_("school-145832")  # a school has no pool to search
    refused = run_cli("lost-pupils")
    assert refused.exit_code == 2 and "this needs the role" in refused.output, refused.output

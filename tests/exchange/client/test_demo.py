"""``sendx demo``: the whole SPEC §9 story runs against a real hub and checks itself."""

from __future__ import annotations

import json

from sendx.exchange.client.demo import DEMO_PARTICIPANTS, run_demo
from sendx.exchange.hub import build_hub


def test_demo_tells_the_whole_story_and_leaves_the_data(tmp_path):
    lines: list[str] = []
    result = run_demo(lines.append, home=tmp_path / "demo")
    text = "\n".join(lines)
    assert result.ok, text
    assert result.steps == ["validate", "ctf", "ap", "health", "passport", "audit", "log"]
    assert set(result.transfers) >= {"ctf", "health-advice", "ehcp", "passport"}
    assert "Coventry's case is not among them: True" in text
    assert "signed checkpoint verified" in text
    assert "the same audit on the LA pages: signed in with the la-330 token" in text
    assert f"http://127.0.0.1:8700/plans/{result.transfers['ehcp']}" in text

    # The data stays browsable: the same store, opened afresh, holds what the demo did.
    hub = build_hub({"SENDX_HOME": str(result.home)})
    try:
        counts = hub.counts()
        assert {p["id"] for p in hub.list_participants()} == {p[0] for p in DEMO_PARTICIPANTS}
    finally:
        hub.store.engine.dispose()
    assert counts["transfers"] >= 6 and counts["movements"] == result.log_size
    tokens = json.loads((result.home / "demo-tokens.json").read_text())
    assert set(tokens) == {p[0] for p in DEMO_PARTICIPANTS}
    assert (result.home / "demo-tokens.json").stat().st_mode & 0o077 == 0
    assert "<h1" in (result.home / "plan.html").read_text()


def test_demo_reruns_from_scratch_but_never_wipes_a_foreign_directory(tmp_path, run_cli):
    home = tmp_path / "demo"
    assert run_cli("demo", "--home", home).exit_code == 0
    again = run_cli("demo", "--home", home)
    assert again.exit_code == 0, again.output
    assert "log index 0" in again.output  # a fresh hub, not the previous run's

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    refused = run_cli("demo", "--home", foreign)
    assert refused.exit_code == 2 and "refusing to overwrite" in refused.output
    assert (foreign / "notes.txt").read_text() == "keep me"

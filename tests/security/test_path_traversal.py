"""Path traversal: no identifier that comes from input can climb out of where it belongs.

Identifiers become file names (a participant id names its key directory; a file names its
signature sidecar) and URL path segments (transfer, participant, key and lost-pupil ids in
the hub's routes and the client's requests).  Each test feeds ``..``, encoded slashes,
absolute paths, NUL, trailing newlines and look-alike letters through the entry point and
checks that nothing outside the intended place is read, written or answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from hub_helpers import envelope, example, post_json

from sendx.exchange.client.hubclient import HubClient
from sendx.exchange.trust.keys import KeyStore
from sendx.exchange.trust.signing import default_signature_path
from sendx.validators.errors import InputError, NotFoundError
from tests.security.kit import ctf_text, problem, table_counts

TRAVERSAL_IDS = [
    "..",
    ".",
    "../la-330",
    "../../etc/passwd",
    "/etc/passwd",
    "a/b",
    "a\\..\\b",
    "la-330\n",
    "la-330\x00",
    "-rf",
    "",
    "x" * 65,
    "ｌａ-330",  # fullwidth letters
    "lа-330",
    "school:145832",
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --------------------------------------------------------------------------- the hub's URLs

HUB_TRAVERSALS = [
    ("get", "/v1/transfers/../participants"),
    ("get", "/v1/transfers/..%2Fparticipants"),
    ("get", "/v1/transfers/%2e%2e%2fparticipants"),
    ("get", "/v1/transfers/%2E%2E"),
    ("get", "/v1/transfers/.."),
    ("get", "/v1/transfers/%00", 400),  # NUL: refused before it reaches the store
    ("get", "/v1/transfers/" + "a" * 4096),
    ("get", "/v1/participants/..%2Fparticipants%2Fme/keys"),
    ("get", "/v1/participants/%2e%2e/keys"),
    ("post", "/v1/transfers/..%2F..%2Fparticipants%2Fla-330%2Ftokens/ack"),
    ("post", "/v1/participants/..%2Fla-330/tokens"),
    ("post", "/v1/participants/school-145832/keys/..%2F..%2Fla-330%2Ftokens/revoke"),
    ("post", "/v1/lost-pupils/..%2F..%2Fparticipants/redirect"),
    ("get", "/plans/..%2Fv1%2Fparticipants"),
    ("get", "/plans/%2e%2e"),
    ("get", "/static/../app.py"),
    ("get", "/static/..%2fapp.py"),
    ("get", "/static/%2e%2e/%2e%2e/hub/config.py"),
    ("get", "//v1/participants"),
]


def test_traversal_in_hub_urls_reaches_no_other_resource(client, hub, world) -> None:
    """Even the admin, whose token opens every route, gets a 404 problem and nothing else."""
    admin = world["admin"]
    a = world["la-330"]
    sent = post_json(client, "/v1/transfers", envelope(a, "school-145833", example("ehcp"), "ehcp"), a)
    assert sent.status_code == 201
    before = table_counts(hub)
    for method, url, *status in HUB_TRAVERSALS:
        r = getattr(client, method)(url, headers=admin.headers, json={"recipient": "school-145833"})
        assert r.status_code == (status or [404])[0], (url, r.status_code, r.get_data(as_text=True)[:300])
        text = r.get_data(as_text=True)
        assert problem(r) and "sxt_" not in text and sent.json["id"] not in text and "Kingsbridge" not in text, url
    assert table_counts(hub) == before  # no token issued, no key revoked, nothing acknowledged


def test_only_the_static_route_takes_a_path_with_slashes(app) -> None:
    """Ids in routes use the default converter (no "/"): a new route cannot quietly accept paths."""
    with_paths = [r.rule for r in app.url_map.iter_rules() if any(c == "path" for c in _converters(r))]
    assert with_paths == ["/static/<path:filename>"]


def _converters(rule: Any) -> list[str]:
    return [type(conv).__name__.lower().removesuffix("converter") for conv in rule._converters.values()]


def test_hub_refuses_participant_ids_that_are_not_safe_names(client, hub, world) -> None:
    """A participant id names its key directory: the hub registers only ids a key store accepts."""
    before = table_counts(hub)
    for pid in TRAVERSAL_IDS:
        body = {"id": pid, "role": "la", "name": "Imposter", "la": "339"}
        r = post_json(client, "/v1/participants", body, world["admin"])
        assert r.status_code == 400 and "participant id" in problem(r)["detail"], (pid, r.get_data(as_text=True))
    assert table_counts(hub) == before
    ok = post_json(client, "/v1/participants", {"id": "la-339", "role": "la", "name": "X", "la": "339"}, world["admin"])
    assert ok.status_code == 201  # the same request with a safe id is accepted


def test_admin_cli_refuses_a_participant_named_dot_dot(tmp_path: Path, run_cli, monkeypatch) -> None:
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "hub"))
    monkeypatch.delenv("SENDX_DATABASE_URL", raising=False)
    result = run_cli("admin", "participant", "add", "--id", "..", "--role", "la", "--name", "X", "--la", "339")
    assert result.exit_code == 2 and "participant id '..'" in result.stderr


# --------------------------------------------------------------------------- the key store


@pytest.mark.parametrize("org", TRAVERSAL_IDS[:-2])
def test_keys_new_writes_nothing_outside_the_key_store(org: str, tmp_path: Path, run_cli) -> None:
    """sendx keys new --org <id>: refused with exit 2, and no file appears anywhere."""
    home = tmp_path / "nest" / "home"
    home.mkdir(parents=True)
    before = _tree(tmp_path)
    result = run_cli("keys", "new", "--org", org, "--home", home)
    assert result.exit_code == 2 and "participant id" in result.stderr, (org, result.output)
    assert _tree(tmp_path) == before


def test_key_ids_and_orgs_from_the_command_line_name_no_file(tmp_path: Path, run_cli) -> None:
    home = tmp_path / "home"
    key = KeyStore(home).generate("la-330")
    for kid in ("../../../etc/passwd", key.kid + "\n", f"../la-330/{key.kid}", "*"):
        with pytest.raises(InputError, match="not a key id"):
            KeyStore(home).load_private(kid)
    assert KeyStore(home).load_private(key.kid).kid == key.kid
    assert run_cli("keys", "export", "--org", "../la-330", "--home", home).exit_code == 2
    assert run_cli("keys", "revoke", "../../trust.json", "--home", home).exit_code == 2
    with pytest.raises(NotFoundError):
        KeyStore(home).current("../la-330")


def test_trust_file_naming_a_traversal_participant_is_refused_by_verify(tmp_path: Path, run_cli) -> None:
    home = tmp_path / "home"
    KeyStore(home).generate("la-330")
    doc = tmp_path / "plan.json"
    doc.write_text(json.dumps(example("ehcp")))
    assert run_cli("sign", doc, "--home", home).exit_code == 0
    trust = json.loads((home / "trust.json").read_text())
    trust["participants"] = {"../../la-330": trust["participants"]["la-330"]}
    bad = tmp_path / "trust.json"
    bad.write_text(json.dumps(trust))
    result = run_cli("verify", doc, "--trust", bad)
    assert result.exit_code == 2 and "participant id '../../la-330' is not allowed" in result.stderr


@pytest.mark.parametrize("name", ["a.xml", "a.json", "a", ".json", "..json", "...xml", "plan.sig.json"])
def test_signature_sidecars_stay_beside_the_signed_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "dir" / name
    assert default_signature_path(path).parent == path.parent
    assert default_signature_path(path) != path


# --------------------------------------------------------------------------- outputs the CLI writes


def test_cli_outputs_into_a_missing_directory_are_a_clear_io_error(tmp_path: Path, run_cli) -> None:
    """-o into a directory that does not exist: exit 2 and the reason, not "internal error ... a bug"."""
    ctf = tmp_path / "file.xml"
    ctf.write_text(ctf_text())
    home = tmp_path / "home"
    KeyStore(home).generate("la-330")
    missing = tmp_path / "missing" / "out"
    for args in (
        ("convert", ctf, "--to", "pupil-json", "-o", missing),
        ("keys", "export", "--org", "la-330", "--home", home, "-o", missing),
        ("sign", ctf, "--home", home, "-o", missing),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2 and "No such file or directory" in result.stderr, (args, result.output)
        assert "internal error" not in result.stderr
    assert not missing.parent.exists()
    result = run_cli("convert", ctf, "--to", "pupil-json", "-o", tmp_path)  # a directory
    assert result.exit_code == 2 and "is a directory" in result.output


# --------------------------------------------------------------------------- the client's requests


class _HubOverTestClient:
    """requests.Session's ``request`` answered by the Flask test client, so HubClient meets the real hub."""

    def __init__(self, client: Any) -> None:
        self.client, self.paths = client, []

    def request(
        self, method: str, url: str, *, data=None, headers=None, params=None, timeout=None, stream=False
    ) -> Any:
        prepared = requests.Request(method, url, params=params).prepare()  # what requests would send
        path = urlsplit(prepared.url).path
        self.paths.append(path)
        r = self.client.open(path, method=method, data=data, headers=headers)
        return _Reply(r.status_code, r.get_data())


class _Reply:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code, self.content = status, content


CLIENT_CALLS = [
    (lambda c: c.transfer("../participants/me"), "/v1/transfers/"),
    (lambda c: c.ack("../../participants/la-330/tokens"), "/v1/transfers/"),
    (lambda c: c.keys("../inbox"), "/v1/participants/"),
    (lambda c: c.redirect("../../participants", "school-145833"), "/v1/lost-pupils/"),
]


def test_client_ids_stay_one_path_segment(client, world) -> None:
    """sendx fetch ../participants/me must ask for a transfer of that name, not for /v1/participants/me
    (and likewise ack, a participant's keys, a lost-pupil redirect)."""
    for call, prefix in CLIENT_CALLS:
        session = _HubOverTestClient(client)
        hub_client = HubClient("http://hub.test", world["la-330"].token, session=session)
        with pytest.raises(NotFoundError):
            call(hub_client)
        [path] = session.paths
        assert path.startswith(prefix) and "/../" not in path and not path.endswith("/.."), path


@pytest.mark.parametrize("tid", ["..", ".", ""])
def test_client_refuses_ids_a_proxy_would_resolve_away(tid: str) -> None:
    """requests turns "%2E" back into ".", so "." and ".." cannot be sent as one segment: refused."""
    session = _HubOverTestClient(None)
    with pytest.raises(InputError, match="is not an id"):
        HubClient("http://hub.test", "sxt_x", session=session).transfer(tid)
    assert session.paths == []

"""``sendx keys …``, ``sendx sign`` and ``sendx verify`` through the CLI."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EHCP = REPO / "schemas" / "ehcp" / "examples" / "ehcp-final-secondary.json"
CTF = REPO / "tests" / "data" / "signing" / "ctf-three-pupils.xml"
ENVELOPE = REPO / "schemas" / "envelope" / "examples" / "envelope-passport-signed.json"
EXAMPLE_TRUST = REPO / "tests" / "data" / "signing" / "trust-la-330.json"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "sendx-home"
    monkeypatch.setenv("SENDX_HOME", str(path))
    return path


def _new_key(run_cli, org: str = "la-330") -> str:
    result = run_cli("keys", "new", "--org", org, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["kid"]


def test_keys_new_list_export(run_cli, home):
    kid = _new_key(run_cli)
    pem = home / "keys" / "la-330" / f"{kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    listed = json.loads(run_cli("keys", "list", "--format", "json").output)
    assert [(k["org"], k["kid"], k["hasPrivateKey"]) for k in listed] == [("la-330", kid, True)]
    assert kid in run_cli("keys", "list").output
    exported = run_cli("keys", "export", "--org", "la-330")
    assert exported.exit_code == 0
    trust = json.loads(exported.output)
    assert trust["participants"]["la-330"]["keys"][0]["kid"] == kid
    assert "PRIVATE" not in exported.output and '"d"' not in exported.output


def test_sign_and_verify_json_sidecar(run_cli, home, tmp_path):
    _new_key(run_cli)
    doc = tmp_path / "plan.json"
    shutil.copy(EHCP, doc)
    signed = run_cli("sign", doc)
    assert signed.exit_code == 0, signed.output
    sidecar = tmp_path / "plan.sig.json"
    assert set(json.loads(sidecar.read_text())) == {"kid", "signer", "signedAt", "jws"}
    assert doc.read_bytes() == EHCP.read_bytes()  # the document itself is untouched
    ok = run_cli("verify", doc, "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.output)["valid"] is True
    # Re-indenting keeps it valid; changing a value does not.
    doc.write_text(json.dumps(json.loads(doc.read_text()), indent=1))
    assert run_cli("verify", doc).exit_code == 0
    data = json.loads(doc.read_text())
    data["status"] = "draft"
    doc.write_text(json.dumps(data))
    bad = run_cli("verify", doc, "--format", "json")
    assert bad.exit_code == 1
    assert json.loads(bad.output) | {"file": None} == {
        "file": None,
        "valid": False,
        "reason": "payload-altered",
        "message": "payload altered: the content is not what was signed",
    }
    text = run_cli("verify", doc)
    assert text.exit_code == 1 and "payload altered" in text.output


def test_sign_and_verify_ctf_detached(run_cli, home, tmp_path):
    _new_key(run_cli)
    ctf = tmp_path / "8012000_CTF_8014001_001.xml"
    shutil.copy(CTF, ctf)
    out = tmp_path / "elsewhere.sig"
    assert run_cli("sign", ctf, "-o", out).exit_code == 0
    assert out.read_text().count(".") == 2  # a compact JWS
    assert run_cli("verify", ctf, "--sig", out).exit_code == 0
    ctf.write_text(ctf.read_text().replace("<UPN>B801200005001<", "<UPN>B8012000<!---->05001<"))
    result = run_cli("verify", ctf, "--sig", out, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.output)["reason"] == "payload-altered"


def test_revoke_then_verify_fails(run_cli, home, tmp_path):
    kid = _new_key(run_cli)
    doc = tmp_path / "plan.json"
    shutil.copy(EHCP, doc)
    assert run_cli("sign", doc).exit_code == 0
    revoked = run_cli("keys", "revoke", kid, "--reason", "compromised")
    assert revoked.exit_code == 0, revoked.output
    result = run_cli("verify", doc, "--format", "json")
    assert result.exit_code == 1 and json.loads(result.output)["reason"] == "revoked-key"
    assert "revoked" in run_cli("keys", "list").output


def test_rotation_via_cli_keeps_old_signatures_valid(run_cli, home, tmp_path):
    old = _new_key(run_cli)
    doc = tmp_path / "plan.json"
    shutil.copy(EHCP, doc)
    assert run_cli("sign", doc).exit_code == 0
    new = _new_key(run_cli)
    assert new != old
    assert json.loads(run_cli("verify", doc, "--format", "json").output)["kid"] == old
    assert run_cli("sign", doc, "--org", "la-330").exit_code == 0
    assert json.loads(run_cli("verify", doc, "--format", "json").output)["kid"] == new


def test_verify_with_another_participants_trust_file(run_cli, home, tmp_path):
    result = run_cli("verify", ENVELOPE, "--trust", EXAMPLE_TRUST, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["signer"] == "la-330"
    # Against a registry that does not know the key: invalid (1), not a usage error.
    _new_key(run_cli, "college-10012345")
    unknown = run_cli("verify", ENVELOPE, "--format", "json")
    assert unknown.exit_code == 1 and json.loads(unknown.output)["reason"] == "unknown-key"


def test_sign_envelope_in_place(run_cli, home, tmp_path):
    _new_key(run_cli)
    env = json.loads(ENVELOPE.read_text())
    del env["signature"]
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps(env))
    assert run_cli("sign", path).exit_code == 0
    assert "signature" in json.loads(path.read_text())
    assert run_cli("verify", path).exit_code == 0
    assert run_cli("validate", path).exit_code == 0


def test_usage_errors_exit_2(run_cli, home, tmp_path):
    doc = tmp_path / "plan.json"
    shutil.copy(EHCP, doc)
    assert run_cli("sign", doc).exit_code == 2  # no keys yet
    assert run_cli("verify", doc).exit_code == 2  # no trust file
    _new_key(run_cli)
    assert run_cli("verify", doc).exit_code == 2  # no signature sidecar
    assert run_cli("keys", "revoke", "not-a-kid").exit_code == 2
    assert run_cli("keys", "new", "--org", "../escape").exit_code == 2
    assert run_cli("keys", "revoke", "x", "--at", "yesterday").exit_code == 2
    garbage = tmp_path / "plan.sig.json"
    garbage.write_text('{"jws": "truncated"}')
    assert run_cli("verify", doc).exit_code == 1


def test_a_key_id_starting_with_a_dash_is_still_an_argument(run_cli, home, monkeypatch):
    """Thumbprints are base64url: one in 64 starts with '-', which click would read as an option."""
    from sendx.exchange.trust import keys

    dashed = next(k for k in iter(lambda: keys.SigningKey.generate("la-330"), None) if k.kid.startswith("-"))
    monkeypatch.setattr(keys.SigningKey, "generate", classmethod(lambda cls, org: dashed))
    assert _new_key(run_cli) == dashed.kid
    revoked = run_cli("keys", "revoke", dashed.kid, "--reason", "superseded")
    assert revoked.exit_code == 0, revoked.output
    assert run_cli("keys", "revoke", "--reason", "retired", dashed.kid).exit_code == 0
    listed = json.loads(run_cli("keys", "list", "--format", "json").output)
    assert [k["kid"] for k in listed] == [dashed.kid] and listed[0]["revokedAt"]


def test_sign_standard_input_writes_the_signature_to_stdout(run_cli, home, tmp_path):
    _new_key(run_cli)
    result = run_cli("sign", "-", input=EHCP.read_bytes())
    assert result.exit_code == 0, result.output
    assert "signed <stdin> as la-330" in result.stderr
    doc = tmp_path / "plan.json"
    shutil.copy(EHCP, doc)
    (tmp_path / "plan.sig.json").write_text(result.stdout)  # kept beside the document by hand
    assert run_cli("verify", doc).exit_code == 0


def test_sign_standard_input_to_a_file(run_cli, home, tmp_path):
    _new_key(run_cli)
    ctf = tmp_path / "leavers.xml"
    shutil.copy(CTF, ctf)
    sig = tmp_path / "leavers.xml.sig"
    result = run_cli("sign", "-", "-o", sig, input=ctf.read_bytes())
    assert result.exit_code == 0 and sig.read_text().count(".") == 2  # a compact JWS
    assert run_cli("verify", ctf).exit_code == 0


def test_sign_standard_input_that_is_no_document(run_cli, home):
    _new_key(run_cli)
    result = run_cli("sign", "-", input=b"hello")
    assert result.exit_code == 2 and "not a JSON or XML document (at <stdin>)" in result.stderr

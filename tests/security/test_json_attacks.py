"""JSON attacks through every door JSON comes in by: each is refused with a clear error
(DOC-PARSE issue, RFC 9457 problem, or ``sendx: error:`` and an exit code), and none is
half-accepted.

The point of the strict parser is that two readers of the same bytes must never see two
documents: a duplicate key (first-wins here, last-wins there), a number one side reads as
Infinity, a string with a lone surrogate that one side cannot even encode.  So every
entry point is checked: ``validators.validate``, every hub route with a JSON body, the CLI
(validate, convert, render, verify with signature and trust files, admin key add, send,
movements add), the hub client's reading of responses and profile, and the JWS header
inside every signature.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import envelope, example, movement, post_json

from sendx import validators
from sendx.exchange.client.hubclient import HubClient, HubError, load_profile
from sendx.exchange.trust.keys import KeyStore, SigningKey, TrustRegistry, b64url_encode
from sendx.exchange.trust.signing import Failure, SignatureError, canonical_json, sign_json, verify_json
from sendx.validators import parsing
from sendx.validators.errors import ConfigError, InputError, TooLargeError
from tests.security.conftest import MAX_BODY
from tests.security.kit import messages, problem, table_counts


@dataclass(frozen=True)
class JsonAttack:
    name: str
    body: bytes
    words: str
    status: int = 400  # what the hub answers where it parses the body itself


ATTACKS = [
    JsonAttack("duplicate-key", b'{"kind": "ehcp", "kind": "ctf"}', "duplicate key 'kind'"),
    JsonAttack("duplicate-key-nested", b'{"document": {"upn": "A", "upn": "B"}}', "duplicate key 'upn'"),
    JsonAttack("nan", b'{"amount": NaN}', "NaN is not allowed"),
    JsonAttack("infinity", b'{"amount": Infinity}', "Infinity is not allowed"),
    JsonAttack("negative-infinity", b'{"amount": -Infinity}', "-Infinity is not allowed"),
    JsonAttack("number-overflowing-to-infinity", b'{"amount": 1e400}', "overflows to Infinity"),
    JsonAttack("integer-of-5000-digits", b'{"amount": ' + b"9" * 5000 + b"}", "too many digits"),
    JsonAttack("lone-surrogate-in-value", b'{"planId": "EHCP-\\ud800"}', "lone surrogate"),
    JsonAttack("lone-surrogate-in-key", b'{"\\udc00": 1}', "lone surrogate"),
    JsonAttack("deep-nesting-100k-arrays", b"[" * 100_000 + b"]" * 100_000, "nested too deeply", 413),
    JsonAttack("deep-nesting-200-objects", b'{"a":' * 200 + b"1" + b"}" * 200, "nested too deeply", 413),
    JsonAttack("non-utf8-bytes", b'{"name": "\xff\xfe"}', "not UTF-8"),
    JsonAttack("utf16-encoded", '{"name": "x"}'.encode("utf-16"), "not UTF-8"),
    JsonAttack("control-character", b'{"name": "\x00"}', "not valid JSON"),
    JsonAttack("truncated", b'{"name": "Amara', "not valid JSON"),
    JsonAttack("whitespace-only", b"  \n ", "empty"),
]
BY_NAME = {a.name: a for a in ATTACKS}


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_python_api_refuses_json_attack(attack: JsonAttack) -> None:
    """load_json raises a clear InputError; validators.validate reports one DOC-PARSE issue."""
    with pytest.raises(InputError) as refused:
        parsing.load_json(attack.body)
    assert attack.words in refused.value.message
    assert isinstance(refused.value, TooLargeError) == (attack.status == 413)
    report = validators.validate(attack.body)
    assert not report.valid and report.rules() == {"DOC-PARSE"}
    assert attack.words in report.issues[0].message
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # printable: no surrogate leaks out


def test_lone_surrogate_is_located_by_json_pointer() -> None:
    report = validators.validate(b'{"child": {"names": ["Amara", "\\udfff"]}}')
    assert report.issues[0].location == "/child/names/1"


def test_valid_surrogate_pairs_and_big_but_finite_numbers_still_parse() -> None:
    """The refusals are exact: an emoji written as a surrogate pair, 1e308 and 4,300 digits are JSON."""
    assert parsing.load_json(b'["\\ud83d\\ude00", 1e308, ' + b"9" * 4300 + b"]")[0] == "\U0001f600"
    assert parsing.load_json(b"[" * parsing.MAX_JSON_DEPTH + b"]" * parsing.MAX_JSON_DEPTH)


@pytest.mark.parametrize("kind", ["ehcp", "movement", "passport", "envelope"])
def test_python_objects_json_cannot_carry_are_invalid_not_a_crash(kind: str) -> None:
    """validators.validate on a dict built in Python: a lone surrogate or 300 levels is a report."""
    lone = {"$schema": f"https://schemas.sendx.org.uk/{kind}/v1", "id": "\ud800"}
    deep: Any = "leaf"
    for _ in range(300):
        deep = {"a": deep}
    nested = {"$schema": f"https://schemas.sendx.org.uk/{kind}/v1", "x": deep}
    for doc, words in ((lone, "not valid Unicode"), (nested, "cannot be checked")):
        report = validators.validate(doc)
        assert not report.valid and words in report.issues[0].message, report.to_dict()


# --------------------------------------------------------------------------- the hub


def _routes(world: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every hub route that parses a JSON body, with a caller allowed to use it."""
    return [
        ("/v1/transfers", world["school-145832"]),
        ("/v1/movements", world["school-145832"]),
        ("/fhir/$validate", world["health-RXH"]),
        ("/v1/participants", world["admin"]),
        ("/v1/participants/school-145832/keys", world["admin"]),
        ("/v1/lost-pupils/any-id/redirect", world["la-330"]),
    ]


def test_hub_refuses_every_json_attack_on_every_route(client, hub, world) -> None:
    """Each route answers a 4xx problem naming the attack (/v1/validate: an invalid report); nothing
    is stored; no attack reaches a 5xx."""
    before = table_counts(hub)
    failures = []
    for attack in ATTACKS:
        la = world["la-330"].headers
        r = client.post("/v1/validate", data=attack.body, content_type="application/json", headers=la)
        if r.status_code != 200 or r.json["valid"] or attack.words not in messages(r.json):
            failures.append(f"{attack.name} /v1/validate: {r.status_code} {r.get_data(as_text=True)[:200]}")
        for url, actor in _routes(world):
            r = client.post(url, data=attack.body, content_type="application/json", headers=actor.headers)
            body = json.loads(r.get_data(as_text=True))
            refused = r.status_code == attack.status and r.mimetype == "application/problem+json"
            if not refused or attack.words not in body["detail"]:
                failures.append(f"{attack.name} {url}: {r.status_code} {body}")
    assert not failures, "\n".join(failures)
    assert table_counts(hub) == before


def test_envelope_carrying_two_documents_is_refused_before_its_signature_is_read(client, hub, world) -> None:
    """The classic split: one reader takes the first "document", the signer signed the last one."""
    a = world["school-145832"]
    signed = envelope(a, "school-145833", example("ehcp"), "ehcp")
    decoy = json.dumps({"planId": "EHCP-DECOY"})
    raw = json.dumps(signed).replace('"document": ', f'"document": {decoy}, "document": ', 1)
    before = table_counts(hub)
    r = client.post("/v1/transfers", data=raw, content_type="application/json", headers=a.headers)
    assert r.status_code == 400 and "duplicate key 'document'" in problem(r)["detail"]
    assert table_counts(hub) == before


WRONG_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"]


def test_wrong_content_types_get_415_on_every_json_route(client, hub, world) -> None:
    body = json.dumps(movement()).encode()
    for url, actor in _routes(world):
        for content_type in [*WRONG_TYPES, None]:
            kw = {"content_type": content_type} if content_type else {}
            r = client.post(url, data=body, headers=actor.headers, **kw)
            assert r.status_code == 415, (url, content_type, r.status_code)
            assert problem(r)["type"].endswith("/unsupported-media-type") and "content type" in r.json["detail"]


def test_oversized_bodies_get_413_problem_json_on_every_route(client, hub, world) -> None:
    """Declared or chunked (no Content-Length), a body over the limit is a 413 and nothing is stored."""
    big = b'{"reason": "' + b"x" * (MAX_BODY + 1024) + b'"}'
    before = table_counts(hub)
    for url, actor in [*_routes(world), ("/v1/validate", world["la-330"])]:
        declared = client.post(url, data=big, content_type="application/json", headers=actor.headers)
        chunked = client.post(
            url,
            input_stream=io.BytesIO(big),
            content_type="application/json",
            headers={**actor.headers, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
        for r in (declared, chunked):
            assert r.status_code == 413 and problem(r)["status"] == 413, (url, r.get_data(as_text=True)[:200])
    assert table_counts(hub) == before


def test_chunked_body_of_exactly_the_limit_is_read_whole(client, world) -> None:
    """The 413 check for chunked bodies looks one byte past the limit; a body of exactly the limit passes."""
    doc = json.dumps(example("ehcp")).encode()
    exact = doc + b" " * (MAX_BODY - len(doc))
    r = client.post(
        "/v1/validate",
        input_stream=io.BytesIO(exact),
        content_type="application/json",
        headers={**world["la-330"].headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert len(exact) == MAX_BODY and r.status_code == 200 and r.json["valid"] is True


# --------------------------------------------------------------------------- signatures


def _forged_jws(key: SigningKey, payload: bytes, header_json: str) -> str:
    """A JWS over ``payload`` whose protected header is exactly ``header_json``, signed by ``key``."""
    encoded = b64url_encode(header_json.encode())
    return f"{encoded}..{b64url_encode(key.sign(encoded.encode() + b'.' + payload))}"


def _duplicate_signer_header(key: SigningKey, payload: bytes, typ: str, first: str, last: str) -> str:
    digest = b64url_encode(hashlib.sha256(payload).digest())
    return (
        f'{{"alg":"Ed25519","b64":false,"crit":["b64"],"kid":"{key.kid}","sha256":"{digest}",'
        f'"signedAt":"2026-01-01T09:00:00Z","signer":"{first}","signer":"{last}","typ":"{typ}"}}'
    )


def test_jws_header_with_a_duplicate_signer_is_malformed() -> None:
    """A key holder writes "signer" twice: last-wins readers would credit the key's owner, first-wins
    readers someone else.  Before the fix sendx (orjson, last wins) called it valid."""
    college = SigningKey.generate("college-10001234")
    registry = TrustRegistry({"college-10001234": (college.trusted(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),)})
    doc = {"planId": "EHCP-1"}
    payload = canonical_json(doc)
    header = _duplicate_signer_header(college, payload, "sendx-json+jws", "la-330", "college-10001234")
    with pytest.raises(SignatureError) as refused:
        verify_json(doc, _forged_jws(college, payload, header), registry)
    assert refused.value.reason is Failure.MALFORMED and "duplicate key 'signer'" in refused.value.message
    # The same header without the duplicate verifies: the refusal is the duplicate's.
    assert verify_json(doc, sign_json(doc, college), registry).signer == "college-10001234"


def test_hub_refuses_envelope_whose_jws_header_names_two_signers(client, hub, world) -> None:
    a = world["school-145832"]
    env = envelope(a, "school-145833", example("ehcp"), "ehcp")
    payload = canonical_json({k: v for k, v in env.items() if k != "signature"})
    header = _duplicate_signer_header(a.key, payload, "sendx-envelope+jws", "la-330", a.id)
    env["signature"]["jws"] = _forged_jws(a.key, payload, header)
    before = table_counts(hub)
    r = post_json(client, "/v1/transfers", env, a)
    body = problem(r)
    assert r.status_code == 401 and body["reason"] == "malformed-signature" and "duplicate key" in body["detail"]
    assert table_counts(hub) == before


# --------------------------------------------------------------------------- the CLI


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_cli_refuses_json_attack(attack: JsonAttack, tmp_path: Path, run_cli) -> None:
    """sendx validate: exit 1 and the reason; convert and render: exit 2 and the reason; no traceback."""
    path = _write(tmp_path, "attack.json", attack.body)
    checked = run_cli("validate", path, "--format", "json")
    assert checked.exit_code == 1 and attack.words in messages(json.loads(checked.stdout)["files"][0])
    # A UTF-16 byte-order mark starts neither JSON nor XML: convert does not recognise the file at all.
    convert_words = "cannot convert unknown" if attack.name == "utf16-encoded" else attack.words
    for args, words in (
        (("convert", path, "--to", "fhir"), convert_words),
        (("render", path, "-o", tmp_path / "plan.html"), attack.words),
    ):
        result = run_cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith("sendx: error:"), (args, result.output)
        assert words in result.stderr and "internal error" not in result.stderr, (args, result.stderr)
    assert not (tmp_path / "plan.html").exists()


def test_cli_verify_refuses_duplicate_keys_in_signature_and_trust_files(tmp_path: Path, run_cli) -> None:
    home = tmp_path / "home"
    KeyStore(home).generate("la-330")
    doc = _write(tmp_path, "plan.json", json.dumps(example("ehcp")).encode())
    assert run_cli("sign", doc, "--home", home).exit_code == 0
    sig = tmp_path / "plan.sig.json"
    sig_text = sig.read_text()
    sig.write_text(sig_text.replace('"kid":', '"kid": "decoy", "kid":', 1))
    result = run_cli("verify", doc, "--home", home)
    assert result.exit_code == 2 and "duplicate key 'kid'" in result.stderr
    sig.write_text(sig_text)
    trust = tmp_path / "trust.json"
    trust.write_text((home / "trust.json").read_text().replace('"version": 1', '"version": 1, "version": 2', 1))
    result = run_cli("verify", doc, "--trust", trust)
    assert result.exit_code == 2 and "duplicate key 'version'" in result.stderr
    assert run_cli("verify", doc, "--home", home).exit_code == 0  # untouched files verify


def test_admin_key_add_refuses_a_jwk_with_two_public_keys(tmp_path: Path, run_cli, monkeypatch) -> None:
    """Which "x" would the hub register?  Neither: the file is refused and no key is added."""
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "hub"))
    monkeypatch.delenv("SENDX_DATABASE_URL", raising=False)
    added = run_cli("admin", "participant", "add", "--id", "la-330", "--role", "la", "--name", "X", "--la", "330")
    assert added.exit_code == 0, added.output
    one, two = SigningKey.generate("la-330").public_jwk, SigningKey.generate("la-330").public_jwk
    text = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": one["x"]})[:-1] + f', "x": "{two["x"]}"}}'
    jwk = _write(tmp_path, "key.jwk.json", text.encode())
    result = run_cli("admin", "key", "add", "--participant", "la-330", "--jwk", jwk)
    assert result.exit_code == 2 and "duplicate key 'x'" in result.stderr
    from sendx.exchange.hub import build_hub

    hub = build_hub()
    try:
        assert hub.keys("la-330") == []
    finally:
        hub.store.dispose()


@pytest.mark.parametrize("command", ["send", "movements-add"])
def test_client_commands_refuse_bad_json_before_contacting_the_hub(command, tmp_path, run_cli, monkeypatch, canary):
    """sendx send / movements add read the file strictly first: nothing reaches the hub."""
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SENDX_HUB_URL", canary.url)
    monkeypatch.setenv("SENDX_TOKEN", "sxt_not-needed")
    path = _write(tmp_path, "doc.json", BY_NAME["duplicate-key"].body)
    args = ("send", path, "--to", "school-145833") if command == "send" else ("movements", "add", path)
    result = run_cli(*args)
    assert result.exit_code == 2 and "duplicate key 'kind'" in result.stderr
    assert canary.touched() == []


# --------------------------------------------------------------------------- the hub client


class _Replies:
    """A stand-in for requests.Session: answers every request with one canned reply."""

    def __init__(self, status: int, content: bytes) -> None:
        self.status, self.content, self.urls = status, content, []

    def request(self, method: str, url: str, **kw: Any) -> Any:
        self.urls.append(url)
        return _Response(self.status, self.content)


@dataclass
class _Response:
    status_code: int
    content: bytes


@pytest.mark.parametrize("name", ["duplicate-key", "nan", "lone-surrogate-in-value", "integer-of-5000-digits"])
def test_client_refuses_a_hub_response_json_could_read_two_ways(name: str) -> None:
    """A fetched envelope is verified and saved from what the client parsed: it must parse one way."""
    client = HubClient("https://hub.example", "sxt_x", session=_Replies(200, BY_NAME[name].body))
    with pytest.raises(HubError) as refused:
        client.transfer("3f1c0d9e")
    assert "not valid JSON" in refused.value.message and BY_NAME[name].words in refused.value.message


def test_client_error_pages_that_are_not_json_still_give_the_status() -> None:
    client = HubClient("https://hub.example", "sxt_x", session=_Replies(502, b"<html>Bad gateway</html>"))
    with pytest.raises(HubError) as refused:
        client.inbox()
    assert refused.value.status == 502


def test_profile_with_duplicate_keys_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "profile.json").write_text('{"hub": "https://hub.example", "token": "a", "token": "b"}')
    with pytest.raises(ConfigError, match="duplicate key 'token'"):
        load_profile(tmp_path)


def test_json_files_over_the_size_limit_are_refused_by_the_cli(tmp_path: Path, run_cli, monkeypatch) -> None:
    """Over MAX_JSON_BYTES: sendx validate reports an invalid document (exit 1); convert and render
    say so and exit 2; the file is refused before it is read whole."""
    doc = json.dumps(example("ehcp")).encode()
    monkeypatch.setattr(parsing, "MAX_JSON_BYTES", len(doc) - 1)
    path = _write(tmp_path, "plan.json", doc)
    checked = run_cli("validate", path)
    assert checked.exit_code == 1 and "more than the limit" in checked.stdout
    for args in (("convert", path, "--to", "fhir"), ("render", path)):
        result = run_cli(*args)
        assert result.exit_code == 2 and "more than the limit" in result.stderr, (args, result.output)


def test_a_participant_name_longer_than_its_column_is_a_400_on_both_stores(client, hub, world) -> None:
    """PostgreSQL refused a 5,000-character name with a 500 (SQLite quietly kept it): now a 400 on both."""
    before = table_counts(hub)
    for name in ("N" * 201, "N" * 5000, "", "   "):
        body = {"id": "la-339", "role": "la", "name": name, "la": "339"}
        r = post_json(client, "/v1/participants", body, world["admin"])
        assert r.status_code == 400 and problem(r)["instance"] == "name", (len(name), r.get_data(as_text=True)[:200])
    assert table_counts(hub) == before
    body = {"id": "la-339", "role": "la", "name": "N" * 200, "la": "339"}
    assert post_json(client, "/v1/participants", body, world["admin"]).status_code == 201


def test_log_verifier_state_with_duplicate_keys_is_refused(tmp_path: Path) -> None:
    """The state `sendx log verify` keeps between runs (the checkpoints it trusts) is read strictly too."""
    from sendx.exchange.log.verify import VerifierState

    path = tmp_path / "state.json"
    VerifierState().save(path)
    assert VerifierState.load(path) == VerifierState()
    text = path.read_text()
    path.write_text(text.replace('"fingerprint"', '"fingerprint": null, "fingerprint"', 1))
    with pytest.raises(InputError, match="duplicate key 'fingerprint'"):
        VerifierState.load(path)

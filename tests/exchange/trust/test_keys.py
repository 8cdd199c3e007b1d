"""Key store and trust registry: thumbprints, file permissions, rotation, revocation, trust files."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sendx.exchange.trust.keys import (
    KeyStore,
    RevocationReason,
    SigningKey,
    TrustedKey,
    TrustRegistry,
    b64url_decode,
    b64url_encode,
    jwk_thumbprint,
    parse_time,
    public_jwk,
)
from sendx.validators.errors import ConfigError, InputError, NotFoundError

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_thumbprint_matches_rfc8037_vector():
    # RFC 8037 appendix A.2/A.3: the Ed25519 public key and its RFC 7638 thumbprint.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    # Extra members do not change the thumbprint.
    assert jwk_thumbprint({**jwk, "kid": "x", "use": "sig"}) == jwk_thumbprint(jwk)


def test_public_jwk_kid_is_its_thumbprint():
    jwk = public_jwk(Ed25519PrivateKey.generate().public_key())
    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert (jwk["kty"], jwk["crv"], len(b64url_decode(jwk["x"]))) == ("OKP", "Ed25519", 32)


@pytest.mark.parametrize("bad", ["a+b", "ab/c", "abc=", "a", "é", "éa", "ab\u00e9c"])
def test_b64url_decode_is_strict(bad):
    with pytest.raises(ValueError):
        b64url_decode(bad)


def test_b64url_round_trip():
    for n in range(40):
        data = bytes(range(256))[:n]
        assert b64url_decode(b64url_encode(data)) == data
        assert "=" not in b64url_encode(data)


def test_parse_time_needs_an_offset():
    assert parse_time("2026-01-01T00:00:00Z") == T0
    with pytest.raises(InputError, match="no UTC offset"):
        parse_time("2026-01-01T00:00:00")
    with pytest.raises(InputError):
        parse_time("yesterday")


def test_generate_writes_private_key_0600_in_0700_dirs(tmp_path):
    store = KeyStore(tmp_path / "home")
    key = store.generate("la-330")
    pem = store.keys_dir / "la-330" / f"{key.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    for d in (store.home, store.keys_dir, pem.parent):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    jwk = json.loads((pem.parent / f"{key.kid}.jwk.json").read_text())
    assert "d" not in jwk and jwk["kid"] == key.kid
    assert b"PRIVATE KEY" not in store.trust_path.read_bytes()


def test_load_private_round_trip_and_refuses_loose_permissions(tmp_path):
    store = KeyStore(tmp_path)
    key = store.generate("la-330")
    loaded = store.load_private(key.kid)
    assert (loaded.org, loaded.kid) == ("la-330", key.kid)
    assert loaded.public_jwk == key.public_jwk
    pem = store.keys_dir / "la-330" / f"{key.kid}.pem"
    pem.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        store.load_private(key.kid)


def test_load_private_unknown_and_bad_kid(tmp_path):
    store = KeyStore(tmp_path)
    with pytest.raises(NotFoundError):
        store.load_private("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    with pytest.raises(InputError, match="not a key id"):
        store.load_private("../../etc/passwd")


@pytest.mark.parametrize("org", ["", "../x", "a/b", ".hidden", "x" * 65])
def test_participant_ids_are_safe_names(tmp_path, org):
    with pytest.raises(InputError, match="participant id"):
        KeyStore(tmp_path).generate(org)


def test_home_defaults_to_sendx_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SENDX_HOME", str(tmp_path / "h"))
    assert KeyStore().home == tmp_path / "h"


def test_rotation_keeps_old_key_for_verification_and_current_is_new(tmp_path):
    store = KeyStore(tmp_path)
    old = store.generate("la-330", now=T0)
    later = T0 + dt.timedelta(days=30)
    new = store.generate("la-330", now=later)
    registry = store.trust()
    old_entry = registry.find(old.kid)[1]
    assert old_entry.expires == later and old_entry.revoked_at is None
    assert registry.find(new.kid)[1].expires is None
    assert store.current("la-330", now=later + dt.timedelta(seconds=1)).kid == new.kid
    assert store.current(now=later).kid == new.kid  # one participant: --org may be omitted
    assert [i.key.kid for i in store.list()] == [old.kid, new.kid]
    assert all(i.has_private for i in store.list())


def test_current_needs_org_when_several(tmp_path):
    store = KeyStore(tmp_path)
    store.generate("la-330")
    store.generate("college-10012345")
    with pytest.raises(InputError, match="--org"):
        store.current()
    with pytest.raises(NotFoundError):
        store.current("nobody")


def test_revoke_records_time_and_reason(tmp_path):
    store = KeyStore(tmp_path)
    key = store.generate("la-330", now=T0)
    at = T0 + dt.timedelta(days=2)
    entry = store.revoke(key.kid, at=at, reason=RevocationReason.COMPROMISED)
    assert (entry.revoked_at, entry.revocation_reason) == (at, RevocationReason.COMPROMISED)
    assert store.trust().find(key.kid)[1].compromised
    with pytest.raises(NotFoundError):
        store.current("la-330", now=at)
    with pytest.raises(NotFoundError):
        store.revoke("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")


def test_trust_registry_round_trip_and_export(tmp_path):
    store = KeyStore(tmp_path)
    a = store.generate("la-330", now=T0)
    store.generate("college-10012345", now=T0)
    store.revoke(a.kid, at=T0 + dt.timedelta(days=1), reason=RevocationReason.SUPERSEDED)
    registry = store.trust()
    assert TrustRegistry.from_dict(json.loads(json.dumps(registry.to_dict()))) == registry
    exported = store.export("la-330")
    assert list(exported.participants) == ["la-330"]
    assert TrustRegistry().merged(exported).find(a.kid)[0] == "la-330"


def test_trusted_key_refuses_mismatched_kid():
    jwk = SigningKey.generate("la-330").public_jwk
    data = {"kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "jwk": jwk, "notBefore": "2026-01-01T00:00:00Z"}
    with pytest.raises(InputError, match="thumbprint"):
        TrustedKey.from_dict(data)


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "participants"),
        ({"participants": {"la-330": {}}}, "'keys' list"),
        ({"participants": {"la-330": {"keys": [{"jwk": {"kty": "RSA"}}]}}}, "RFC 3339|Ed25519"),
        ({"participants": {"../x": {"keys": []}}}, "participant id"),
    ],
)
def test_bad_trust_files_are_input_errors(data, message):
    with pytest.raises(InputError, match=message):
        TrustRegistry.from_dict(data)


def test_unknown_revocation_reason_is_refused():
    key = SigningKey.generate("la-330").trusted(T0).to_dict()
    with pytest.raises(InputError, match="revocation reason"):
        TrustedKey.from_dict({**key, "revokedAt": "2026-02-01T00:00:00Z", "revocationReason": "oops"})


def test_same_kid_under_two_participants_is_refused():
    key = SigningKey.generate("la-330").trusted(T0)
    with pytest.raises(InputError, match="both"):
        TrustRegistry({"la-330": (key,), "la-331": (key,)})

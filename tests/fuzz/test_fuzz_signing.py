"""Fuzzing ``trust.signing`` and ``trust.keys``: mutated envelopes, JWS, JWKs and trust files.

Two properties.  Robustness: verification of anything — a damaged JWS, an envelope edited
after signing, a JWK or trust file of the wrong shape — returns or raises a ``SendxError``.
Soundness: whenever a mutated envelope or JWS still verifies, what it vouches for is
exactly what was signed (same canonical content, same header, same signature bytes), so
no edit the fuzzer can make slips past the check.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from sendx.exchange.trust import keys
from sendx.exchange.trust.keys import SigningKey, TrustRegistry, b64url_decode, b64url_encode
from sendx.exchange.trust.signing import (
    Signature,
    Verified,
    canonical_json,
    sign_bytes,
    sign_envelope,
    verify_bytes,
    verify_envelope,
    verify_json,
)
from sendx.validators.errors import SendxError
from tests.fuzz.fuzzkit import DATA, fuzz, guarded, json_bases, json_values, mutated_json, mutated_text

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SIGNED_AT = T0 + dt.timedelta(days=1)
NOW = T0 + dt.timedelta(days=2)
KEY = SigningKey.generate("la-330")
REGISTRY = TrustRegistry().with_key(KEY.org, KEY.trusted(T0))


def _body(envelope: object) -> object:
    return {k: v for k, v in envelope.items() if k != "signature"} if isinstance(envelope, dict) else envelope


ENVELOPES = [
    sign_envelope({**{k: v for k, v in env.items() if k != "signature"}, "sender": KEY.org}, KEY, signed_at=SIGNED_AT)
    for env in json_bases("envelope", "envelope")
    if isinstance(env, dict)
]
SIGNED_BODIES = {canonical_json(_body(e)) for e in ENVELOPES}
PAYLOAD = (DATA / "signing" / "ctf-three-pupils.xml").read_bytes()
JWS = sign_bytes(PAYLOAD, KEY, signed_at=SIGNED_AT).jws
TRUST_FILES = [json.loads((DATA / "signing" / "trust-la-330.json").read_text("utf-8")), REGISTRY.to_dict()]


@fuzz()
@given(envelope=mutated_json(ENVELOPES))
def test_mutated_envelopes(envelope: object) -> None:
    result = guarded("signing: verify_envelope", verify_envelope, envelope, REGISTRY, now=NOW)
    if isinstance(result, Verified):
        # It verified, so the edits left what was signed intact.
        assert canonical_json(_body(envelope)) in SIGNED_BODIES
        assert result.signer == envelope["sender"] == KEY.org  # type: ignore[index]


def _parts(jws: str) -> tuple[str, str]:
    header, _, signature = jws.split(".")
    return header, signature


@fuzz()
@given(jws=mutated_text([JWS]), payload=st.sampled_from([PAYLOAD, PAYLOAD + b" ", PAYLOAD[:-1], b""]))
def test_mutated_jws(jws: str, payload: bytes) -> None:
    result = guarded("signing: verify_bytes", verify_bytes, payload, jws, REGISTRY, now=NOW)
    if isinstance(result, Verified):
        assert payload == PAYLOAD
        header, signature = _parts(jws)
        assert header == _parts(JWS)[0] and b64url_decode(signature) == b64url_decode(_parts(JWS)[1])


@fuzz()
@given(header=json_values | mutated_json([json.loads(b64url_decode(_parts(JWS)[0]))]), sig=st.binary(max_size=80))
def test_forged_headers(header: object, sig: bytes) -> None:
    # Any header the attacker likes, with any signature bytes: refused, never a traceback.
    jws = f"{b64url_encode(json.dumps(header).encode())}..{b64url_encode(sig)}"
    result = guarded("signing: forged JWS header", verify_bytes, PAYLOAD, jws, REGISTRY, now=NOW)
    assert isinstance(result, SendxError)


@fuzz()
@given(signature=json_values | mutated_json([ENVELOPES[0]["signature"]]), doc=json_values)
def test_signature_objects(signature: object, doc: object) -> None:
    guarded("signing: Signature.from_dict", Signature.from_dict, signature)
    result = guarded("signing: verify_json", verify_json, doc, signature, REGISTRY, now=NOW)
    assert isinstance(result, SendxError)  # nothing here was signed by KEY over doc


@fuzz()
@given(doc=json_values)
def test_canonical_json_is_rfc8785(doc: object) -> None:
    out = guarded("signing: canonical_json", canonical_json, doc)
    if isinstance(out, bytes):
        assert out == rfc8785.dumps(doc)


@fuzz()
@given(trust=mutated_json(TRUST_FILES) | json_values)
def test_trust_files(trust: object) -> None:
    registry = guarded("keys: TrustRegistry.from_dict", TrustRegistry.from_dict, trust)
    if isinstance(registry, TrustRegistry):
        # What was read can be written and read back to the same registry.
        assert TrustRegistry.from_dict(copy.deepcopy(registry.to_dict())).to_dict() == registry.to_dict()


@fuzz()
@given(jwk=mutated_json([KEY.public_jwk]) | json_values, when=json_values | st.sampled_from(["2026-03-01T09:00:00Z"]))
def test_jwks_and_times(jwk: object, when: object) -> None:
    if isinstance(jwk, dict):
        key = guarded("keys: public_key_from_jwk", keys.public_key_from_jwk, jwk)
        kid = guarded("keys: jwk_thumbprint", keys.jwk_thumbprint, jwk)
        if not isinstance(key, SendxError) and jwk.get("x") == KEY.public_jwk["x"]:
            assert kid == KEY.kid  # an accepted JWK's id is its thumbprint, whatever else it carries
    guarded("keys: parse_time", keys.parse_time, when)

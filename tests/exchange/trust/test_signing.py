"""Detached JWS signatures over canonical JSON, exact CTF bytes and envelopes."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from sendx import validators
from sendx.exchange.trust.keys import RevocationReason, SigningKey, TrustRegistry, b64url_decode, b64url_encode
from sendx.exchange.trust.signing import (
    Failure,
    Signature,
    SignatureError,
    canonical_json,
    sign_bytes,
    sign_envelope,
    sign_json,
    verify_bytes,
    verify_envelope,
    verify_json,
)
from sendx.validators.errors import InputError, SendxError
from sendx.validators.parsing import load_json

REPO = Path(__file__).resolve().parents[3]
EHCP = REPO / "schemas" / "ehcp" / "examples" / "ehcp-final-secondary.json"
PASSPORT = REPO / "schemas" / "passport" / "examples" / "passport-college-transition.json"
SIGNED_ENVELOPE = REPO / "schemas" / "envelope" / "examples" / "envelope-passport-signed.json"
DATA = REPO / "tests" / "data" / "signing"
CTF = DATA / "ctf-three-pupils.xml"

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SIGNED = T0 + dt.timedelta(days=10)
NOW = T0 + dt.timedelta(days=20)

KEY = SigningKey.generate("la-330")
OTHER = SigningKey.generate("college-10012345")


def registry(*keys: SigningKey) -> TrustRegistry:
    reg = TrustRegistry()
    for key in keys:
        reg = reg.with_key(key.org, key.trusted(T0))
    return reg


REGISTRY = registry(KEY, OTHER)


def ehcp() -> dict[str, Any]:
    return json.loads(EHCP.read_text("utf-8"))


def reason_of(fn, *args, **kwargs) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        fn(*args, **kwargs)
    return info.value


# --- JSON: round trip and canonical form -----------------------------------------------------


def test_round_trip_records_signer_key_and_time():
    doc = ehcp()
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    assert (sig.kid, sig.signer, sig.signed_at) == (KEY.kid, "la-330", "2026-03-11T09:00:00Z")
    verified = verify_json(doc, sig, REGISTRY, now=NOW)
    assert (verified.signer, verified.kid, verified.signed_at) == ("la-330", KEY.kid, SIGNED)
    # The signature object round-trips through its dict form and the bare JWS.
    assert Signature.from_dict(sig.to_dict()) == sig
    assert Signature.from_jws(sig.jws) == sig
    verify_json(doc, sig.to_dict(), REGISTRY, now=NOW)
    verify_json(doc, sig.jws, REGISTRY, now=NOW)


def test_jws_header_is_rfc7797_detached_and_unencoded():
    sig = sign_json(ehcp(), KEY, signed_at=SIGNED)
    header_b64, payload, _ = sig.jws.split(".")
    assert payload == ""
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "Ed25519" and header["b64"] is False and header["crit"] == ["b64"]
    assert (header["kid"], header["signer"], header["signedAt"]) == (sig.kid, sig.signer, sig.signed_at)


def test_reformatted_and_reordered_json_verifies():
    doc = ehcp()
    sig = sign_json(doc, KEY, signed_at=SIGNED)

    def reorder(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reorder(node[k]) for k in reversed(list(node))}
        if isinstance(node, list):
            return [reorder(v) for v in node]
        return node

    text = json.dumps(reorder(doc), indent=7, ensure_ascii=True)
    assert text != EHCP.read_text("utf-8")
    reparsed = load_json(text)
    assert verify_json(reparsed, sig, REGISTRY, now=NOW).signer == "la-330"


def _leaves(node: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


EHCP_LEAVES = _leaves(ehcp())


def _changed(value: Any, salt: str) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 + len(salt)
    if isinstance(value, str):
        return value + (salt or " ")
    return salt  # None → a string


@settings(max_examples=150, deadline=None)
@given(path=st.sampled_from(EHCP_LEAVES), salt=st.text(max_size=3))
def test_every_single_value_change_fails(path, salt):
    doc = ehcp()
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    mutated = copy.deepcopy(doc)
    target = mutated
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = _changed(target[path[-1]], salt)
    assert reason_of(verify_json, mutated, sig, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_every_leaf_change_fails_exhaustively():
    # Not a sample: each leaf of the example, once.
    doc = ehcp()
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    for path in EHCP_LEAVES:
        mutated = copy.deepcopy(doc)
        target = mutated
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = _changed(target[path[-1]], "")
        with pytest.raises(SignatureError):
            verify_json(mutated, sig, REGISTRY, now=NOW)


def test_added_removed_or_renamed_members_fail():
    doc = ehcp()
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    first = next(iter(doc))
    for mutated in (
        {**doc, "extra": None},
        {k: v for k, v in doc.items() if k != first},
        {("renamed" if k == first else k): v for k, v in doc.items()},
    ):
        assert reason_of(verify_json, mutated, sig, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_number_type_matters_only_as_json_does():
    # 1 and 1.0 are the same JSON number (RFC 8785 writes both as 1); 1.5 is not.
    sig = sign_json({"n": 1}, KEY, signed_at=SIGNED)
    verify_json({"n": 1.0}, sig, REGISTRY, now=NOW)
    with pytest.raises(SignatureError):
        verify_json({"n": 1.5}, sig, REGISTRY, now=NOW)


def test_floats_and_astral_keys_use_the_exact_form():
    doc = {"\U0001f600": 1, "\ue000": 2, "x": [1.0, 1e21, 1.5e-7, -0.0, 0.1]}
    assert canonical_json(doc) == rfc8785.dumps(doc)
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    verify_json(json.loads(json.dumps(doc)), sig, REGISTRY, now=NOW)


def test_out_of_range_integers_are_input_errors():
    with pytest.raises(InputError, match="canonicalised"):
        canonical_json({"n": 2**53})


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_canonical_json_is_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except Exception:
        with pytest.raises(InputError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=4), _json, max_size=5))
def test_any_json_object_round_trips(value):
    try:
        sig = sign_json(value, KEY, signed_at=SIGNED)
    except InputError:  # lone surrogates: not JSON text, refused on both sides
        return
    verify_json(json.loads(json.dumps(value)), sig, REGISTRY, now=NOW)


# --- distinct failures --------------------------------------------------------------------------


def _failures() -> dict[Failure, SignatureError]:
    doc = ehcp()
    out: dict[Failure, SignatureError] = {}
    # Wrong key: made with one private key while naming another key of the same signer.
    impostor = SigningKey("la-330", KEY.kid, SigningKey.generate("la-330").private_key)
    out[Failure.WRONG_KEY] = reason_of(verify_json, doc, sign_json(doc, impostor, signed_at=SIGNED), REGISTRY, now=NOW)
    stranger = SigningKey.generate("la-330")
    sig = sign_json(doc, stranger, signed_at=SIGNED)
    out[Failure.UNKNOWN_KEY] = reason_of(verify_json, doc, sig, REGISTRY, now=NOW)
    revoked = REGISTRY.revoked(KEY.kid, SIGNED - dt.timedelta(days=1), RevocationReason.RETIRED)
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    out[Failure.REVOKED_KEY] = reason_of(verify_json, doc, sig, revoked, now=NOW)
    expired = REGISTRY.rotated("la-330", SigningKey.generate("la-330").trusted(T0), SIGNED - dt.timedelta(hours=1))
    out[Failure.EXPIRED_KEY] = reason_of(verify_json, doc, sig, expired, now=NOW)
    jws = sig.jws
    out[Failure.MALFORMED] = reason_of(verify_json, doc, jws[: len(jws) - 10], REGISTRY, now=NOW)
    changed = {**doc, "status": "draft"}
    out[Failure.PAYLOAD_ALTERED] = reason_of(verify_json, changed, sig, REGISTRY, now=NOW)
    liar = SigningKey("la-999", KEY.kid, KEY.private_key)
    lie = sign_json(doc, liar, signed_at=SIGNED)
    out[Failure.SIGNER_MISMATCH] = reason_of(verify_json, doc, lie, REGISTRY, now=NOW)
    early = sign_json(doc, KEY, signed_at=T0 - dt.timedelta(days=1))
    out[Failure.KEY_NOT_YET_VALID] = reason_of(verify_json, doc, early, REGISTRY, now=NOW)
    future = sign_json(doc, KEY, signed_at=NOW + dt.timedelta(hours=1))
    out[Failure.FUTURE_SIGNATURE] = reason_of(verify_json, doc, future, REGISTRY, now=NOW)
    as_bytes = sign_bytes(canonical_json(doc), KEY, signed_at=SIGNED)
    out[Failure.WRONG_PURPOSE] = reason_of(verify_json, doc, as_bytes, REGISTRY, now=NOW)
    return out


def test_each_failure_has_its_own_reason_and_message():
    failures = _failures()
    for expected, error in failures.items():
        assert error.reason is expected, (expected, error.message)
    messages = [e.message for e in failures.values()]
    assert len(set(messages)) == len(messages)
    assert set(failures) == set(Failure)
    assert failures[Failure.WRONG_KEY].message.startswith("wrong key")
    assert failures[Failure.UNKNOWN_KEY].message.startswith("unknown key")
    assert failures[Failure.REVOKED_KEY].message.startswith("revoked key")
    assert failures[Failure.EXPIRED_KEY].message.startswith("expired key")
    assert failures[Failure.MALFORMED].message.startswith("malformed signature")


def test_signature_error_is_a_sendx_error_with_status_and_exit_code():
    error = _failures()[Failure.REVOKED_KEY]
    assert isinstance(error, SendxError)
    assert (error.status, error.exit_code) == (401, 1)
    assert error.to_problem()["reason"] == "revoked-key"


@pytest.mark.parametrize(
    "jws",
    [
        "",
        "abc",
        "a.b.c.d",
        "!!!..AAAA",
        b64url_encode(b"[1]") + "..AAAA",
        b64url_encode(b'{"alg":"none"}') + "..AAAA",
        b64url_encode(b'{"alg":"Ed25519","b64":true,"crit":["b64"]}') + "..AAAA",
    ],
)
def test_garbage_signatures_are_malformed(jws):
    assert reason_of(verify_json, {}, jws, REGISTRY, now=NOW).reason is Failure.MALFORMED


def test_truncations_of_a_signature_all_fail_as_malformed_or_altered():
    doc = ehcp()
    jws = sign_json(doc, KEY, signed_at=SIGNED).jws
    for cut in range(len(jws)):
        with pytest.raises(SignatureError) as info:
            verify_json(doc, jws[:cut], REGISTRY, now=NOW)
        assert info.value.reason in (Failure.MALFORMED, Failure.PAYLOAD_ALTERED, Failure.WRONG_KEY)


def test_attached_payload_is_refused():
    doc = {"a": 1}
    head, _, sig = sign_json(doc, KEY, signed_at=SIGNED).jws.split(".")
    assert reason_of(verify_json, doc, f"{head}.{b64url_encode(b'x')}.{sig}", REGISTRY, now=NOW).reason is (
        Failure.MALFORMED
    )


def test_signature_object_must_match_its_header():
    sig = sign_json({"a": 1}, KEY, signed_at=SIGNED).to_dict()
    for field, value in (("kid", OTHER.kid), ("signer", "la-999"), ("signedAt", "2020-01-01T00:00:00Z")):
        error = reason_of(verify_json, {"a": 1}, {**sig, field: value}, REGISTRY, now=NOW)
        assert error.reason is Failure.MALFORMED and field in error.message
    assert reason_of(verify_json, {"a": 1}, {"kid": KEY.kid}, REGISTRY, now=NOW).reason is Failure.MALFORMED


# --- rotation and revocation policy -------------------------------------------------------------


def test_rotation_old_signatures_still_verify_new_ones_do_not():
    doc = ehcp()
    rotated_at = SIGNED + dt.timedelta(days=1)
    new = SigningKey.generate("la-330")
    reg = REGISTRY.rotated("la-330", new.trusted(rotated_at), rotated_at)
    verify_json(doc, sign_json(doc, KEY, signed_at=SIGNED), reg, now=NOW)
    late = sign_json(doc, KEY, signed_at=rotated_at + dt.timedelta(seconds=1))
    assert reason_of(verify_json, doc, late, reg, now=NOW).reason is Failure.EXPIRED_KEY
    verify_json(doc, sign_json(doc, new, signed_at=rotated_at), reg, now=NOW)


def test_revocation_takes_effect_from_its_time_unless_compromised():
    doc = ehcp()
    before = sign_json(doc, KEY, signed_at=SIGNED)
    after = sign_json(doc, KEY, signed_at=SIGNED + dt.timedelta(days=2))
    revoked_at = SIGNED + dt.timedelta(days=1)
    superseded = REGISTRY.revoked(KEY.kid, revoked_at, RevocationReason.SUPERSEDED)
    verify_json(doc, before, superseded, now=NOW)
    assert reason_of(verify_json, doc, after, superseded, now=NOW).reason is Failure.REVOKED_KEY
    compromised = REGISTRY.revoked(KEY.kid, revoked_at, RevocationReason.COMPROMISED)
    error = reason_of(verify_json, doc, before, compromised, now=NOW)
    assert error.reason is Failure.REVOKED_KEY and "compromised" in error.message


# --- interoperability ---------------------------------------------------------------------------


def test_joserfc_verifies_our_signature_and_we_verify_its():
    jws_mod = pytest.importorskip("joserfc.jws", reason="joserfc (test extra) is not installed")
    from joserfc.jwk import OKPKey

    doc = ehcp()
    payload = canonical_json(doc)
    sig = sign_json(doc, KEY, signed_at=SIGNED)
    jwk = OKPKey.import_key(dict(KEY.public_jwk))
    lenient = jws_mod.JWSRegistry(algorithms=["Ed25519"], strict_check_header=False)
    result = jws_mod.deserialize_compact(sig.jws, jwk, payload=payload, registry=lenient)
    assert result.headers()["kid"] == KEY.kid
    # And the other way: joserfc signs the same header over the same canonical bytes.
    header = json.loads(b64url_decode(sig.jws.split(".")[0]))
    pem = KEY.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private = OKPKey.import_key(pem)
    theirs = jws_mod.detach_content(jws_mod.serialize_compact(header, payload, private, registry=lenient))
    assert verify_json(doc, theirs, REGISTRY, now=NOW).kid == KEY.kid


# --- CTF: exact bytes, wrapping and comment injection ------------------------------------------


def ctf_bytes() -> bytes:
    return CTF.read_bytes()


def _move_first_pupil_last(xml: str) -> str:
    start, end = xml.index("    <Pupil>"), xml.index("    </Pupil>\n") + len("    </Pupil>\n")
    pupil = xml[start:end]
    body = xml[:start] + xml[end:]
    at = body.index("  </CTFpupilData>")
    return body[:at] + pupil + body[at:]


def _duplicate_first_pupil(xml: str) -> str:
    start, end = xml.index("    <Pupil>"), xml.index("    </Pupil>\n") + len("    </Pupil>\n")
    return xml[:end] + xml[start:end] + xml[end:]


def _second_pupil_data(xml: str) -> str:
    extra = (
        "  <CTFpupilData>\n    <Pupil>\n      <UPN>B801200005001</UPN>\n      <Surname>Evil</Surname>\n"
        "    </Pupil>\n  </CTFpupilData>\n"
    )
    return xml.replace("</CTfile>", extra + "</CTfile>")


def _wrap_original(xml: str) -> str:
    # Classic XML-DSig wrapping: keep the signed content somewhere harmless, put new content first.
    body = xml.split("?>", 1)[1]
    inner = body.replace("<CTfile>", "").replace("</CTfile>", "")
    evil = inner.replace("Example", "Wrapped")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>{evil}<Object>{inner}</Object></CTfile>\n'


CTF_ATTACKS = {
    "pupil surname changed": lambda x: x.replace("<Surname>Sample<", "<Surname>Simple<"),
    "pupil SEN provision changed": lambda x: x.replace("<SENprovision>K<", "<SENprovision>E<"),
    "pupil moved": _move_first_pupil_last,
    "pupil duplicated": _duplicate_first_pupil,
    "pupil removed": lambda x: x.replace(x[x.index("    <Pupil>") : x.index("    </Pupil>\n") + 13], "", 1),
    "comment inside UPN": lambda x: x.replace("<UPN>B801200005001<", "<UPN>B8012000<!-- -->05001<"),
    "empty comment inside UPN": lambda x: x.replace("<UPN>B801200005001<", "<UPN>B801200005001<!---->", 1),
    "second CTFpupilData": _second_pupil_data,
    "signed content wrapped": _wrap_original,
    "whitespace re-indented": lambda x: x.replace("\n      <", "\n        <"),
    "CDATA equivalent": lambda x: x.replace("<Forename>Bo<", "<Forename><![CDATA[Bo]]><"),
    "entity equivalent": lambda x: x.replace("<Forename>Bo<", "<Forename>&#66;o<"),
    "trailing comment": lambda x: x + "<!-- appended -->\n",
    "line endings": lambda x: x.replace("\n", "\r\n"),
}


def test_ctf_round_trip():
    data = ctf_bytes()
    sig = sign_bytes(data, KEY, signed_at=SIGNED)
    assert verify_bytes(data, sig, REGISTRY, now=NOW).signer == "la-330"
    assert verify_bytes(data, sig.jws, REGISTRY, now=NOW).kid == KEY.kid


@pytest.mark.parametrize("attack", sorted(CTF_ATTACKS))
def test_ctf_tampering_wrapping_and_comment_injection_fail(attack):
    data = ctf_bytes()
    sig = sign_bytes(data, KEY, signed_at=SIGNED)
    tampered = CTF_ATTACKS[attack](data.decode("utf-8")).encode("utf-8")
    assert tampered != data, "the attack must change the file"
    assert reason_of(verify_bytes, tampered, sig, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_ctf_signature_cannot_pass_for_a_json_signature():
    data = ctf_bytes()
    sig = sign_bytes(data, KEY, signed_at=SIGNED)
    assert reason_of(verify_json, data.decode(), sig, REGISTRY, now=NOW).reason in (
        Failure.PAYLOAD_ALTERED,
        Failure.WRONG_PURPOSE,
    )
    text_sig = sign_json(data.decode(), KEY, signed_at=SIGNED)
    assert reason_of(verify_bytes, canonical_json(data.decode()), text_sig, REGISTRY, now=NOW).reason is (
        Failure.WRONG_PURPOSE
    )


# --- envelopes ---------------------------------------------------------------------------------


def unsigned_envelope(document: Any, kind: str = "passport") -> dict[str, Any]:
    return {
        "$schema": "https://schemas.sendx.org.uk/envelope/v1",
        "envelopeId": "env-2026-0001",
        "kind": kind,
        "sender": "la-330",
        "recipient": "college-10012345",
        "created": "2026-03-11T09:00:00Z",
        "idempotencyKey": "la-330:PP-2026-0091:1",
        "document": document,
    }


def test_envelope_round_trip_and_schema_fit():
    env = sign_envelope(unsigned_envelope(json.loads(PASSPORT.read_text("utf-8"))), KEY, signed_at=SIGNED)
    assert set(env["signature"]) == {"kid", "signer", "signedAt", "jws"}
    assert verify_envelope(env, REGISTRY, now=NOW).signer == "la-330"
    report = validators.validate(env)
    assert report.kind == "envelope" and report.valid, report.to_dict()


@pytest.mark.parametrize(
    "field, value",
    [
        ("recipient", "college-99999999"),
        ("kind", "ehcp"),
        ("idempotencyKey", "la-330:other:1"),
        ("envelopeId", "env-2026-0002"),
        ("created", "2026-03-12T09:00:00Z"),
    ],
)
def test_envelope_covers_every_field(field, value):
    env = sign_envelope(unsigned_envelope({"passportId": "PP-1"}), KEY, signed_at=SIGNED)
    env[field] = value
    assert reason_of(verify_envelope, env, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_envelope_document_change_and_sender_change_fail():
    env = sign_envelope(unsigned_envelope({"passportId": "PP-1"}), KEY, signed_at=SIGNED)
    env["document"]["passportId"] = "PP-2"
    assert reason_of(verify_envelope, env, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED
    # Re-signing under another participant's name is refused at signing time...
    with pytest.raises(InputError, match="sender"):
        sign_envelope(unsigned_envelope({}), OTHER)
    # ...and a signer who is not the sender is refused at verification.
    other_env = {**unsigned_envelope({}), "sender": "college-10012345", "recipient": "la-330"}
    signed = sign_envelope(other_env, OTHER, signed_at=SIGNED)
    signed["sender"] = "la-330"
    assert reason_of(verify_envelope, signed, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_ctf_envelope_covers_the_exact_xml_text():
    xml = ctf_bytes().decode("utf-8")
    env = sign_envelope(unsigned_envelope(xml, kind="ctf"), KEY, signed_at=SIGNED)
    verify_envelope(env, REGISTRY, now=NOW)
    env["document"] = CTF_ATTACKS["comment inside UPN"](xml)
    assert reason_of(verify_envelope, env, REGISTRY, now=NOW).reason is Failure.PAYLOAD_ALTERED


def test_unsigned_envelope_is_refused():
    assert reason_of(verify_envelope, unsigned_envelope({}), REGISTRY, now=NOW).reason is Failure.MALFORMED


def test_json_signature_cannot_pass_for_an_envelope_signature():
    body = unsigned_envelope({"passportId": "PP-1"})
    env = {**body, "signature": sign_json(body, KEY, signed_at=SIGNED).to_dict()}
    assert reason_of(verify_envelope, env, REGISTRY, now=NOW).reason is Failure.WRONG_PURPOSE


def test_committed_signed_envelope_example_verifies_and_validates():
    env = json.loads(SIGNED_ENVELOPE.read_text("utf-8"))
    trust = TrustRegistry.load(DATA / "trust-la-330.json")
    assert verify_envelope(env, trust).signer == "la-330"
    assert validators.validate(SIGNED_ENVELOPE).valid

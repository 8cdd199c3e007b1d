"""Signing and verifying documents, CTF files and envelopes with detached JWS.

The *sign* stage of the flow (bytes → parse → validate → adapt → sign → exchange).
Every signature is a compact JWS (RFC 7515) with a detached, unencoded payload (RFC 7797,
``{"alg":"Ed25519","b64":false,"crit":["b64"]}``), made with the signer's Ed25519 key:

* JSON documents and envelopes: the payload is the document's RFC 8785 canonical form, so
  re-indenting or re-ordering keys changes nothing while any change to a value breaks it.
* CTF (XML) files: the payload is the file's exact bytes — no canonicalisation, no
  references, so there is nothing to wrap and what was verified is exactly what is parsed
  (see ``exchange/trust/SIGNING.md`` for why this and not XML-DSig).

The protected header names the key (``kid``), the signer (``signer``), the time
(``signedAt``), the purpose (``typ``: json, envelope or bytes) and a SHA-256 of the payload,
which only serves to tell "payload altered" from "wrong key" when a signature fails.
Verification checks the signature first and only then applies the trust registry's time
policy to the (now authenticated) ``signedAt``; every failure is a ``SignatureError`` whose
``reason`` says which check failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature

from sendx.exchange.trust.canonical import canonical_json, orjson_sorted
from sendx.exchange.trust.keys import (
    SigningKey,
    TrustedKey,
    TrustRegistry,
    b64url_decode,
    b64url_encode,
    format_time,
    parse_time,
)
from sendx.validators.errors import InputError, NotAuthorisedError

__all__ = [
    "CLOCK_SKEW",
    "Failure",
    "Signature",
    "SignatureError",
    "Verified",
    "canonical_json",
    "default_signature_path",
    "envelope_sidecar",
    "sign_bytes",
    "sign_document",
    "sign_envelope",
    "sign_file",
    "sign_json",
    "verify_bytes",
    "verify_envelope",
    "verify_file",
    "verify_json",
]

ALG = "Ed25519"
#: Signatures dated further than this into the verifier's future are refused.
CLOCK_SKEW = dt.timedelta(minutes=5)


class Purpose(StrEnum):
    """What a signature is over (header ``typ``), so one can never pass for another."""

    JSON = "sendx-json+jws"
    ENVELOPE = "sendx-envelope+jws"
    BYTES = "sendx-bytes+jws"


class Failure(StrEnum):
    """Why a signature did not verify (``SignatureError.reason``)."""

    MALFORMED = "malformed-signature"
    UNKNOWN_KEY = "unknown-key"
    WRONG_KEY = "wrong-key"
    PAYLOAD_ALTERED = "payload-altered"
    SIGNER_MISMATCH = "signer-mismatch"
    WRONG_PURPOSE = "wrong-purpose"
    REVOKED_KEY = "revoked-key"
    EXPIRED_KEY = "expired-key"
    KEY_NOT_YET_VALID = "key-not-yet-valid"
    FUTURE_SIGNATURE = "future-signature"


class SignatureError(NotAuthorisedError):
    """A signature did not verify; ``reason`` (a ``Failure``) says which check failed.

    Status 401 because a signature is the sender's credential; exit code 1 because, like an
    invalid document, it is a failed check rather than a usage error.
    """

    exit_code = 1
    code = "bad-signature"

    def __init__(self, reason: Failure, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message, where=where, hint=hint)
        self.reason = Failure(reason)

    def to_problem(self) -> dict[str, object]:
        return {**super().to_problem(), "reason": self.reason.value}


@dataclass(frozen=True)
class Signature:
    """A detached signature: the envelope schema's ``signature`` object."""

    kid: str
    signer: str
    signed_at: str
    jws: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        if not isinstance(data, Mapping) or not isinstance(data.get("jws"), str) or not data["jws"]:
            raise SignatureError(Failure.MALFORMED, "signature object has no 'jws' string", where="signature")
        sig = cls.from_jws(data["jws"])
        for name, value in (("kid", sig.kid), ("signer", sig.signer), ("signedAt", sig.signed_at)):
            if name in data and data[name] != value:
                raise SignatureError(
                    Failure.MALFORMED,
                    f"the signature's {name} {data[name]!r} differs from its protected header ({value!r})",
                    where=f"signature/{name}",
                )
        return sig

    @classmethod
    def from_jws(cls, jws: str) -> Signature:
        """The signature object described by a compact detached JWS (e.g. a ``.sig`` file)."""
        header = _header(jws)
        return cls(kid=header["kid"], signer=header["signer"], signed_at=header["signedAt"], jws=jws)

    def to_dict(self) -> dict[str, str]:
        return {"kid": self.kid, "signer": self.signer, "signedAt": self.signed_at, "jws": self.jws}


@dataclass(frozen=True)
class Verified:
    """What a successful verification established."""

    signer: str
    kid: str
    signed_at: dt.datetime
    purpose: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": True,
            "signer": self.signer,
            "kid": self.kid,
            "signedAt": format_time(self.signed_at),
            "purpose": self.purpose,
        }


# --- the JWS itself -----------------------------------------------------------------------


def _sign(payload: bytes, key: SigningKey, purpose: Purpose, signed_at: dt.datetime | None) -> Signature:
    when = format_time(signed_at or dt.datetime.now(dt.UTC))
    header = {
        "alg": ALG,
        "b64": False,
        "crit": ["b64"],
        "kid": key.kid,
        "sha256": b64url_encode(hashlib.sha256(payload).digest()),
        "signedAt": when,
        "signer": key.org,
        "typ": purpose.value,
    }
    encoded = b64url_encode(orjson.dumps(header))
    signature = key.sign(encoded.encode("ascii") + b"." + payload)
    return Signature(kid=key.kid, signer=key.org, signed_at=when, jws=f"{encoded}..{b64url_encode(signature)}")


def _malformed(message: str) -> SignatureError:
    return SignatureError(
        Failure.MALFORMED,
        f"malformed signature: {message}",
        hint="the signature was truncated or damaged; ask the sender to sign again",
    )


def _header(jws: str) -> dict[str, Any]:
    if not isinstance(jws, str):
        raise _malformed("the JWS is not a string")
    parts = jws.split(".")
    if len(parts) != 3:
        raise _malformed(f"a compact JWS has 3 dot-separated parts, this has {len(parts)}")
    if parts[1]:
        raise _malformed("the payload part must be empty (detached payload)")
    try:
        raw = b64url_decode(parts[0])
        header = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        raise _malformed("the protected header is not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise _malformed("the protected header is not a JSON object")
    # orjson keeps the last of a name given twice, another reader may keep the first: refuse
    # duplicates (RFC 7515 §4).  A header sendx wrote re-encodes to its own bytes, which a
    # duplicate never does, so only headers from other JOSE libraries take the strict parse.
    if orjson.dumps(header) != raw:
        from sendx.validators.parsing import load_json

        try:
            load_json(raw)
        except InputError as exc:
            raise _malformed(f"the protected header is not strict JSON: {exc.message}") from None
    if header.get("alg") != ALG:
        raise _malformed(f"algorithm {header.get('alg')!r} is not {ALG}")
    if header.get("b64") is not False or header.get("crit") != ["b64"]:
        raise _malformed('the header must carry "b64": false and "crit": ["b64"] (RFC 7797)')
    for name in ("kid", "signer", "signedAt", "typ", "sha256"):
        if not isinstance(header.get(name), str) or not header[name]:
            raise _malformed(f"the protected header lacks {name!r}")
    return header


def _verify(
    payload: bytes,
    signature: Signature | Mapping[str, Any] | str,
    registry: TrustRegistry,
    purpose: Purpose,
    now: dt.datetime | None,
    exact: Callable[[], bytes] | None = None,
) -> Verified:
    """Check ``signature`` over ``payload``, then the registry's policy.

    ``exact``, if given, produces the true signed form when ``payload`` is only a fast
    candidate for it (see ``verify_json``); it is called only if the candidate fails.
    """
    if isinstance(signature, str):
        signature = Signature.from_jws(signature)
    elif not isinstance(signature, Signature):
        signature = Signature.from_dict(signature)
    header = _header(signature.jws)
    encoded, _, sig_b64 = signature.jws.split(".")
    try:
        raw_sig = b64url_decode(sig_b64)
    except ValueError:
        raise _malformed("the signature part is not base64url") from None
    if len(raw_sig) != 64:
        raise _malformed(f"an Ed25519 signature is 64 bytes, this is {len(raw_sig)}")
    try:
        signed_at = parse_time(header["signedAt"], "signedAt")
    except InputError:
        raise _malformed(f"signedAt {header['signedAt']!r} is not an RFC 3339 date-time") from None
    kid = header["kid"]
    if signature.kid != kid or signature.signer != header["signer"] or signature.signed_at != header["signedAt"]:
        raise _malformed("the signature object's kid/signer/signedAt differ from its protected header")

    found = registry.find(kid)
    if found is None:
        raise SignatureError(
            Failure.UNKNOWN_KEY,
            f"unknown key: {kid} is not in the trust registry",
            hint="import the signer's public key (sendx keys export on their side) or refresh the registry",
        )
    org, key = found
    prefix = encoded.encode("ascii") + b"."
    if not _ed25519_ok(key, raw_sig, prefix + payload):
        exact_payload = exact() if exact is not None else payload
        if exact_payload == payload or not _ed25519_ok(key, raw_sig, prefix + exact_payload):
            _raise_mismatch(exact_payload, header["sha256"], kid, org)

    # Only now is the header authentic; apply who-and-when policy to it.
    if header["typ"] != purpose.value:
        raise SignatureError(
            Failure.WRONG_PURPOSE, f"this is a {header['typ']} signature, not a {purpose.value} signature"
        )
    if header["signer"] != org:
        raise SignatureError(
            Failure.SIGNER_MISMATCH,
            f"signer mismatch: signed as {header['signer']!r} with a key that belongs to {org!r}",
        )
    _check_window(key, signed_at, now or dt.datetime.now(dt.UTC))
    return Verified(signer=org, kid=kid, signed_at=signed_at, purpose=purpose.value)


def _ed25519_ok(key: TrustedKey, signature: bytes, data: bytes) -> bool:
    try:
        key.public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _raise_mismatch(payload: bytes, signed_digest: str, kid: str, org: str) -> None:
    # The digest in the header tells a changed payload from a signature made with another
    # key; either way the signature is refused.
    if not hmac.compare_digest(b64url_encode(hashlib.sha256(payload).digest()), signed_digest):
        raise SignatureError(
            Failure.PAYLOAD_ALTERED,
            "payload altered: the content is not what was signed",
            hint="the document was changed after signing; get the original from the sender",
        )
    raise SignatureError(
        Failure.WRONG_KEY,
        f"wrong key: the signature does not verify with key {kid} of {org}",
        hint="the signature was made with a different key than the one it names",
    )


def _check_window(key: TrustedKey, signed_at: dt.datetime, now: dt.datetime) -> None:
    if key.revoked_at is not None and (key.compromised or signed_at >= key.revoked_at):
        scope = (
            "every signature it made is refused"
            if key.compromised
            else f"signed {format_time(signed_at)}, after the revocation"
        )
        raise SignatureError(
            Failure.REVOKED_KEY,
            f"revoked key: {key.kid} was revoked at {format_time(key.revoked_at)} "
            f"({key.revocation_reason or 'unspecified'}); {scope}",
        )
    if key.expires is not None and signed_at > key.expires:
        raise SignatureError(
            Failure.EXPIRED_KEY,
            f"expired key: {key.kid} stopped signing at {format_time(key.expires)}, "
            f"but this was signed {format_time(signed_at)}",
            hint="the signer has rotated keys; ask them to sign again with their current key",
        )
    if signed_at < key.not_before:
        raise SignatureError(
            Failure.KEY_NOT_YET_VALID,
            f"key not yet valid: {key.kid} is valid from {format_time(key.not_before)}, "
            f"signed {format_time(signed_at)}",
        )
    if signed_at > now + CLOCK_SKEW:
        raise SignatureError(Failure.FUTURE_SIGNATURE, f"signature dated {format_time(signed_at)}, in the future")


# --- public API ---------------------------------------------------------------------------


def sign_json(doc: Any, key: SigningKey, *, signed_at: dt.datetime | None = None) -> Signature:
    """Sign a JSON value's RFC 8785 canonical form."""
    return _sign(canonical_json(doc), key, Purpose.JSON, signed_at)


def verify_json(
    doc: Any,
    signature: Signature | Mapping[str, Any] | str,
    registry: TrustRegistry,
    *,
    now: dt.datetime | None = None,
) -> Verified:
    """Verify a ``sign_json`` signature over ``doc``; raises ``SignatureError``."""
    payload, exact = _json_candidate(doc)
    return _verify(payload, signature, registry, Purpose.JSON, now, exact)


def _json_candidate(doc: Any) -> tuple[bytes, Callable[[], bytes] | None]:
    """orjson's sorted bytes as a first guess at the canonical form, and how to get the exact one.

    Verifying against the guess skips the float/key walk of ``canonical_json``.  It is sound
    because both serialisations are deterministic and parse back to the value they encode:
    if the signer's RFC 8785 bytes equal orjson's bytes for our document, the two documents
    are the same JSON value.  When the guess differs from RFC 8785 (a float, say) the
    signature fails on it and ``_verify`` retries with the exact form.
    """
    fast = orjson_sorted(doc) if type(doc) is dict else None
    if fast is None:
        return canonical_json(doc), None
    return fast, lambda: canonical_json(doc)


def sign_bytes(data: bytes, key: SigningKey, *, signed_at: dt.datetime | None = None) -> Signature:
    """Sign exact bytes (a CTF file); ``Signature.jws`` is the ``.sig`` sidecar's content."""
    return _sign(bytes(data), key, Purpose.BYTES, signed_at)


def verify_bytes(
    data: bytes,
    signature: Signature | Mapping[str, Any] | str,
    registry: TrustRegistry,
    *,
    now: dt.datetime | None = None,
) -> Verified:
    """Verify a ``sign_bytes`` signature over exactly ``data``; parse those same bytes after."""
    return _verify(bytes(data), signature, registry, Purpose.BYTES, now)


def _unsigned(envelope: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(envelope, Mapping):
        raise InputError("an envelope is a JSON object")
    return {k: v for k, v in envelope.items() if k != "signature"}


def sign_envelope(
    envelope: Mapping[str, Any], key: SigningKey, *, signed_at: dt.datetime | None = None
) -> dict[str, Any]:
    """The envelope with a ``signature`` over everything else in it (canonical JSON).

    The sender must be the key's participant, so an envelope cannot claim another sender.
    """
    body = _unsigned(envelope)
    if body.get("sender") != key.org:
        raise InputError(
            f"envelope sender {body.get('sender')!r} is not the signing key's participant {key.org!r}",
            where="/sender",
        )
    signature = _sign(canonical_json(body), key, Purpose.ENVELOPE, signed_at)
    return {**body, "signature": signature.to_dict()}


def verify_envelope(
    envelope: Mapping[str, Any], registry: TrustRegistry, *, now: dt.datetime | None = None
) -> Verified:
    """Verify an envelope's own signature and that its signer is its sender."""
    body = _unsigned(envelope)
    if "signature" not in envelope:
        raise SignatureError(Failure.MALFORMED, "the envelope is not signed (no 'signature')", where="/signature")
    payload, exact = _json_candidate(body)
    verified = _verify(payload, envelope["signature"], registry, Purpose.ENVELOPE, now, exact)
    if verified.signer != body.get("sender"):
        raise SignatureError(
            Failure.SIGNER_MISMATCH,
            f"signer mismatch: signed by {verified.signer!r} but sent as {body.get('sender')!r}",
            where="/sender",
        )
    return verified


# --- files (what ``sendx sign`` / ``sendx verify`` do) -----------------------------------------

ENVELOPE_SCHEMA = "https://schemas.sendx.org.uk/envelope/v1"


def default_signature_path(path: Path) -> Path:
    """Where a file's detached signature lives: ``x.xml`` → ``x.xml.sig``, ``x.json`` → ``x.sig.json``."""
    if path.suffix.lower() == ".xml":
        return path.with_name(path.name + ".sig")
    return path.with_name((path.stem if path.suffix.lower() == ".json" else path.name) + ".sig.json")


def _read_document(path: Path) -> tuple[str, bytes, Any]:
    from sendx.validators.parsing import MAX_XML_BYTES, read_bytes

    return _parse_document(read_bytes(path, MAX_XML_BYTES), str(path))


def _parse_document(data: bytes, where: str) -> tuple[str, bytes, Any]:
    from sendx.validators.parsing import load_json, sniff_format

    fmt = sniff_format(data)
    if fmt == "xml":
        return fmt, data, None
    if fmt == "json":
        return fmt, data, load_json(data)
    raise InputError("not a JSON or XML document", where=where)


def _is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("$schema") == ENVELOPE_SCHEMA


def sign_document(
    data: bytes, key: SigningKey, *, signed_at: dt.datetime | None = None, where: str = "document"
) -> tuple[str, str]:
    """Sign a document's bytes: ``(what, text)`` with ``what`` one of ``xml``, ``envelope``, ``json``.

    * XML (CTF): ``text`` is a detached JWS over the exact bytes.
    * an envelope: ``text`` is the envelope with its ``signature`` filled in.
    * any other JSON: ``text`` is the ``Signature`` object, to keep beside the untouched document.
    """
    fmt, data, doc = _parse_document(data, where)
    if fmt == "xml":
        return "xml", sign_bytes(data, key, signed_at=signed_at).jws + "\n"
    if _is_envelope(doc):
        return "envelope", json.dumps(sign_envelope(doc, key, signed_at=signed_at), indent=2, ensure_ascii=False) + "\n"
    return "json", json.dumps(sign_json(doc, key, signed_at=signed_at).to_dict(), indent=2) + "\n"


def sign_file(path: Path, key: SigningKey, out: Path | None = None, *, signed_at: dt.datetime | None = None) -> Path:
    """Sign a file (``sign_document``) and write the result; returns the path written.

    XML: to ``x.xml.sig``; an envelope: back to the file; other JSON: to a ``x.sig.json``
    sidecar, leaving the document untouched (so it still validates as itself).  ``out`` overrides.
    """
    from sendx.validators.parsing import MAX_XML_BYTES, read_bytes

    what, text = sign_document(read_bytes(path, MAX_XML_BYTES), key, signed_at=signed_at, where=str(path))
    target = out or (path if what == "envelope" else default_signature_path(path))
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def envelope_sidecar(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """What to keep beside a document taken out of a signed envelope (``sendx fetch -o``).

    The envelope without its document: the sender's signature covers the whole envelope, so
    ``verify_file`` puts the file's content back in its place and checks that signature.  Kept
    at the path ``sendx sign`` would use, it makes ``sendx verify FILE`` prove who sent FILE.
    """
    if not _is_envelope(envelope) or "signature" not in envelope:
        raise InputError("only a signed envelope leaves a sidecar")
    return {k: v for k, v in envelope.items() if k != "document"}


def _read_signature(path: Path) -> Signature | dict[str, Any]:
    """A sidecar: a ``Signature`` (``sendx sign``), or an envelope without its document (``sendx fetch``)."""
    from sendx.validators.parsing import load_json, read_bytes

    if not path.exists():
        raise InputError(f"no signature file {path}", hint="name it with --sig, or sign the file first")
    text = read_bytes(path, 1024 * 1024).strip()
    if text.startswith(b"{"):
        data = load_json(text)
        if _is_envelope(data) and "document" not in data:
            return data
        return Signature.from_dict(data)
    try:
        return Signature.from_jws(text.decode("ascii"))
    except UnicodeDecodeError:
        raise _malformed(f"{path} is not a JWS") from None


def verify_file(
    path: Path, registry: TrustRegistry, sig_path: Path | None = None, *, now: dt.datetime | None = None
) -> Verified:
    """Verify a file signed by ``sign_file`` (its sidecar, or its own envelope signature), or taken out
    of an envelope by ``sendx fetch -o`` (the envelope kept as its sidecar: ``envelope_sidecar``)."""
    fmt, data, doc = _read_document(path)
    if sig_path is None and _is_envelope(doc):
        return verify_envelope(doc, registry, now=now)
    signature = _read_signature(sig_path or default_signature_path(path))
    if isinstance(signature, dict):  # the envelope FILE came in: FILE must be exactly its document
        try:
            document = data.decode("utf-8") if fmt == "xml" else doc
        except UnicodeDecodeError:
            raise SignatureError(Failure.PAYLOAD_ALTERED, "the file is not the text the envelope carried") from None
        return verify_envelope({**signature, "document": document}, registry, now=now)
    if fmt == "xml":
        return verify_bytes(data, signature, registry, now=now)
    return verify_json(doc, signature, registry, now=now)

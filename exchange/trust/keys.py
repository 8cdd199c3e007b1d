"""Participants' Ed25519 keys: the local key store and the trust registry.

Part of the *sign* stage of the flow (bytes → parse → validate → adapt → sign → exchange).
A participant (an LA, a school, a college) signs what it sends with an Ed25519 key whose
id is its RFC 7638 JWK thumbprint, so a key id can never be attached to the wrong key.
The ``KeyStore`` keeps private keys on disk under ``$SENDX_HOME/keys/<org>/`` (PEM, mode
0600, directories 0700) and a local trust file (``$SENDX_HOME/trust.json``) of public keys.
The ``TrustRegistry`` (the trust file's model) says which keys belong to whom and for how
long: rotation ends a key's signing life (``expires``) while signatures made before then
still verify; revocation takes effect from ``revokedAt``, except for a key revoked as
``compromised``, which verifies nothing at all (its holder could have back-dated anything).
The verification policy itself lives in ``sendx.exchange.trust.signing``.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sendx.exchange.home import default_home, private_dir, write_private
from sendx.validators.errors import ConfigError, InputError, NotFoundError

__all__ = [
    "KeyInfo",
    "KeyStore",
    "RevocationReason",
    "SigningKey",
    "TrustRegistry",
    "TrustedKey",
    "b64url_decode",
    "b64url_encode",
    "default_home",
    "format_time",
    "jwk_thumbprint",
    "parse_time",
    "public_jwk",
    "public_key_from_jwk",
]

#: Participant ids become directory names, so they are restricted to a safe alphabet.
#: Always ``fullmatch``: with ``match``, ``$`` also matches before a trailing newline.
ORG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: An RFC 7638 SHA-256 thumbprint: 32 bytes in unpadded base64url.
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
TRUST_FILE = "trust.json"
TRUST_VERSION = 1


class RevocationReason(StrEnum):
    """Why a key was revoked; only ``compromised`` reaches back before the revocation time."""

    UNSPECIFIED = "unspecified"
    SUPERSEDED = "superseded"
    RETIRED = "retired"
    COMPROMISED = "compromised"


# --- encodings -------------------------------------------------------------------------


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url: any other character, or padding, is a ``ValueError``."""
    if not isinstance(text, str) or "+" in text or "/" in text or "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        # bytes.translate: str.translate's per-character mapping costs ten times as much
        data = text.encode("ascii").translate(_FROM_URLSAFE)
        return binascii.a2b_base64(data + b"=" * (-len(text) % 4), strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError("not unpadded base64url") from None


def parse_time(value: Any, where: str = "time") -> dt.datetime:
    """An RFC 3339 date-time with an offset (``Z`` or ``±hh:mm``) as an aware datetime."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and "T" in value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"not an RFC 3339 date-time: {value!r}", where=where) from None
    else:
        raise InputError(f"not an RFC 3339 date-time: {value!r}", where=where)
    if parsed.tzinfo is None:
        raise InputError(f"date-time has no UTC offset: {value!r}", where=where, hint="end it with Z")
    return parsed.astimezone(dt.UTC)


def format_time(value: dt.datetime) -> str:
    """UTC, second precision, ``Z``: the one textual form sendx writes."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# --- JWKs -------------------------------------------------------------------------------


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    """The RFC 8037 public JWK of an Ed25519 key, with its thumbprint as ``kid``."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": "Ed25519", "use": "sig"}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256) of an OKP key: over ``{"crv","kty","x"}`` canonical JSON."""
    try:
        members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    except KeyError as exc:
        raise InputError(f"JWK lacks the member {exc.args[0]!r}") from None
    # RFC 7638 §3: required members only, lexicographic order, no whitespace.
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


@lru_cache(maxsize=4096)
def _public_key(x: str) -> Ed25519PublicKey:
    # Building a key object costs about as much as a verification; trust registries are
    # small and long-lived, so cache by the key material itself.
    return Ed25519PublicKey.from_public_bytes(b64url_decode(x))


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 public key of an OKP/Ed25519 JWK; anything else is an ``InputError``."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise InputError(f"not an Ed25519 JWK (kty={jwk.get('kty')!r}, crv={jwk.get('crv')!r})")
    try:
        if len(b64url_decode(jwk.get("x", ""))) != 32:
            raise ValueError("length")
        return _public_key(jwk["x"])
    except ValueError:
        raise InputError("JWK 'x' is not a 32-byte base64url Ed25519 public key") from None


# --- the trust registry -----------------------------------------------------------------


def _opt_time(value: Any, where: str) -> dt.datetime | None:
    return None if value is None else parse_time(value, where)


@dataclass(frozen=True)
class TrustedKey:
    """One public key of a participant and the window in which its signatures count."""

    kid: str
    jwk: Mapping[str, str]
    not_before: dt.datetime
    expires: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    revocation_reason: RevocationReason | None = None

    def __post_init__(self) -> None:
        public_key_from_jwk(self.jwk)  # validates the key material
        if jwk_thumbprint(self.jwk) != self.kid:
            raise InputError(f"key id {self.kid!r} is not the RFC 7638 thumbprint of its JWK", where="kid")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return _public_key(self.jwk["x"])

    @property
    def compromised(self) -> bool:
        return self.revocation_reason is RevocationReason.COMPROMISED

    def active_at(self, when: dt.datetime) -> bool:
        """Whether the key may *sign* at ``when`` (not revoked, inside its validity window)."""
        if self.revoked_at is not None and when >= self.revoked_at:
            return False
        if self.expires is not None and when > self.expires:
            return False
        return when >= self.not_before

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "key") -> TrustedKey:
        if not isinstance(data, Mapping) or not isinstance(data.get("jwk"), Mapping):
            raise InputError("a trusted key needs a 'jwk' object", where=where)
        reason = data.get("revocationReason")
        try:
            reason_enum = None if reason is None else RevocationReason(reason)
        except ValueError:
            allowed = ", ".join(r.value for r in RevocationReason)
            raise InputError(f"unknown revocation reason {reason!r} (one of {allowed})", where=where) from None
        jwk = {k: v for k, v in data["jwk"].items() if isinstance(v, str)}
        return cls(
            kid=str(data.get("kid") or jwk.get("kid") or ""),
            jwk=jwk,
            not_before=parse_time(data.get("notBefore"), f"{where}/notBefore"),
            expires=_opt_time(data.get("expires"), f"{where}/expires"),
            revoked_at=_opt_time(data.get("revokedAt"), f"{where}/revokedAt"),
            revocation_reason=reason_enum,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "jwk": dict(self.jwk),
            "notBefore": format_time(self.not_before),
            "expires": None if self.expires is None else format_time(self.expires),
            "revokedAt": None if self.revoked_at is None else format_time(self.revoked_at),
            "revocationReason": None if self.revocation_reason is None else self.revocation_reason.value,
        }


@dataclass(frozen=True)
class TrustRegistry:
    """Participants and their public keys: the contents of a trust file.

    File shape: ``{"version": 1, "participants": {"<org>": {"keys": [TrustedKey, ...]}}}``.
    """

    participants: Mapping[str, tuple[TrustedKey, ...]] = field(default_factory=dict)
    _by_kid: Mapping[str, tuple[str, TrustedKey]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, tuple[str, TrustedKey]] = {}
        for org, keys in self.participants.items():
            for key in keys:
                if key.kid in index and index[key.kid][0] != org:
                    raise InputError(f"key {key.kid} is listed for both {index[key.kid][0]} and {org}")
                index[key.kid] = (org, key)
        object.__setattr__(self, "_by_kid", index)

    def find(self, kid: str) -> tuple[str, TrustedKey] | None:
        """``(participant, key)`` for a key id, or ``None`` if the key is not trusted."""
        return self._by_kid.get(kid)

    def keys_of(self, org: str) -> tuple[TrustedKey, ...]:
        return tuple(self.participants.get(org, ()))

    def __iter__(self) -> Iterator[tuple[str, TrustedKey]]:
        for org, keys in self.participants.items():
            for key in keys:
                yield org, key

    def with_key(self, org: str, key: TrustedKey) -> TrustRegistry:
        """A registry with ``key`` added to (or replacing the same kid of) ``org``."""
        _check_org(org)
        parts = {o: tuple(k for k in ks if k.kid != key.kid) for o, ks in self.participants.items()}
        parts[org] = (*parts.get(org, ()), key)
        return TrustRegistry(parts)

    def rotated(self, org: str, new_key: TrustedKey, at: dt.datetime) -> TrustRegistry:
        """Add ``new_key`` and end the signing life of ``org``'s other keys at ``at``.

        Old keys stay in the registry, so what they signed before ``at`` still verifies.
        """
        keys = tuple(
            replace(k, expires=at) if (k.expires is None or k.expires > at) and k.revoked_at is None else k
            for k in self.keys_of(org)
        )
        return TrustRegistry({**self.participants, org: keys}).with_key(org, new_key)

    def revoked(
        self, kid: str, at: dt.datetime | None = None, reason: RevocationReason = RevocationReason.UNSPECIFIED
    ) -> TrustRegistry:
        """A registry in which ``kid`` is revoked from ``at`` (default now) for ``reason``."""
        found = self.find(kid)
        if found is None:
            raise NotFoundError(f"no key {kid} in the trust registry", hint="see `sendx keys list`")
        org, key = found
        return self.with_key(org, replace(key, revoked_at=at or _now(), revocation_reason=RevocationReason(reason)))

    def merged(self, other: TrustRegistry) -> TrustRegistry:
        """Keys of both registries; where a kid is in both, ``other``'s entry wins."""
        result = self
        for org, key in other:
            result = result.with_key(org, key)
        return result

    def only(self, org: str) -> TrustRegistry:
        """The part of the registry about one participant (what ``sendx keys export`` prints)."""
        if org not in self.participants:
            raise NotFoundError(f"no keys for participant {org!r}")
        return TrustRegistry({org: self.keys_of(org)})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrustRegistry:
        if not isinstance(data, Mapping) or not isinstance(data.get("participants"), Mapping):
            raise InputError("a trust file is an object with a 'participants' object")
        parts: dict[str, tuple[TrustedKey, ...]] = {}
        for org, entry in data["participants"].items():
            _check_org(org)
            keys = entry.get("keys") if isinstance(entry, Mapping) else None
            if not isinstance(keys, list):
                raise InputError("a participant needs a 'keys' list", where=f"/participants/{org}")
            parts[org] = tuple(TrustedKey.from_dict(k, f"/participants/{org}/keys/{i}") for i, k in enumerate(keys))
        return cls(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": TRUST_VERSION,
            "participants": {
                org: {"keys": [k.to_dict() for k in keys]} for org, keys in sorted(self.participants.items())
            },
        }

    @classmethod
    def load(cls, path: Path) -> TrustRegistry:
        """Read a trust file; a missing file is an empty registry only if ``path`` is the default."""
        from sendx.validators.parsing import load_json, read_bytes

        try:
            return cls.from_dict(load_json(read_bytes(path, 16 * 1024 * 1024)))
        except InputError as exc:
            exc.where = f"{path} {exc.where}" if exc.where else str(path)
            raise

    def save(self, path: Path) -> None:
        write_private(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8"))


def _check_org(org: str) -> str:
    if not isinstance(org, str) or not ORG_PATTERN.fullmatch(org):
        raise InputError(
            f"participant id {org!r} is not allowed",
            hint="use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return org


# --- private keys and the key store -----------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """A participant's private key, ready to sign."""

    org: str
    kid: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def generate(cls, org: str) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        return cls(_check_org(org), public_jwk(private.public_key())["kid"], private)

    @property
    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def trusted(self, not_before: dt.datetime | None = None) -> TrustedKey:
        """This key's public half as a trust-registry entry."""
        jwk = self.public_jwk
        return TrustedKey(kid=self.kid, jwk=jwk, not_before=not_before or _now())


@dataclass(frozen=True)
class KeyInfo:
    """A row of ``sendx keys list``."""

    org: str
    key: TrustedKey
    has_private: bool

    def to_dict(self) -> dict[str, Any]:
        return {"org": self.org, **self.key.to_dict(), "hasPrivateKey": self.has_private}


class KeyStore:
    """Private keys under ``<home>/keys/<org>/<kid>.pem`` plus the local trust file.

    ``generate`` also records the public key in ``<home>/trust.json``, and a new key for an
    org that already has one is a rotation (see ``TrustRegistry.rotated``).
    """

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home).expanduser() if home else default_home()
        self.keys_dir = self.home / "keys"
        self.trust_path = self.home / TRUST_FILE

    # The trust file -------------------------------------------------------------------
    def trust(self) -> TrustRegistry:
        """The local trust registry (empty if there is no trust file yet)."""
        return TrustRegistry.load(self.trust_path) if self.trust_path.exists() else TrustRegistry()

    def _save_trust(self, registry: TrustRegistry) -> None:
        private_dir(self.home)
        registry.save(self.trust_path)

    # Keys -------------------------------------------------------------------------------
    def generate(self, org: str, *, now: dt.datetime | None = None) -> SigningKey:
        """Make a new key for ``org``, store it (0600) and trust it; older keys stop signing now."""
        at = (now or _now()).astimezone(dt.UTC)
        key = SigningKey.generate(org)
        private_dir(self.home)
        private_dir(self.keys_dir)
        org_dir = private_dir(self.keys_dir / org)
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(org_dir / f"{key.kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        jwk_text = json.dumps(key.public_jwk, indent=2) + "\n"
        write_private(org_dir / f"{key.kid}.jwk.json", jwk_text.encode("utf-8"))
        self._save_trust(self.trust().rotated(org, key.trusted(at), at))
        return key

    def load_private(self, kid: str) -> SigningKey:
        """The private key with id ``kid``; refuses key files others can read."""
        if not isinstance(kid, str) or not KID_PATTERN.fullmatch(kid):
            raise InputError(f"{kid!r} is not a key id (an RFC 7638 thumbprint)")
        matches = sorted(self.keys_dir.glob(f"*/{kid}.pem")) if self.keys_dir.is_dir() else []
        if not matches:
            raise NotFoundError(f"no private key {kid} in {self.keys_dir}", hint="see `sendx keys list`")
        path = matches[0]
        if path.stat().st_mode & 0o077:
            raise ConfigError(
                f"private key file {path} is readable by other users",
                hint=f"chmod 600 {path}",
            )
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"cannot read private key {path}: {exc}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 private key")
        key = SigningKey(path.parent.name, kid, private)
        if key.public_jwk["kid"] != kid:
            raise ConfigError(f"private key file {path} does not hold key {kid}")
        return key

    def current(self, org: str | None = None, *, now: dt.datetime | None = None) -> SigningKey:
        """The key an org signs with now: its newest active key that has a private half."""
        at = now or _now()
        registry = self.trust()
        orgs = [org] if org else sorted({o for o, _ in registry})
        if org is None and len(orgs) != 1:
            raise InputError(
                "say which participant signs (--org)" if orgs else f"no keys in {self.home}",
                hint="create one with `sendx keys new --org ID`",
            )
        candidates = [k for k in reversed(registry.keys_of(orgs[0])) if k.active_at(at)]
        for key in sorted(candidates, key=lambda k: k.not_before, reverse=True):
            if (self.keys_dir / orgs[0] / f"{key.kid}.pem").exists():
                return self.load_private(key.kid)
        raise NotFoundError(
            f"participant {orgs[0]!r} has no active private key in {self.home}",
            hint=f"create one with `sendx keys new --org {orgs[0]}`",
        )

    def list(self) -> list[KeyInfo]:
        """Every key in the local trust file, and whether its private half is here."""
        return [KeyInfo(org, key, (self.keys_dir / org / f"{key.kid}.pem").exists()) for org, key in self.trust()]

    def revoke(
        self, kid: str, *, at: dt.datetime | None = None, reason: RevocationReason = RevocationReason.UNSPECIFIED
    ) -> TrustedKey:
        """Record in the local trust file that ``kid`` is revoked from ``at`` (default now)."""
        registry = self.trust().revoked(kid, at, reason)
        self._save_trust(registry)
        found = registry.find(kid)
        assert found is not None
        return found[1]

    def adopt(self, other: TrustRegistry) -> TrustRegistry:
        """Add another registry's keys (the hub's) to the local trust file, and return the result.

        A key already here keeps what this machine knows of it (when it was made, when its
        signing life ended), and takes a revocation it does not know of yet.
        """
        registry = other.merged(self.trust())
        for _, key in other:
            mine = registry.find(key.kid)
            if key.revoked_at is not None and mine is not None and mine[1].revoked_at is None:
                registry = registry.revoked(
                    key.kid, key.revoked_at, key.revocation_reason or RevocationReason.UNSPECIFIED
                )
        self._save_trust(registry)
        return registry

    def export(self, org: str) -> TrustRegistry:
        """The public trust-file entry of one participant, to hand to the hub or a peer."""
        return self.trust().only(_check_org(org))

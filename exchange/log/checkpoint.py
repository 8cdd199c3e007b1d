"""Signed notes and log checkpoints in the C2SP text formats (signed-note, tlog-checkpoint), Ed25519.

Part of the *sign → exchange* stages: the hub periodically signs a ``Checkpoint`` (origin, tree
size, root) of the movement log (:mod:`sendx.exchange.log.transparency`) and hands it out; clients keep the ones they
have seen and check new ones against them (:mod:`sendx.exchange.log.verify`).

Formats implemented (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):

- A *signed note* is the note text — one or more lines, each ending in ``\\n``, UTF-8, no control
  characters other than newline — then a blank line, then one or more signature lines
  ``— <key name> <base64(4-byte key id || signature)>\\n`` (``—`` is U+2014, then a space).
  The signature covers the note text including its final newline (not the blank line).
- An Ed25519 key id is the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 || 32-byte key)``.
  Verifier key text: ``<name>+<8 hex key id>+<base64(0x01 || public key)>``; signer key text
  (as golang.org/x/mod/sumdb/note): ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>``.
- Key names are non-empty and contain no whitespace and no ``+``.
- A *checkpoint* body is ``<origin>\\n<size decimal, no leading zeros>\\n<base64 32-byte root>\\n``
  followed by optional non-empty extension lines.

Parsing is strict: malformed notes are an ``InputError``; a note with no valid signature from the
expected key, or a bad signature from it, is a ``ProofError``. Signatures from other keys are
ignored (a checkpoint may carry witness cosignatures) but two signature lines with the same key
name and id are refused as ambiguous.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from sendx.exchange.log.merkle import HASH_SIZE, ProofError
from sendx.validators.errors import InputError

__all__ = [
    "Checkpoint",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "key_id",
    "open_note",
    "parse_note",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
]

ALG_ED25519 = 0x01
_DASH = "\u2014 "
_MAX_SIGNATURES = 100
# Unicode whitespace (str.isspace) and '+' are forbidden in key names.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4): padding required, no stray characters."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise InputError(f"{what} is not valid base64", where=what) from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise InputError(f"{what} is not canonical base64", where=what)
    return raw


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise InputError(f"invalid key name {name!r}: it must be non-empty, without spaces or '+'", where="key name")


def key_id(name: str, public_key: bytes) -> bytes:
    """Ed25519 key id: first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that can check note signatures."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise InputError("an Ed25519 public key is 32 bytes", where="verifier key")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        """Parse ``<name>+<hex key id>+<base64(0x01 || key)>``; the key id must match."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise InputError("verifier key must look like name+keyid+base64key", where="verifier key")
        name, hex_id, b64 = parts
        _check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise InputError("verifier key id must be 8 lower-case hex digits", where="verifier key")
        raw = _b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise InputError("verifier key is not an Ed25519 key (0x01 || 32 bytes)", where="verifier key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != hex_id:
            raise InputError("verifier key id does not match its name and key", where="verifier key")
        return verifier

    def to_text(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key that signs notes (the hub's log key)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> Signer:
        """Parse ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InputError("signer key must look like PRIVATE+KEY+name+keyid+base64seed", where="signer key")
        name, hex_id, b64 = parts[2:]
        _check_name(name)
        raw = _b64decode(b64, "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise InputError("signer key is not an Ed25519 key (0x01 || 32-byte seed)", where="signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id.hex() != hex_id:
            raise InputError("signer key id does not match its name and key", where="signer key")
        return signer

    def to_text(self) -> str:
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(bytes([ALG_ED25519]) + seed)}"

    @property
    def public_key(self) -> bytes:
        return _raw_public(self.private_key.public_key())

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a signed note (not yet verified)."""

    name: str
    key_id: bytes
    signature: bytes

    def to_line(self) -> str:
        return f"{_DASH}{self.name} {_b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)


def _check_text(text: str) -> None:
    if not text or not text.endswith("\n"):
        raise InputError("note text must be non-empty and end with a newline", where="note text")
    if _CONTROL.search(text):
        raise InputError("note text contains a control character", where="note text")


def parse_note(signed: str | bytes) -> Note:
    """Split a signed note into text and signature lines, strictly (no signature checking)."""
    if isinstance(signed, bytes):
        try:
            signed = signed.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("signed note is not UTF-8", where="note") from None
    split = signed.rfind("\n\n")
    if split < 0:
        raise InputError("signed note has no blank line before its signatures", where="note")
    text, block = signed[: split + 1], signed[split + 2 :]
    _check_text(text)
    if not block or not block.endswith("\n"):
        raise InputError("signed note has no signature lines, or they do not end with a newline", where="note")
    signatures = []
    seen: set[tuple[str, bytes]] = set()
    for number, line in enumerate(block[:-1].split("\n"), start=1):
        where = f"signature line {number}"
        if not line.startswith(_DASH):
            raise InputError("signature line must start with an em dash and a space", where=where)
        name, sep, b64 = line[len(_DASH) :].partition(" ")
        if not sep or " " in b64:
            raise InputError("signature line must be '— <name> <base64>'", where=where)
        _check_name(name)
        raw = _b64decode(b64, where)
        if len(raw) < 5:
            raise InputError("signature is too short to hold a key id", where=where)
        sig = NoteSignature(name, raw[:4], raw[4:])
        if (name, sig.key_id) in seen:
            raise InputError(f"two signatures from the same key {name!r}: ambiguous", where=where)
        seen.add((name, sig.key_id))
        signatures.append(sig)
    if len(signatures) > _MAX_SIGNATURES:
        raise InputError(f"more than {_MAX_SIGNATURES} signatures", where="note")
    return Note(text, tuple(signatures))


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` (which must end with a newline) with each signer; return the signed note."""
    _check_text(text)
    if not signers:
        raise InputError("at least one signer is needed", where="signers")
    message = text.encode("utf-8")
    sigs = tuple(NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers)
    return Note(text, sigs).to_text()


def open_note(signed: str | bytes, verifiers: Sequence[Verifier]) -> tuple[str, tuple[Verifier, ...]]:
    """Parse and verify a signed note; return its text and the verifiers whose signatures held.

    Raises ``ProofError`` if no signature comes from a known key, or if a signature from a
    known key (same name and key id) is invalid. Unknown signers are ignored.
    """
    note = parse_note(signed)
    known: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        known_key = (verifier.name, verifier.key_id)
        if known_key in known and known[known_key] != verifier:
            raise InputError(f"two different verifier keys share name and id {verifier.name!r}", where="verifiers")
        known[known_key] = verifier
    message = note.text.encode("utf-8")
    verified = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, sig.signature):
            raise ProofError(f"the signature by {sig.name!r} does not verify: the note was altered or forged")
        verified.append(verifier)
    if not verified:
        names = ", ".join(sorted({s.name for s in note.signatures}))
        raise ProofError(f"no signature from a trusted key (signed by: {names})")
    return note.text, tuple(verified)


@dataclass(frozen=True)
class Checkpoint:
    """A log's commitment to its first ``size`` entries: origin, size, root (+ extension lines)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _CONTROL.search(self.origin):
            raise InputError("checkpoint origin must be one non-empty line", where="origin")
        if not 0 <= self.size < 1 << 63:
            raise InputError("checkpoint size must be a non-negative 64-bit integer", where="size")
        if len(self.root) != HASH_SIZE:
            raise InputError("checkpoint root must be 32 bytes", where="root")
        for line in self.extensions:
            if not line or "\n" in line or _CONTROL.search(line):
                raise InputError("checkpoint extension lines must be single non-empty lines", where="extensions")

    def to_note(self) -> str:
        """The note text (unsigned body)."""
        lines = [self.origin, str(self.size), _b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_note(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly."""
        _check_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InputError("checkpoint needs origin, size and root lines", where="checkpoint")
        origin, size, root, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise InputError("checkpoint size must be a decimal without leading zeros", where="checkpoint line 2")
        raw_root = _b64decode(root, "checkpoint line 3")
        return cls(origin, int(size), raw_root, tuple(extensions))

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "size": self.size, "root": _b64(self.root), "extensions": list(self.extensions)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        try:
            return cls(
                str(data["origin"]),
                int(data["size"]),
                _b64decode(str(data["root"]), "root"),
                tuple(str(x) for x in data.get("extensions", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"checkpoint object is malformed: {exc}", where="checkpoint") from None


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """Signed-note text of ``checkpoint``, signed by the log key."""
    return sign_note(checkpoint.to_note(), [signer])


def verify_checkpoint(signed: str | bytes, verifier: Verifier, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint against the log key; check its origin if given; return it."""
    text, _ = open_note(signed, [verifier])
    checkpoint = Checkpoint.from_note(text)
    if origin is not None and checkpoint.origin != origin:
        raise ProofError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    return checkpoint

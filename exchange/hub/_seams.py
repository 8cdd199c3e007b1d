"""The hub's seams onto the other sendx packages it depends on (signing, the log, CTF).

Each function here is the hub's only call into that package, so the hub's logic never
depends on their internals, and a package that is not present fails one clear way.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CtfRoute", "ctf_movements", "ctf_route", "movement_leaf", "split_ctf", "verify_envelope_signature"]


_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)


# --------------------------------------------------------------------------- signing


def jwk_kid(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public Ed25519 JWK (validating the key material)."""
    from sendx.exchange.trust.keys import jwk_thumbprint, public_key_from_jwk

    public_key_from_jwk(jwk)
    kid = jwk_thumbprint(jwk)
    if jwk.get("kid") not in (None, kid):
        from sendx.validators.errors import InputError

        raise InputError(f"the JWK's kid {jwk['kid']!r} is not its RFC 7638 thumbprint {kid!r}", where="kid")
    return kid


def verify_envelope_signature(
    envelope: Mapping[str, Any], participant: str, kid: str, jwk: Mapping[str, Any]
) -> _dt.datetime:
    """Verify the envelope's signature against one registered, unrevoked key of its sender; when it was signed."""
    from sendx.exchange.trust.keys import TrustedKey, TrustRegistry
    from sendx.exchange.trust.signing import verify_envelope

    # The hub's registry decides revocation itself (revoked keys never reach here), so the
    # key's validity window starts at the epoch: an envelope signed before the key was
    # registered at this hub is still the sender's.
    key = TrustedKey(kid=kid, jwk={k: v for k, v in jwk.items() if isinstance(v, str)}, not_before=_EPOCH)
    return verify_envelope(envelope, TrustRegistry({participant: (key,)})).signed_at


def envelope_created(envelope: Mapping[str, Any]) -> _dt.datetime:
    """The envelope's ``created`` as an aware UTC datetime (a clear 400 if it is not RFC 3339)."""
    from sendx.exchange.trust.keys import parse_time

    return parse_time(envelope["created"], "/created")


def signature_error(reason: str, message: str, where: str | None = None) -> Exception:
    from sendx.exchange.trust.signing import Failure, SignatureError

    return SignatureError(Failure(reason), message, where=where)


# --------------------------------------------------------------------------- movement log


def movement_leaf(event: Mapping[str, Any], salt: bytes, las: Sequence[str | None]) -> bytes:
    """The log leaf committing to a movement event and naming the LAs it touches, nothing more."""
    from sendx.exchange.log.leaves import movement_leaf as leaf

    return leaf(event, salt, las)


def movement_leaf_of(plaintext: bytes, salt: bytes, las: Sequence[str | None]) -> bytes:
    """The leaf of an event already in its RFC 8785 bytes (a sealed row's plaintext)."""
    from sendx.exchange.log.leaves import MovementLeaf, commitment

    return MovementLeaf(tuple(sorted({c for c in las if c})), commitment(plaintext, salt)).to_bytes()


def unopenable_leaf(las: Sequence[str | None], old_leaf: bytes) -> bytes:
    """A leaf for a movement whose row is gone or unreadable: it names the LAs, and no event opens it."""
    import hashlib

    from sendx.exchange.log.leaves import MovementLeaf

    sealed = hashlib.sha256(b"sendx/unopenable-previous-entry\x00" + old_leaf).digest()
    return MovementLeaf(tuple(sorted({c for c in las if c})), sealed).to_bytes()


def bridge_leaf(origin: str, size: int, root: bytes) -> bytes:
    """The first entry of a log that replaced another: the old log's final checkpoint."""
    from sendx.exchange.log.checkpoint import Checkpoint
    from sendx.exchange.log.leaves import BridgeLeaf

    return BridgeLeaf(Checkpoint(origin, size, root)).to_bytes()


def leaf_problem(leaf: Any, plaintext: bytes, salt: Any) -> str | None:
    """What is wrong between a movement's log entry and its (decrypted) event and salt, or None."""
    from sendx.exchange.log.leaves import MovementLeaf, opens, parse_leaf
    from sendx.validators.errors import InputError

    if leaf is None:
        return "its log entry is missing"
    try:
        parsed = parse_leaf(leaf)
    except InputError as exc:
        return f"its log entry is damaged ({exc.message})"
    if not isinstance(parsed, MovementLeaf):
        return "its log entry is not a movement leaf"
    if not isinstance(salt, bytes | memoryview) or not opens(parsed, plaintext, bytes(salt)):
        return "it does not match its log entry's commitment (the row was altered)"
    return None


def log_append(db: Any, locked_size: int, leaves: Sequence[bytes]) -> int:
    """Append leaves the head lock reserved (``Store.lock_log_head(grow=len(leaves))``)."""
    from sendx.exchange.store.lognodes import append_leaves

    return append_leaves(db, locked_size, leaves, reserved=True)


# --------------------------------------------------------------------------- CTF


@dataclass(frozen=True)
class CtfRoute:
    """Where a CTF comes from and goes to, and whose records it carries."""

    source_la: str | None
    source_laestab: str | None
    source_name: str | None
    source_urn: str | None
    destination_la: str | None
    destination_laestab: str | None
    destination_urn: str | None
    created: str | None
    upns: tuple[str, ...]


def ctf_route(xml: bytes) -> CtfRoute:
    """Header addresses and pupil UPNs of a (validated) CTF, read in one streaming pass."""
    from sendx.validators.xml import iterparse

    head: dict[str, str] = {}
    upns: list[str] = []
    # Only these elements come back to Python: the rest of a 10,000-pupil file stays in C.
    for _, elem in iterparse(xml, events=("end",), tag=("Header", "UPN", "Pupil")):
        tag = elem.tag
        if tag == "Header":
            for path in (
                "DateTime",
                "SourceSchool/LEA",
                "SourceSchool/Estab",
                "SourceSchool/URN",
                "SourceSchool/SchoolName",
                "DestSchool/LEA",
                "DestSchool/Estab",
                "DestSchool/URN",
            ):
                head[path] = (elem.findtext(path) or "").strip()
            elem.clear()
        elif tag == "UPN" and elem.getparent() is not None and elem.getparent().tag == "Pupil":
            upns.append((elem.text or "").strip().upper())
        elif tag == "Pupil":
            elem.clear()  # bounded memory for large files
    src_la, src_estab = head.get("SourceSchool/LEA") or None, head.get("SourceSchool/Estab") or ""
    dst_la, dst_estab = head.get("DestSchool/LEA") or None, head.get("DestSchool/Estab") or ""
    return CtfRoute(
        source_la=src_la,
        source_laestab=(src_la or "") + src_estab or None,
        source_name=head.get("SourceSchool/SchoolName") or None,
        source_urn=head.get("SourceSchool/URN") or None,
        destination_la=dst_la,
        destination_laestab=(dst_la or "") + dst_estab or None,
        destination_urn=head.get("DestSchool/URN") or None,
        created=head.get("DateTime") or None,
        upns=tuple(u for u in upns if u),
    )


def split_ctf(xml: bytes) -> list[tuple[str, bytes]]:
    """(UPN, one-pupil CTF) per pupil; a one-pupil file unchanged (``adapters.ctf.split_ctf``)."""
    from sendx.adapters.ctf import split_ctf as split

    return split(xml)


def ctf_movements(
    route: CtfRoute, *, envelope_id: str, sender: str, role: str, destination: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """The movement events a (validated) CTF implies at the hub, from its ``ctf_route`` (read
    once per upload): one per pupil, per envelope.

    The pupil leaves the source school for ``destination`` (a ``leave`` event), or for nowhere
    known (``destination-unknown`` for XXX, ``independent-or-abroad`` for MMM), recorded by the
    sending participant under ids derived from the envelope.  ``adapters.ctf.ctf_to_movements``
    gives the fuller picture from the file alone (a ``join`` at the destination too, ids from
    school, UPN and date); the hub logs what it witnessed: this envelope leaving this sender.
    """
    source = {"name": route.source_name or f"LAESTAB {route.source_laestab}", "ap": False}
    if route.source_laestab and route.source_laestab.isdigit():
        source["laestab"] = route.source_laestab
        source["la"] = route.source_la
    if route.source_urn:
        source["urn"] = route.source_urn
    lost = (route.destination_la or "").upper()
    kind = {"XXX": "destination-unknown", "MMM": "independent-or-abroad"}.get(lost, "leave")
    date = (route.created or "")[:10] or _dt.date.today().isoformat()
    return [
        {
            "$schema": "https://schemas.sendx.org.uk/movement/v1",
            "eventId": f"CTF-{envelope_id}-{n}"[:64],
            "type": kind,
            "pupil": {"upn": upn},
            "from": source,
            "to": None if kind != "leave" else dict(destination or {}) or None,
            "effectiveDate": date,
            "reason": "common transfer file sent",
            "recordedBy": {"participant": sender, "role": role},
        }
        for n, upn in enumerate(route.upns)
    ]

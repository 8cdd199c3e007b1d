"""The hub's seams onto the other sendx packages it depends on (signing, the log, CTF).

Each function here is the hub's only call into that package, so the hub's logic never
depends on their internals, and a package that is not present fails one clear way.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from validators.errors import ConfigError

__all__ = ["CtfRoute", "ctf_movements", "ctf_route", "movement_leaf", "verify_envelope_signature"]


_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)


def _missing(what: str, module: str, exc: ImportError) -> ConfigError:
    return ConfigError(f"{what} is not available in this build ({module} is missing)", hint=str(exc))


# --------------------------------------------------------------------------- signing


def jwk_kid(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public Ed25519 JWK (validating the key material)."""
    from exchange.keys import jwk_thumbprint, public_key_from_jwk

    public_key_from_jwk(jwk)
    kid = jwk_thumbprint(jwk)
    if jwk.get("kid") not in (None, kid):
        from validators.errors import InputError

        raise InputError(f"the JWK's kid {jwk['kid']!r} is not its RFC 7638 thumbprint {kid!r}", where="kid")
    return kid


def verify_envelope_signature(envelope: Mapping[str, Any], participant: str, kid: str, jwk: Mapping[str, Any]) -> None:
    """Verify the envelope's signature against one registered, unrevoked key of its sender."""
    from exchange.keys import TrustedKey, TrustRegistry
    from exchange.signing import verify_envelope

    # The hub's registry decides revocation itself (revoked keys never reach here), so the
    # key's validity window starts at the epoch: an envelope signed before the key was
    # registered at this hub is still the sender's.
    key = TrustedKey(kid=kid, jwk={k: v for k, v in jwk.items() if isinstance(v, str)}, not_before=_EPOCH)
    verify_envelope(envelope, TrustRegistry({participant: (key,)}))


def signature_error(reason: str, message: str, where: str | None = None) -> Exception:
    from exchange.signing import Failure, SignatureError

    return SignatureError(Failure(reason), message, where=where)


# --------------------------------------------------------------------------- movement log


def movement_leaf(event: Mapping[str, Any], salt: bytes) -> bytes:
    """The log leaf committing to a movement event without exposing personal data."""
    from exchange.log import movement_leaf as leaf

    return leaf(event, salt)


def log_append(session: Any, head: Any, leaves: Sequence[bytes]) -> int:
    from exchange.hub.logstore import append_leaves

    return append_leaves(session, head, leaves)


# --------------------------------------------------------------------------- CTF


@dataclass(frozen=True)
class CtfRoute:
    """Where a CTF comes from and goes to, and whose records it carries."""

    source_la: str | None
    source_laestab: str | None
    destination_la: str | None
    destination_laestab: str | None
    upns: tuple[str, ...]


def ctf_route(xml: bytes) -> CtfRoute:
    """Header addresses and pupil UPNs of a (validated) CTF."""
    raise _missing("CTF routing", "adapters.ctf", ImportError("not yet merged"))


def ctf_movements(xml: bytes) -> list[dict[str, Any]]:
    """The movement events a (validated) CTF implies (leave/join, destination unknown...)."""
    try:
        from adapters.ctf import movements
    except ImportError as exc:
        raise _missing("CTF movements", "adapters.ctf", exc) from exc
    return list(movements(xml))

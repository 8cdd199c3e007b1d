"""Encryption at rest for stored documents and movement events (AES-256-GCM).

Each row gets a fresh random 96-bit nonce and is bound to its own id through the AAD,
so a ciphertext copied onto another row fails to decrypt rather than leaking under the
wrong name.  Searchable identifiers (UPNs) are stored only as keyed hashes derived from
the same storage key, so exact-match search works without the identifier in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sendx.validators.errors import ConfigError

__all__ = ["Cipher"]


class Cipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigError("the storage key must be 32 bytes")
        self._aead = AESGCM(key)
        # Separate sub-key for the identifier index: the AES key never doubles as a MAC key.
        self._index_key = hmac.new(key, b"sendx/identifier-index/v1", hashlib.sha256).digest()

    def encrypt(self, plaintext: bytes, aad: str) -> tuple[bytes, bytes]:
        nonce = secrets.token_bytes(12)
        return nonce, self._aead.encrypt(nonce, plaintext, aad.encode("utf-8"))

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: str) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad.encode("utf-8"))
        except InvalidTag as exc:
            raise ConfigError(
                f"stored record {aad} cannot be decrypted", hint="the storage key changed or the row was altered"
            ) from exc

    def index(self, value: str) -> str:
        """Keyed hash of an identifier (e.g. a UPN), for exact-match search."""
        return hmac.new(self._index_key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()

"""Participants, their public keys and API tokens; who a token or a page session belongs to."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sendx.exchange.hub import _seams
from sendx.exchange.hub.service._base import HubBase, detached_participant, iso, participant_in
from sendx.exchange.store import ROLES, ApiToken, Participant, ParticipantKey, utcnow
from sendx.validators.errors import ConflictError, InputError, NotAuthorisedError, NotFoundError

__all__ = ["Participants", "hash_token"]

_TOKEN_PREFIX = "sxt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Participants(HubBase):
    """Registering participants, their keys and tokens; authenticating a caller."""

    def add_participant(
        self,
        id: str,
        role: str,
        name: str,
        *,
        la: str | None = None,
        urn: str | None = None,
        laestab: str | None = None,
        ukprn: str | None = None,
        ods: str | None = None,
    ) -> dict[str, Any]:
        from sendx.validators import identifiers as ids

        if role not in ROLES:
            raise InputError(f"unknown role {role!r}", hint=f"choose one of: {', '.join(ROLES)}")
        from sendx.exchange.trust.keys import ORG_PATTERN

        # The key store's rule: a participant names its key directory after its id, so the
        # hub must not register one that cannot sign (nor "..", nor a look-alike in Cyrillic).
        if not isinstance(id, str) or not ORG_PATTERN.fullmatch(id):
            raise InputError(
                f"participant id {id!r} must be 1-64 ASCII letters, digits, '-', '_' or '.', "
                "starting with a letter or digit",
                where="id",
            )
        # The column holds 200 characters: PostgreSQL refused a longer name with a 500, SQLite kept it.
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InputError("a participant's name is 1-200 characters", where="name")
        checks = [
            ("la", la, ids.is_valid_la_code),
            ("urn", urn, ids.is_valid_urn),
            ("laestab", laestab, ids.is_valid_laestab),
            ("ukprn", ukprn, ids.is_valid_ukprn),
            ("ods", ods, ids.is_valid_ods_code),
        ]
        for what, value, check in checks:
            if value is not None and not check(value):
                raise InputError(f"{value!r} is not a valid {what.upper()}", where=what)
        if role == "la" and not la:
            raise InputError("an LA participant needs its LA code (--la)")
        if role == "school" and not (urn or laestab):
            raise InputError("a school needs its URN or LAESTAB")
        if laestab and not la:
            la = laestab[:3]
        if role == "la" and laestab and laestab[:3] != la:
            # An LA's LAESTAB is where the records it holds itself come from: its own area only.
            raise InputError(f"LA {la}'s LAESTAB must be in its own area, not {laestab}", where="laestab")
        p = Participant(id=id, role=role, name=name, la=la, urn=urn, laestab=laestab, ukprn=ukprn, ods=ods)
        try:
            with self.store.write() as s:
                s.add(p)
        except IntegrityError as exc:
            raise ConflictError(f"participant {id!r} or one of its identifiers is already registered") from exc
        return p.to_dict()

    def list_participants(self) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return [p.to_dict() for p in s.scalars(select(Participant).order_by(Participant.id))]

    def participant(self, pid: str) -> dict[str, Any]:
        with self.store.read() as s:
            return participant_in(s, pid).to_dict()

    def add_key(self, participant_id: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
        kid = _seams.jwk_kid(jwk)
        with self.store.write() as s:
            participant_in(s, participant_id)
            existing = s.get(ParticipantKey, kid)
            if existing is not None:
                if existing.participant_id != participant_id:
                    raise ConflictError(f"key {kid} is registered to another participant")
                return {"kid": kid, "participant": participant_id, "revoked": existing.revoked_at is not None}
            s.add(ParticipantKey(kid=kid, participant_id=participant_id, jwk=json.dumps(dict(jwk), sort_keys=True)))
        return {"kid": kid, "participant": participant_id, "revoked": False}

    def revoke_key(self, kid: str, *, participant_id: str | None = None) -> dict[str, Any]:
        with self.store.write() as s:
            key = s.get(ParticipantKey, kid)
            if key is None or participant_id not in (None, key.participant_id):
                raise NotFoundError(f"no key {kid}")
            key.revoked_at = key.revoked_at or utcnow()
            return {"kid": kid, "participant": key.participant_id, "revoked": True}

    def keys(self, participant_id: str) -> list[dict[str, Any]]:
        with self.store.read() as s:
            participant_in(s, participant_id)
            rows = s.scalars(select(ParticipantKey).where(ParticipantKey.participant_id == participant_id))
            return [_key_dict(k) for k in rows]

    def all_keys(self) -> dict[str, list[dict[str, Any]]]:
        """Every participant's public keys, by participant id: what an offline verifier trusts.

        Ids and keys only (no names or identifiers): all a signature check needs.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        with self.store.read() as s:
            for k in s.scalars(select(ParticipantKey).order_by(ParticipantKey.participant_id, ParticipantKey.kid)):
                out.setdefault(k.participant_id, []).append(_key_dict(k))
        return out

    def new_token(self, participant_id: str) -> str:
        """Issue an API token; only its SHA-256 is stored, so this is the one time it is seen."""
        token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.write() as s:
            participant_in(s, participant_id)
            s.add(ApiToken(participant_id=participant_id, token_hash=hash_token(token)))
        return token

    def revoke_tokens(self, participant_id: str, token: str | None = None) -> dict[str, Any]:
        """Revoke one of a participant's API tokens (given its text) or, with none given, all of them.

        Effective at once for the API and for any LA page session signed in with them.
        """
        with self.store.write() as s:
            participant_in(s, participant_id)
            q = select(ApiToken).where(ApiToken.participant_id == participant_id, ApiToken.revoked_at.is_(None))
            if token is not None:
                q = q.where(ApiToken.token_hash == hash_token(token))
            rows = list(s.scalars(q))
            if token is not None and not rows:
                raise NotFoundError(f"that token is not a live token of {participant_id!r}")
            now = utcnow()
            for row in rows:
                row.revoked_at = now
        return {"participant": participant_id, "revoked": len(rows)}

    def authenticate(
        self, token: str | None, *, conn: Connection | None = None, address: str | None = None
    ) -> Participant:
        """The participant a Bearer token belongs to; on ``conn`` if given (the request's own connection).

        ``address`` is the client's: unknown tokens from one address are throttled (``throttle``).
        """
        if not token:
            raise NotAuthorisedError("an API token is required", hint="send 'Authorization: Bearer <token>'")
        self.token_throttle.check(address)
        digest = hash_token(token)
        found = self._live_token(digest, conn)
        if found is None:
            self.token_throttle.failed(address)
            raise NotAuthorisedError("the API token is not valid", hint="ask the hub admin for a new token")
        return found

    def _live_token(self, digest: str, conn: Connection | None = None) -> Participant | None:
        """The participant whose unrevoked token has this SHA-256, if any.

        The lookup is a transaction of its own, ended before the request body is read: joining
        it to the upload's checks would save a BEGIN and a COMMIT, but would keep a transaction
        (and its table locks, which a migration waits behind) open while a slow client sends.
        """
        with self._connection(conn) as db, db.begin():
            row = db.execute(_TOKEN_OWNER, {"digest": digest}).first()
        # The lookup is by hash (the index); the constant-time compare guards the final check.
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return detached_participant(row)


def _key_dict(k: ParticipantKey) -> dict[str, Any]:
    return {"kid": k.kid, "jwk": json.loads(k.jwk), "created": iso(k.created_at), "revoked": iso(k.revoked_at)}


_TOKEN_OWNER = (
    select(ApiToken.__table__.c.token_hash, ApiToken.__table__.c.revoked_at, *Participant.__table__.c)
    .join_from(ApiToken.__table__, Participant.__table__)
    .where(ApiToken.__table__.c.token_hash == bindparam("digest"))
)

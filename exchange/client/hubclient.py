"""``HubClient``: the participant's side of the hub API, over ``requests``.

The exchange stage seen from a school, LA or trust: send signed envelopes, read the
inbox, fetch and acknowledge transfers, record and list movements, audit the log.
Problem responses come back as the matching ``SendxError`` (same status, detail and
hint), so the CLI reports a hub error exactly as it reports a local one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from sendx.validators.errors import (
    ConfigError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotAuthorisedError,
    NotFoundError,
    SendxError,
    TooLargeError,
)

__all__ = [
    "HubClient",
    "HubError",
    "Profile",
    "from_profile",
    "load_profile",
    "make_envelope",
    "read_document",
    "registry_from_hub",
    "save_profile",
    "verify_fetched",
]

_BY_STATUS: dict[int, type[SendxError]] = {
    400: InputError,
    401: NotAuthorisedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
}


class HubError(SendxError):
    """The hub refused or failed a request (status and problem body kept)."""

    exit_code = 1
    code = "hub-error"

    def __init__(self, message: str, *, status: int, problem: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status = status
        self.problem = dict(problem or {})


@dataclass(frozen=True)
class Profile:
    hub: str
    participant: str | None
    token: str | None


def load_profile(home: Path | None = None) -> Profile:
    """``$SENDX_HOME/profile.json`` (hub, participant, token), overridden by ``SENDX_HUB_URL``,
    ``SENDX_PARTICIPANT`` and ``SENDX_TOKEN``."""
    from sendx.exchange.home import default_home
    from sendx.validators.parsing import load_json, read_bytes

    path = (home or default_home()) / "profile.json"
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = load_json(read_bytes(path, 1024 * 1024))
        except InputError as exc:
            raise ConfigError(f"cannot read the profile: {exc.message}", where=str(path)) from exc
        if not isinstance(data, dict):
            raise ConfigError("the profile is not a JSON object", where=str(path))
    hub = os.environ.get("SENDX_HUB_URL") or data.get("hub") or "http://127.0.0.1:8700"
    return Profile(
        hub=str(hub).rstrip("/"),
        participant=os.environ.get("SENDX_PARTICIPANT") or data.get("participant"),
        token=os.environ.get("SENDX_TOKEN") or data.get("token"),
    )


def from_profile(home: Path | None = None) -> tuple[HubClient, Profile]:
    """A client for the configured hub and participant (``load_profile``); a token is required."""
    profile = load_profile(home)
    if not profile.token:
        raise ConfigError("no API token configured", hint="run `sendx login` or set SENDX_TOKEN")
    return HubClient(profile.hub, profile.token), profile


def save_profile(profile: Profile, home: Path | None = None) -> Path:
    from sendx.exchange.home import default_home, private_dir, write_private

    home = private_dir(home or default_home())
    data = {"hub": profile.hub, "participant": profile.participant, "token": profile.token}
    return write_private(home / "profile.json", json.dumps(data, indent=2).encode("utf-8"))


class HubClient:
    def __init__(self, base_url: str, token: str | None, *, timeout: float = 30.0, session: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = session or requests.Session()

    # -------------------------------------------------------------- plumbing

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, Any] | None = None,
        text: bool = False,
    ) -> Any:
        """The JSON answer (or, with ``text``, the body as text); problem responses raise."""
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            content_type = "application/json"
        resp = self._send(method, path, "text/plain" if text else "application/json", data, content_type, params)
        if text:
            return resp.content.decode("utf-8", "replace")
        return _json_body(resp.status_code, resp.content)

    def _send(
        self,
        method: str,
        path: str,
        accept: str,
        data: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        stream: bool = False,
    ) -> Any:
        """The hub's response (a problem response raises); with ``stream``, the body is not read yet."""
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        clean = {k: v for k, v in (params or {}).items() if v is not None and v is not False}
        try:
            resp = self.http.request(
                method,
                self.base_url + path,
                data=data,
                headers=headers,
                params=clean,
                timeout=self.timeout,
                stream=stream,
            )
        except requests.RequestException as exc:
            raise ConfigError(
                f"cannot reach the hub at {self.base_url}: {type(exc).__name__}",
                hint="check SENDX_HUB_URL / the profile, and that `sendx serve` is running",
            ) from exc
        if resp.status_code >= 400:
            body = _json_body(resp.status_code, resp.content)
            raise _problem_error(resp.status_code, body if isinstance(body, dict) else {})
        return resp

    # -------------------------------------------------------------- API

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/v1/participants/me")

    def keys(self, participant: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/participants/{_segment(participant)}/keys")

    def all_keys(self) -> dict[str, Any]:
        """Every participant's public keys: ``{"participants": {id: [key, ...]}}``."""
        return self.request("GET", "/v1/keys")

    def send(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/transfers", json_body=envelope)

    def inbox(self, *, limit: int = 50, cursor: str | None = None, status: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/inbox", params={"limit": limit, "cursor": cursor, "status": status})

    def transfer(self, tid: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/transfers/{_segment(tid)}")

    def ack(self, tid: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/transfers/{_segment(tid)}/ack")

    def record_movement(self, event: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/movements", json_body=event)

    def movements(self, **filters: Any) -> dict[str, Any]:
        return self.request("GET", "/v1/movements", params={k.replace("date_", ""): v for k, v in filters.items()})

    def export_movements(self, **filters: Any) -> Iterator[bytes]:
        """Your area's movements (an LA) as CSV, in chunks as the hub streams them.

        ``filters``: the LA pages' — ``from``, ``to``, ``type`` (a list), ``setting``,
        ``settingType``, ``ap``, ``unknown``.
        """
        resp = self._send("GET", "/v1/movements/export", "text/csv", params=filters, stream=True)
        with resp:
            try:
                yield from resp.iter_content(chunk_size=64 * 1024)
            except requests.RequestException as exc:
                raise ConfigError(f"the hub stopped sending the export: {type(exc).__name__}") from exc

    def lost_pupils(self, upn: str | None = None, status: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/lost-pupils", params={"upn": upn, "status": status})

    def redirect(self, lost_id: str, recipient: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/lost-pupils/{_segment(lost_id)}/redirect", json_body={"recipient": recipient})

    def access_log(self, **params: Any) -> dict[str, Any]:
        return self.request("GET", "/v1/access-log", params=params)

    def validate(self, document: bytes, content_type: str = "application/json", kind: str | None = None) -> dict:
        return self.request("POST", "/v1/validate", data=document, content_type=content_type, params={"kind": kind})

    # ``log="previous"``: the log a hub kept before leaf format 2 (``/v1/log/...?log=previous``).

    def checkpoint(self, log: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/log/checkpoint", params={"log": log})

    def entries(self, start: int, end: int, log: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/log/entries", params={"start": start, "end": end, "log": log})

    def inclusion_proof(self, index: int, size: int, log: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/v1/log/proof/inclusion", params={"index": index, "size": size, "log": log})

    def consistency_proof(self, first: int, second: int, log: str | None = None) -> dict[str, Any]:
        params = {"first": first, "second": second, "log": log}
        return self.request("GET", "/v1/log/proof/consistency", params=params)

    def receipt(self, index: int) -> str:
        """The offline receipt (C2SP tlog-proof text) for log entry ``index``."""
        return str(self.request("GET", "/v1/log/receipt", params={"index": index}, text=True))


def _segment(value: str) -> str:
    """One URL path segment: an id such as ``../participants`` must not climb out of its route."""
    segment = quote(str(value), safe="")
    # Dots are unreserved: quote() keeps them and requests undoes "%2E", so "." and ".." would
    # reach a proxy as dot segments and be resolved away.  No sendx id is either.
    if segment in ("", ".", ".."):
        raise InputError(f"{value!r} is not an id", hint="ids are the transfer, participant or record ids the hub gave")
    return segment


def _json_body(status: int, content: bytes) -> Any:
    """The response parsed as strictly as the hub parses requests (no duplicate keys...)."""
    from sendx.validators.parsing import load_json

    if not content:
        return None
    try:
        # Already in memory, so no size limit beyond the response's own.
        return load_json(content, limit=len(content))
    except InputError as exc:
        if status >= 400:
            return None  # an error page from a proxy, say: the status tells the story
        raise HubError(f"the hub's response is not valid JSON: {exc.message}", status=status) from None


def _problem_error(status: int, problem: Mapping[str, Any]) -> SendxError:
    detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    issues = problem.get("issues") or []
    if issues:
        detail += "".join(
            f"\n  {i.get('rule')}: {i.get('location') or '(document)'}: {i.get('message')}" for i in issues
        )
    kw = {"where": problem.get("instance"), "hint": problem.get("hint")}
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls(f"hub: {detail}", **kw)
    return HubError(f"hub: {detail}", status=status, problem=problem, **kw)


# --------------------------------------------------------------------------- envelopes


def read_document(path: Path, kind: str | None = None) -> tuple[Any, str]:
    """A document file as the envelope carries it (JSON object, or XML text) and its kind."""
    from sendx import validators
    from sendx.validators import kinds, parsing

    raw = parsing.read_bytes(path, parsing.MAX_XML_BYTES)
    if parsing.sniff_format(raw) == "xml":
        return raw.decode("utf-8"), kind or "ctf"
    doc = parsing.load_json(raw)
    if kind is None:
        spec = kinds.detect_json(doc)
        if spec is None:
            report = validators.validate(doc)
            raise InputError(
                f"cannot tell what kind of document {path.name} is",
                where=str(path),
                hint=report.issues[0].hint if report.issues else "pass --kind",
            )
        kind = spec.name
    return doc, kind


def make_envelope(
    document: Any, kind: str, *, sender_key: Any, recipient: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    """A signed envelope from the key's participant to ``recipient`` (``sendx.exchange.trust.signing``)."""
    import datetime as dt
    import uuid

    from sendx.exchange.trust.signing import sign_envelope

    body = {
        "$schema": "https://schemas.sendx.org.uk/envelope/v1",
        "envelopeId": f"env-{uuid.uuid4().hex}",
        "kind": kind,
        "sender": sender_key.org,
        "recipient": recipient,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "idempotencyKey": idempotency_key or f"idem-{uuid.uuid4().hex}",
        "document": document,
    }
    return sign_envelope(body, sender_key)


#: The hub does not know when a participant made a key, only when it was registered; a document
#: signed before its key reached the hub is still the participant's, so its keys count from here.
_HUB_KEYS_FROM = "2000-01-01T00:00:00Z"


def registry_from_hub(keys_by_participant: Mapping[str, Any]) -> Any:
    """A ``TrustRegistry`` from the hub's answer about keys (``{id: [{"kid", "jwk", "revoked"}]}``).

    A key the hub revoked signs nothing from its revocation on; what it signed before still counts,
    as the hub accepted it then.  Anything malformed in the answer is an ``InputError``.
    """
    from sendx.exchange.trust.keys import TrustedKey, TrustRegistry

    if not isinstance(keys_by_participant, Mapping):
        raise InputError("the hub's answer about keys is not an object")
    registry: dict[str, tuple[Any, ...]] = {}
    for pid, keys in keys_by_participant.items():
        if not isinstance(keys, list):
            raise InputError("the hub's keys of a participant are not a list", where=str(pid))
        registry[pid] = tuple(
            TrustedKey.from_dict(
                {
                    "kid": k.get("kid"),
                    "jwk": k.get("jwk"),
                    "notBefore": _HUB_KEYS_FROM,
                    "revokedAt": k.get("revoked"),
                    "revocationReason": "unspecified" if k.get("revoked") else None,
                },
                f"{pid}/keys/{i}",
            )
            for i, k in enumerate(keys)
            if isinstance(k, Mapping)
        )
    return TrustRegistry(registry)


def verify_fetched(client: HubClient, transfer: Mapping[str, Any]) -> Any:
    """Verify a fetched transfer's envelope against the sender's keys registered at the hub."""
    from sendx.exchange.trust.signing import verify_envelope

    env = transfer["envelope"]
    sender = env["sender"]
    return verify_envelope(env, registry_from_hub({sender: client.keys(sender)["keys"]}))

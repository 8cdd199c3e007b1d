"""Helpers for the hub tests: the cast of participants, documents and signed envelopes."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schemas
from exchange.keys import SigningKey
from exchange.signing import sign_envelope


@dataclass
class Actor:
    id: str
    role: str
    token: str
    key: SigningKey
    info: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


CAST: dict[str, dict[str, Any]] = {
    "admin": {"role": "admin", "name": "Hub admin"},
    "school-145832": {"role": "school", "name": "Kingsbridge Academy", "urn": "145832", "laestab": "3304001"},
    "school-145833": {"role": "school", "name": "Riverside Primary", "urn": "145833", "laestab": "3304002"},
    "ap-103614": {"role": "school", "name": "Northfield Pupil Referral Unit", "urn": "103614", "laestab": "3301100"},
    "school-140001": {"role": "school", "name": "Hilltop School", "urn": "140001", "laestab": "3314001"},
    "college-10001234": {"role": "college", "name": "Westgate College", "ukprn": "10001234", "la": "330"},
    "health-RXH": {"role": "health", "name": "Northfield NHS Trust", "ods": "RXH"},
    "la-330": {"role": "la", "name": "Northfield Council", "la": "330"},
    "la-331": {"role": "la", "name": "Southfield Council", "la": "331"},
}


def example(kind: str, name: str | None = None) -> dict[str, Any]:
    paths = schemas.examples(kind)
    path = next(p for p in paths if name is None or p.stem == name)
    return json.loads(Path(path).read_text(encoding="utf-8"))


def movement(name: str = "ap-placement-start", **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(example("movement", name))
    doc["eventId"] = f"MV-{uuid.uuid4().hex[:12]}"
    doc.update(changes)
    return doc


def envelope(
    sender: Actor,
    recipient: str,
    document: Any,
    kind: str,
    *,
    key: str | None = None,
    signing_key: SigningKey | None = None,
) -> dict[str, Any]:
    body = {
        "$schema": "https://schemas.sendx.org.uk/envelope/v1",
        "envelopeId": f"env-{uuid.uuid4().hex[:16]}",
        "kind": kind,
        "sender": sender.id,
        "recipient": recipient,
        "created": "2026-11-01T09:00:00Z",
        "idempotencyKey": key or f"idem-{uuid.uuid4().hex}",
        "document": document,
    }
    return sign_envelope(body, signing_key or sender.key)


def post_json(client, url: str, body: Any, actor: Actor | None = None, **kw: Any):
    headers = actor.headers if actor else {}
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers, **kw)

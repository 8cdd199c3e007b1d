"""The OpenAPI 3.1 document, assembled from the ``OPENAPI`` fragment each blueprint keeps
beside its routes (a test checks the two agree, rule for rule)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from sendx import schemas
from sendx.exchange.store.database import ROLES
from sendx.exchange.trust.keys import ORG_PATTERN

__all__ = ["build_openapi"]

_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "hint": {"type": "string"},
        "issues": {"type": "array", "items": {"type": "object"}},
    },
}


def build_openapi(modules: list[ModuleType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for mod in modules:
        for path, ops in getattr(mod, "OPENAPI", {}).items():
            paths.setdefault(path, {}).update(ops)
    try:
        ver = version("sendx")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        ver = "0+unknown"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sendx hub",
            "version": ver,
            "description": "Records exchange for England's SEND system: signed transfers, movements, "
            "the lost-pupil pool and a verifiable movement log.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Problem": {
                    "description": "error (RFC 9457)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            },
            "schemas": {
                "Problem": _PROBLEM_SCHEMA,
                "Envelope": _schema("envelope"),
                "Movement": _schema("movement"),
                "Participant": {
                    "type": "object",
                    "required": ["id", "role", "name"],
                    "properties": {
                        # JSON Schema patterns search: anchor the key store's fullmatch rule.
                        "id": {"type": "string", "pattern": f"^(?:{ORG_PATTERN.pattern.strip('^$')})$"},
                        "role": {"enum": list(ROLES)},
                        "name": {"type": "string", "pattern": "\\S", "maxLength": 200},
                        **{k: {"type": "string"} for k in ("la", "urn", "laestab", "ukprn", "ods")},
                    },
                },
                "JWK": {
                    "type": "object",
                    "required": ["kty", "crv", "x"],
                    "properties": {
                        "kty": {"const": "OKP"},
                        "crv": {"const": "Ed25519"},
                        # 32 bytes in unpadded base64url (RFC 8037).
                        "x": {"type": "string", "pattern": "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"},
                    },
                },
                "Redirect": {
                    "type": "object",
                    "required": ["recipient"],
                    "properties": {"recipient": {"type": "string", "pattern": "\\S"}},
                },
            },
        },
    }


def _schema(kind: str) -> dict[str, Any]:
    """A kind's JSON Schema inlined, its code lists expanded to ``enum``s.

    The schemas' ``$id``s are names, not addresses anyone can fetch: a ``$ref`` to one left
    every client (and schemathesis) unable to resolve the request body of two operations.
    """
    codelists = {uri: {"enum": resource["enum"]} for uri, resource in schemas.codelist_resources()}

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in codelists:
                return {**codelists[ref], **{k: inline(v) for k, v in node.items() if k != "$ref"}}
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    # The top-level $id/$schema would make the fragment a separate resource: keep it a plain schema.
    return {k: v for k, v in inline(schemas.load_schema(kind)).items() if k not in ("$id", "$schema")}

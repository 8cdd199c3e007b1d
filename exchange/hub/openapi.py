"""The OpenAPI 3.1 document, assembled from the ``OPENAPI`` fragment each blueprint keeps
beside its routes (a test checks the two agree, rule for rule)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

import schemas

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
                        k: {"type": "string"} for k in ("id", "role", "name", "la", "urn", "laestab", "ukprn", "ods")
                    },
                },
                "JWK": {
                    "type": "object",
                    "required": ["kty", "crv", "x"],
                    "properties": {"kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "x": {"type": "string"}},
                },
                "Redirect": {
                    "type": "object",
                    "required": ["recipient"],
                    "properties": {"recipient": {"type": "string"}},
                },
            },
        },
    }


def _schema(kind: str) -> dict[str, Any]:
    # Reference the published schema by its $id rather than inlining it (code lists are external).
    return {"$ref": schemas.schema_id(kind)}

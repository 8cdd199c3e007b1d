"""The standards as versioned data: JSON Schemas, the CTF XSD and code lists.

This package holds data files only, plus the few functions that find and load them.
Schema ids are stable URIs; a document names the schema it follows in ``$schema``.
Code lists live in ``codelists/`` as ``{"codes": [{"code", "label"}, ...]}`` and are
exposed to the JSON Schemas as ``enum`` resources under their ``$id``, so each list is
written once and used by schemas, rules and adapters alike.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "BASE_URI",
    "codelist",
    "codelist_codes",
    "codelist_resources",
    "examples",
    "load_schema",
    "schema_dir",
    "schema_id",
]

BASE_URI = "https://schemas.sendx.org.uk/"


def schema_dir(kind: str) -> Path:
    """The folder holding a kind's schema and its ``examples/``."""
    return Path(str(resources.files(__name__).joinpath(kind)))


@cache
def load_schema(kind: str) -> dict[str, Any]:
    with (schema_dir(kind) / "schema.json").open("rb") as fh:
        return json.load(fh)


def schema_id(kind: str) -> str:
    return load_schema(kind)["$id"]


@cache
def codelist(name: str) -> dict[str, Any]:
    """A code list as data: ``{"$id", "title", "source", "codes": [{"code", "label"}]}``."""
    with (schema_dir("codelists") / f"{name}.json").open("rb") as fh:
        return json.load(fh)


def codelist_codes(name: str) -> frozenset[str]:
    return frozenset(c["code"] for c in codelist(name)["codes"])


def codelist_names() -> list[str]:
    return sorted(p.stem for p in schema_dir("codelists").glob("*.json"))


def codelist_resources() -> list[tuple[str, dict[str, Any]]]:
    """Every code list as a JSON Schema ``enum`` resource, for a schema registry."""
    out = []
    for name in codelist_names():
        cl = codelist(name)
        out.append((cl["$id"], {"$id": cl["$id"], "title": cl["title"], "enum": [c["code"] for c in cl["codes"]]}))
    return out


def examples(kind: str) -> list[Path]:
    """The bundled valid example documents of a kind."""
    return sorted((schema_dir(kind) / "examples").glob("*"))

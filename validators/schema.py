"""JSON Schema checking for the JSON kinds, compiled once and run natively.

Schemas are compiled with jsonschema-rs (a compiled Draft 2020-12 validator) against a
registry holding every code list, so the hot path is one native ``is_valid`` call; the
slower error walk runs only for documents that fail.  Errors become ``Issue``s with a
JSON Pointer and a message a person can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema_rs

from sendx import schemas
from sendx.validators.report import Issue
from sendx.validators.rules import Rule

__all__ = ["compiled", "json_pointer", "schema_issues"]


@cache
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry(schemas.codelist_resources())


@cache
def compiled(kind: str) -> Any:
    """The compiled validator for a kind's schema (formats such as ``date`` enforced)."""
    return jsonschema_rs.validator_for(schemas.load_schema(kind), registry=_registry(), validate_formats=True)


def json_pointer(parts: Any) -> str:
    """RFC 6901 pointer for a path of keys and indices ('' is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def schema_issues(kind: str, doc: Any, rule: Rule) -> Iterator[Issue]:
    """Structural issues for ``doc`` under ``kind``'s schema, reported under ``rule``."""
    validator = compiled(kind)
    # Objects built in Python (not by parsing.load_json) can hold what JSON cannot carry:
    # jsonschema-rs refuses lone surrogates and very deep nesting by raising.
    try:
        if validator.is_valid(doc):
            return
        errors = list(validator.iter_errors(doc))
    except UnicodeEncodeError:
        yield rule.issue("", "the document holds a string that is not valid Unicode (a lone surrogate)")
        return
    except ValueError as exc:
        yield rule.issue("", f"the document cannot be checked: {exc}", "JSON documents nest at most 128 levels deep")
        return
    for err in errors:
        yield rule.issue(json_pointer(err.instance_path), _plain(err), _hint(err))


def _plain(err: Any) -> str:
    where = json_pointer(err.instance_path) or "the document"
    if type(err.kind).__name__ == "Required":
        return f"{where} is missing the required field {err.message.split(' is a required')[0]}"
    return f"{where}: {err.message}"


def _hint(err: Any) -> str | None:
    kind = type(err.kind).__name__
    if kind == "Format" and "date" in err.message:
        return "write dates as YYYY-MM-DD (e.g. 2026-09-01)"
    if kind == "Enum":
        return "use one of the codes listed by `sendx rules` / schemas/codelists"
    if kind == "Pattern":
        return "check the value's format against the schema's pattern"
    return None

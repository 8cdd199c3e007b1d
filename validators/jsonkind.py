"""Shared machinery for the JSON kinds: schema-backed registration and identifier checks.

A JSON kind is recognised by its ``$schema`` id, checked against its JSON Schema, then —
only once the structure is sound, so rules can trust it — by its identifier checks and
its registered rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import Any

import schemas
from validators import identifiers as ids
from validators.kinds import Kind, register_kind
from validators.report import Issue
from validators.rules import Context, declare, run_rules
from validators.schema import schema_issues

__all__ = ["IDENTIFIER_RULES", "identifier_issues", "pointer_values", "register_json_kind"]

_SRC_UPN = "DfE Unique Pupil Numbers guidance (check letter)"
#: Identifier rules shared by every kind: id → (checker, what it is, source).
IDENTIFIER_RULES: dict[str, tuple[Callable[[object], bool], str, str]] = {
    "ID-UPN": (ids.is_valid_upn, "UPN", _SRC_UPN),
    "ID-ULN": (ids.is_valid_uln, "ULN", "Learning Records Service ULN check digit"),
    "ID-NHS-NUMBER": (ids.is_valid_nhs_number, "NHS number", "NHS Data Dictionary (modulus 11)"),
    "ID-URN": (ids.is_valid_urn, "URN", "DfE Get Information about Schools"),
    "ID-LAESTAB": (ids.is_valid_laestab, "LAESTAB", "DfE LA and establishment numbers"),
    "ID-LA-CODE": (ids.is_valid_la_code, "LA code", "DfE LA numbers"),
    "ID-UKPRN": (ids.is_valid_ukprn, "UKPRN", "UK Register of Learning Providers"),
    "ID-ODS": (ids.is_valid_ods_code, "ODS code", "NHS Organisation Data Service"),
    "ID-POSTCODE": (ids.is_valid_postcode, "postcode", "Royal Mail postcode format"),
}
_ID_RULES = {
    rid: declare(
        rid, severity="error", kind="any", source=src, summary=f"Every {what} is well formed and passes its check"
    )
    for rid, (_, what, src) in IDENTIFIER_RULES.items()
}


def _is_object(node: Any) -> bool:
    # Checking ``dict`` first skips the abc machinery for parsed JSON, which is plain dicts.
    return isinstance(node, (dict, Mapping))


def _lookup(doc: Any, pattern: str) -> Iterable[tuple[str, Any]]:
    # Fast path for the common case of a plain pointer: no list building.
    if "*" not in pattern:
        node = doc
        for part in _split(pattern):
            if not _is_object(node) or part not in node:
                return ()
            node = node[part]
        return ((pattern, node),)
    return pointer_values(doc, pattern)


@cache
def _split(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.strip("/").split("/"))


def pointer_values(doc: Any, pattern: str) -> Iterator[tuple[str, Any]]:
    """Every (pointer, value) matching a pointer pattern where ``*`` matches any array index."""
    nodes: list[tuple[str, Any]] = [("", doc)]
    for part in _split(pattern):
        nxt: list[tuple[str, Any]] = []
        for ptr, node in nodes:
            if part == "*" and isinstance(node, list):
                nxt.extend((f"{ptr}/{i}", v) for i, v in enumerate(node))
            elif _is_object(node) and part in node:
                nxt.append((f"{ptr}/{part}", node[part]))
        nodes = nxt
    return iter(nodes)


def identifier_issues(doc: Any, fields: Mapping[str, str]) -> Iterator[Issue]:
    """Check each identifier field (pointer pattern → identifier rule id) that is present."""
    for pattern, rid in fields.items():
        check, what, _ = IDENTIFIER_RULES[rid]
        for ptr, value in _lookup(doc, pattern):
            if value is not None and not check(value):
                yield _ID_RULES[rid].issue(ptr, f"{value!r} is not a valid {what}", _ID_HINTS.get(rid))


_ID_HINTS = {
    "ID-UPN": "a UPN is 13 characters: a check letter, LA (3), establishment (4), year (2), serial (3)",
    "ID-ULN": "a ULN is 10 digits whose last digit is a check digit; copy it from the LRS",
    "ID-NHS-NUMBER": "an NHS number is 10 digits whose last digit is a modulus 11 check digit",
    "ID-URN": "a URN is 6 digits, as shown on Get Information about Schools",
    "ID-UKPRN": "a UKPRN is 8 digits starting with 1",
    "ID-LAESTAB": "a LAESTAB is the 3-digit LA number followed by the 4-digit establishment number",
}


def register_json_kind(name: str, *, description: str, identifiers: Mapping[str, str]) -> Kind:
    """Register a JSON kind backed by ``schemas/<name>/schema.json`` and its rules."""
    sid = schemas.schema_id(name)
    family = f"{schemas.BASE_URI}{name}/"
    schema_rule = declare(
        f"{name.upper()}-SCHEMA",
        severity="error",
        kind=name,
        source=f"sendx {name} schema ({sid})",
        summary=f"The document must match the {name} JSON Schema",
    )

    def validate(doc: Any, ctx: Context) -> Iterator[Issue]:
        structural = list(schema_issues(name, doc, schema_rule))
        yield from structural
        if structural:
            return
        yield from identifier_issues(doc, identifiers)
        yield from run_rules(name, doc, ctx)

    return register_kind(
        Kind(
            name=name,
            syntax="json",
            # Any version of the family is recognised; the schema's const on ``$schema``
            # then reports an unsupported version clearly instead of "unknown kind".
            detect=lambda doc: str(doc.get("$schema", "")).startswith(family),
            validate=validate,
            description=description,
        )
    )

"""Shared machinery for the JSON kinds: schema-backed registration and identifier checks.

A JSON kind is recognised by its ``$schema`` id, checked against its JSON Schema, then —
only once the structure is sound, so rules can trust it — by its identifier checks and
its registered rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sendx import schemas
from sendx.validators import identifiers as ids
from sendx.validators.kinds import Kind, register_kind
from sendx.validators.report import Issue
from sendx.validators.rules import Context, Rule, declare, run_rules
from sendx.validators.schema import schema_issues

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


@dataclass(frozen=True, slots=True)
class _IdentifierField:
    """One identifier field, ready to check: its key in the holding object and its rule."""

    key: str
    check: Callable[[object], bool]
    what: str
    rule: Rule
    hint: str | None


#: Identifier fields grouped by the pointer pattern of the object holding them.
_Plan = tuple[tuple[str, tuple[_IdentifierField, ...]], ...]


def _plan(fields: Mapping[str, str]) -> _Plan:
    # Fields that share a holder (a kind's /child/upn, /child/uln, ...) then cost one walk
    # down the document, not one each.
    groups: dict[str, list[_IdentifierField]] = {}
    for pattern, rid in fields.items():
        holder, _, key = pattern.rpartition("/")
        check, what, _ = IDENTIFIER_RULES[rid]
        groups.setdefault(holder, []).append(_IdentifierField(key, check, what, _ID_RULES[rid], _ID_HINTS.get(rid)))
    return tuple((holder, tuple(group)) for holder, group in groups.items())


def _at(doc: Any, pointer: str) -> Any:
    """The value at a plain pointer, or ``None`` when the path is not there."""
    node = doc
    for part in _split(pointer) if pointer else ():
        if not _is_object(node) or part not in node:
            return None
        node = node[part]
    return node


def _holders(doc: Any, pattern: str) -> Iterable[tuple[Any, str, int | None]]:
    """(object, pointer, array index or ``None``) for each object ``pattern`` names.

    The common shapes (a plain pointer, or every item of one array) are walked directly and
    an item's pointer is only spelled out when it has something to report.
    """
    head, star, tail = pattern.partition("/*")
    if not star:
        return ((_at(doc, pattern), pattern, None),)
    if not tail:
        items = _at(doc, head)
        return [(item, head, i) for i, item in enumerate(items)] if isinstance(items, list) else ()
    return ((node, ptr, None) for ptr, node in pointer_values(doc, pattern))


def _check_identifiers(doc: Any, plan: _Plan) -> Iterator[Issue]:
    for pattern, group in plan:
        for holder, ptr, index in _holders(doc, pattern):
            if not _is_object(holder):
                continue
            for field in group:
                value = holder.get(field.key)
                if value is not None and not field.check(value):
                    where = f"{ptr}/{field.key}" if index is None else f"{ptr}/{index}/{field.key}"
                    yield field.rule.issue(where, f"{value!r} is not a valid {field.what}", field.hint)


def identifier_issues(doc: Any, fields: Mapping[str, str]) -> Iterator[Issue]:
    """Check each identifier field (pointer pattern → identifier rule id) that is present."""
    return _check_identifiers(doc, _plan(fields))


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
    family = sid.rpartition("/")[0] + "/"  # ".../ehcp/v1" → ".../ehcp/": every version of it
    schema_rule = declare(
        f"{name.upper()}-SCHEMA",
        severity="error",
        kind=name,
        source=f"sendx {name} schema ({sid})",
        summary=f"The document must match the {name} JSON Schema",
    )

    id_plan = _plan(identifiers)

    def validate(doc: Any, ctx: Context) -> Iterator[Issue]:
        structural = list(schema_issues(name, doc, schema_rule))
        yield from structural
        if structural:
            return
        yield from _check_identifiers(doc, id_plan)
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

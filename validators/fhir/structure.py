"""The FHIR R4 structure check: one pass over a resource's JSON against the R4 definitions.

Flow position: parse → **validate**.  Walks the parsed JSON once, looking each property up
in the R4 definitions (``definitions``): unknown properties, cardinality, choice elements,
the JSON type and format of every primitive (ids, dates, codes, base64…), empty arrays,
objects and strings and ``null`` (ele-1), ``_x`` primitive extensions, nested resources
(``contained``, ``Bundle.entry.resource``…).  On the way it runs the checks that belong to
one data type or resource (invariants, narrative XHTML, UK Core identifiers), so nothing is
walked twice.  It reads R4 itself, R4-only types included, and never raises on bad input.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sendx.validators.fhir import invariants, ukcore, xhtml
from sendx.validators.fhir.definitions import Child, Node, Primitive, node, resource_node
from sendx.validators.fhir.invariants import LocalRefs
from sendx.validators.report import Issue
from sendx.validators.rules import declare

__all__ = ["MAX_STRING", "structure_issues"]

_SRC = "FHIR R4 (4.0.1) StructureDefinitions (schemas/fhir/r4-structure.json) and JSON representation"
STRUCTURE = declare(
    "FHIR-STRUCTURE",
    severity="error",
    kind="fhir",
    source=_SRC,
    summary="Every resource matches its FHIR R4 definition (elements, cardinality, choice types, JSON types)",
)
VALUE = declare(
    "FHIR-VALUE",
    severity="error",
    kind="fhir",
    source="FHIR R4 data types: each primitive's regex and limits (ids of 1-64 characters, strings up to 1 MB)",
    summary="Every primitive value has its type's format (id, date, dateTime, code, uri, base64Binary, integer…)",
)
EMPTY = declare(
    "FHIR-EMPTY",
    severity="error",
    kind="fhir",
    source="FHIR R4 JSON representation (no empty arrays, no nulls) and invariant ele-1",
    summary="No empty arrays, empty objects, empty strings or nulls (ele-1: every element has a value or children)",
)

#: FHIR strings "SHALL NOT exceed 1MB in size".
MAX_STRING = 1024 * 1024
_INT32 = (-(2**31), 2**31 - 1)
_JSON_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    dict: "an object",
    list: "an array",
}
_WANT = {"string": "a JSON string", "boolean": "true or false", "integer": "a JSON integer", "number": "a JSON number"}

#: Checks run on every instance of a data type / resource type (invariants, UK Core).
_TYPE_CHECKS = {**invariants.DATATYPE_CHECKS, **ukcore.DATATYPE_CHECKS}
_RESOURCE_CHECKS = {**invariants.RESOURCE_CHECKS, **ukcore.RESOURCE_CHECKS}


def _json_name(value: Any) -> str:
    return "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)


def _real_date(value: str, where: str, prim: Primitive, out: list[Issue], refs: LocalRefs) -> None:
    if len(value) >= 10:
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            out.append(VALUE.issue(where, f"{value!r} is not a valid {prim.name}: no such day"))


def _base64(value: str, where: str, prim: Primitive, out: list[Issue], refs: LocalRefs) -> None:
    # R4 lets base64Binary carry whitespace (its regex allows \s between quads).
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        out.append(VALUE.issue(where, f"the value {_clip(value)!r} is not valid base64", "encode the data as base64"))


def _uri(value: str, where: str, prim: Primitive, out: list[Issue], refs: LocalRefs) -> None:
    if value[0] == "#":  # a local reference to a contained resource (dom-3 counts it)
        refs.note(value[1:])


def _narrative(value: str, where: str, prim: Primitive, out: list[Issue], refs: LocalRefs) -> None:
    xhtml.check_div(value, where, out)


_StringCheck = Callable[[str, str, Primitive, list[Issue], LocalRefs], None]
#: Checks beyond a primitive's regex, by FHIR type.
_STRING_CHECKS: dict[str, _StringCheck] = {
    "date": _real_date,
    "dateTime": _real_date,
    "instant": _real_date,
    "base64Binary": _base64,
    "uri": _uri,
    "url": _uri,
    "canonical": _uri,
    "xhtml": _narrative,
}
#: Types whose check replaces the regex (a regex over megabytes of base64 is slow to fail).
_NO_REGEX = {"base64Binary"}


def _clip(value: str, n: int = 40) -> str:
    return value if len(value) <= n else value[:n] + "…"


class _Walk:
    """The state of one walk: the issues found and the local references of the current resource."""

    __slots__ = ("out", "refs")

    def __init__(self) -> None:
        self.out: list[Issue] = []
        self.refs = LocalRefs()

    # -- resources ---------------------------------------------------------------------

    def resource(self, obj: Mapping[str, Any], path: str, contained: bool = False) -> None:
        rtype = obj.get("resourceType")
        if type(rtype) is not str:
            self.out.append(
                STRUCTURE.issue(path, "the resource has no resourceType", 'add "resourceType", e.g. "Patient"')
            )
            return
        nd = resource_node(rtype)
        if nd is None:
            self.out.append(
                STRUCTURE.issue(
                    f"{path}.resourceType", f"{rtype!r} is not a FHIR R4 resource type", "use a type R4 defines"
                )
            )
            return
        if contained:
            invariants.contained_resource(obj, path, self.refs, self.out)
            self.object(obj, nd, path, True)
            self.refs.current = None
        else:
            outer, self.refs = self.refs, LocalRefs.of(obj, path)
            self.object(obj, nd, path, True)
            invariants.local_references(self.refs, self.out)
            self.refs = outer
        check = _RESOURCE_CHECKS.get(rtype)
        if check is not None:
            check(obj, path, self.refs, self.out)

    # -- complex elements --------------------------------------------------------------

    def object(self, obj: Mapping[str, Any], nd: Node, path: str, is_resource: bool = False) -> None:
        children = nd.children
        out = self.out
        for key, value in obj.items():
            child = children.get(key)
            if child is None:
                if is_resource and key == "_id":
                    out.append(STRUCTURE.issue(f"{path}.id", "extensions are not allowed on Resource.id"))
                elif type(key) is str and key[:1] == "_" and (base := children.get(key[1:])) and base.primitive:
                    self.extensions(value, base, obj.get(key[1:]), f"{path}.{key}")
                elif not (is_resource and key == "resourceType"):
                    out.append(STRUCTURE.issue(f"{path}.{key}", f"unrecognised property {key!r} (not in {_where(nd)})"))
                continue
            where = f"{path}.{key}"
            if child.many:
                if type(value) is not list:
                    self.wrong_shape(value, child, where, "an array")
                    continue
                if not value:
                    out.append(
                        EMPTY.issue(where, "an array cannot be empty: leave the property out if it has no values")
                    )
                    continue
                if child.max is not None and len(value) > child.max:
                    out.append(STRUCTURE.issue(where, f"{len(value)} values, more than the {child.max} allowed"))
                nulls_ok = obj.get("_" + key) if child.primitive is not None else None
                for i, item in enumerate(value):
                    if item is None and type(nulls_ok) is list and i < len(nulls_ok) and nulls_ok[i] is not None:
                        continue  # the value is only in the _key array: allowed
                    self.value(item, child, f"{where}[{i}]")
            elif type(value) is list:
                self.wrong_shape(value, child, where, "a single value")
            else:
                self.value(value, child, where)
        for name, names in nd.required:
            if not any(n in obj for n in names):
                out.append(
                    STRUCTURE.issue(f"{path}.{name}", f"{name} is required (minimum cardinality 1) in {_where(nd)}")
                )
        for name, names in nd.choices:
            present = [n for n in names if n in obj]
            if len(present) > 1:
                out.append(STRUCTURE.issue(f"{path}.{present[1]}", f"{name} may have one type only; found {present}"))
        if not nd.path:
            check = _TYPE_CHECKS.get(nd.type)
            if check is not None:
                check(obj, path, self.refs, self.out)

    def value(self, value: Any, child: Child, where: str) -> None:
        if value is None:
            self.out.append(EMPTY.issue(where, "null is not a value: leave the property out"))
        elif child.primitive is not None:
            self.primitive(value, child.primitive, where)
        elif type(value) is not dict:
            msg = f"expected a JSON object (FHIR {child.type or child.element}), found {_json_name(value)}"
            self.out.append(STRUCTURE.issue(where, msg))
        elif not value:
            self.out.append(EMPTY.issue(where, "an empty object: an element must have a value or children (ele-1)"))
        elif child.resource:
            self.resource(value, where, contained=child.element == "contained")
        else:
            self.object(value, child.node, where)

    def wrong_shape(self, value: Any, child: Child, where: str, want: str) -> None:
        if value is None:
            self.out.append(EMPTY.issue(where, "null is not a value: leave the property out"))
        else:
            self.out.append(STRUCTURE.issue(where, f"{child.element} must be {want}, found {_json_name(value)}"))

    # -- primitives ----------------------------------------------------------------------

    def primitive(self, value: Any, prim: Primitive, where: str) -> None:
        kind = prim.json
        t = type(value)
        if kind == "string":
            if t is not str:
                self.wrong_type(value, prim, where)
            elif not value:
                self.out.append(EMPTY.issue(where, f"an empty {prim.name}: a value cannot be empty"))
            elif len(value) > MAX_STRING and prim.name != "xhtml":  # the limit is on strings, not narrative
                self.out.append(VALUE.issue(where, f"the {prim.name} is {len(value):,} characters, more than 1 MB"))
            else:
                rx = prim.regex
                if rx is not None and prim.name not in _NO_REGEX and rx.fullmatch(value) is None:
                    self.out.append(VALUE.issue(where, _format_message(value, prim)))
                    return
                extra = _STRING_CHECKS.get(prim.name)
                if extra is not None:
                    extra(value, where, prim, self.out, self.refs)
        elif kind == "boolean":
            if t is not bool:
                self.wrong_type(value, prim, where)
        elif kind == "integer":
            if t is not int:
                self.wrong_type(value, prim, where)
            elif not _INT32[0] <= value <= _INT32[1] or (
                prim.regex is not None and not prim.regex.fullmatch(str(value))
            ):
                self.out.append(VALUE.issue(where, f"{value} is not a valid {prim.name}"))
        elif t not in (int, float):
            self.wrong_type(value, prim, where)

    def wrong_type(self, value: Any, prim: Primitive, where: str) -> None:
        msg = f"a FHIR {prim.name} is {_WANT[prim.json]}, not {_json_name(value)}"
        self.out.append(STRUCTURE.issue(where, msg))

    def extensions(self, value: Any, base: Child, values: Any, where: str) -> None:
        """``_x``: the id and extensions of primitive ``x`` (an array beside an array)."""
        element = node("Element")
        if not base.many:
            if type(value) is not dict:
                self.out.append(STRUCTURE.issue(where, f"expected a JSON object, found {_json_name(value)}"))
            elif not value:
                self.out.append(EMPTY.issue(where, "an empty object: an element must have a value or children (ele-1)"))
            else:
                self.object(value, element, where)
            return
        if type(value) is not list:
            self.out.append(STRUCTURE.issue(where, f"expected an array, found {_json_name(value)}"))
            return
        if type(values) is list and len(values) != len(value):
            self.out.append(STRUCTURE.issue(where, f"{len(value)} items, but {base.element} has {len(values)}"))
        for i, item in enumerate(value):
            if item is None:
                has_value = type(values) is list and i < len(values) and values[i] is not None
                if not has_value:
                    self.out.append(EMPTY.issue(f"{where}[{i}]", "null here and in the value array: nothing is left"))
            elif type(item) is not dict or not item:
                self.out.append(STRUCTURE.issue(f"{where}[{i}]", f"expected a JSON object, found {_json_name(item)}"))
            else:
                self.object(item, element, f"{where}[{i}]")


def _where(nd: Node) -> str:
    return f"{nd.type}.{nd.path}" if nd.path else nd.type


def _format_message(value: str, prim: Primitive) -> str:
    if prim.name == "id":
        if len(value) > 64:
            return f"invalid id: too long ({len(value)} characters; at most 64)"
        return f"invalid id {_clip(value)!r}: only A-Z, a-z, 0-9, '-' and '.' are allowed"
    if prim.name in ("dateTime", "instant") and "T" in value:
        return f"{value!r} is not a valid {prim.name}: a time needs seconds and a timezone (Z or ±hh:mm)"
    return f"{_clip(value)!r} is not a valid {prim.name}"


def structure_issues(resource: Any, path: str | None = None) -> list[Issue]:
    """Every structural issue of one resource (and the resources inside it), in document order."""
    walk = _Walk()
    if not isinstance(resource, Mapping):
        walk.out.append(STRUCTURE.issue(path or "", f"a FHIR resource is a JSON object, not {_json_name(resource)}"))
        return walk.out
    rtype = resource.get("resourceType")
    walk.resource(resource, path or (rtype if type(rtype) is str else "Resource"))
    return walk.out

"""The FHIR R4 definitions as look-up tables: which JSON properties an element may carry.

Flow position: data for **validate**.  ``schemas/fhir/r4-structure.json`` (generated from
the R4 StructureDefinitions) lists every element's cardinality and types; this module turns
one type's (or one backbone element's) list into a ``Node`` — JSON property name → ``Child``,
choice elements (``value[x]``) expanded into their ``valueString``, ``valueQuantity``… —
built on first use and cached, so a walk over a resource is dictionary look-ups only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["Child", "Node", "Primitive", "node", "primitive", "resource_node"]


@dataclass(frozen=True, slots=True)
class Primitive:
    """A FHIR primitive type: the JSON value that carries it and the regex its text matches."""

    name: str
    json: str  # "string", "boolean", "integer" or "number"
    regex: re.Pattern[str] | None


@dataclass(slots=True)
class Child:
    """One JSON property an element may have.  ``node`` (complex children) is resolved lazily."""

    element: str  # the element's name in the definition: "value[x]" for every valueX
    many: bool
    max: int | None  # None: unbounded
    type: str
    primitive: Primitive | None = None
    resource: bool = False
    target: tuple[str, str] | None = None  # (type, path inside it) of a complex child's node

    @property
    def node(self) -> Node:
        assert self.target is not None
        return node(*self.target)


@dataclass(slots=True)
class Node:
    """The children of one complex element: a data type's root, or a backbone element."""

    type: str
    path: str
    children: dict[str, Child]
    #: (element, the JSON names any of which satisfies it) for each element with min ≥ 1.
    required: tuple[tuple[str, tuple[str, ...]], ...]
    #: (element, its JSON names) for each choice element, of which at most one may appear.
    choices: tuple[tuple[str, tuple[str, ...]], ...]


@cache
def _table() -> dict[str, Any]:
    from sendx import schemas

    with (schemas.schema_dir("fhir") / "r4-structure.json").open("rb") as fh:
        return json.load(fh)  # type: ignore[no-any-return]


@cache
def primitive(name: str) -> Primitive | None:
    spec = _table()["primitives"].get(name)
    if spec is None:
        return None
    # ASCII classes: FHIR's regexes are Java's, where \s is ASCII whitespace only.
    regex = re.compile(spec["regex"], re.ASCII) if spec["regex"] else None
    return Primitive(name, spec["json"], regex)


@cache
def _by_parent(type_name: str) -> dict[str, list[tuple[str, list[Any]]]]:
    """A type's elements grouped by the path of the element holding them."""
    groups: dict[str, list[tuple[str, list[Any]]]] = {}
    for rel, spec in _table()["types"][type_name]["elements"].items():
        parent, _, name = rel.rpartition(".")
        groups.setdefault(parent, []).append((name, spec))
    return groups


def _child(owner: str, rel: str, name: str, max_: str, code: str) -> Child:
    many = max_ != "1"
    limit = None if max_ == "*" else int(max_)
    prim = primitive(code)
    if prim is not None:
        return Child(name, many, limit, code, primitive=prim)
    if code == "Resource":
        return Child(name, many, limit, code, resource=True)
    if code in ("BackboneElement", "Element") and rel:
        return Child(name, many, limit, code, target=(owner, rel))
    return Child(name, many, limit, code, target=(code, ""))


@cache
def node(type_name: str, path: str = "") -> Node:
    """The node of a data type or resource (``path`` empty) or of an element inside it."""
    children: dict[str, Child] = {}
    required: list[tuple[str, tuple[str, ...]]] = []
    choices: list[tuple[str, tuple[str, ...]]] = []
    for name, (min_, max_, types) in _by_parent(type_name).get(path, []):
        rel = f"{path}.{name}" if path else name
        if isinstance(types, str):  # contentReference "@item": the same children as that element
            names = (name,)
            children[name] = Child(
                name, max_ != "1", None if max_ == "*" else int(max_), "", target=(type_name, types[1:])
            )
        elif name.endswith("[x]"):
            stem = name[:-3]
            names = tuple(stem + t[0].upper() + t[1:] for t in types)
            for json_name, code in zip(names, types, strict=True):
                children[json_name] = _child(type_name, rel, name, max_, code)
            choices.append((name, names))
        else:
            names = (name,)
            children[name] = _child(type_name, rel, name, max_, types[0])
        if min_ > 0:
            required.append((name, names + tuple("_" + n for n in names if children[n].primitive)))
    if not path and _table()["types"][type_name]["kind"] == "resource" and "id" in children:
        # The R4 snapshots type Resource.id as a plain string; the spec makes it an id.
        children["id"] = Child("id", False, 1, "id", primitive=primitive("id"))
    return Node(type_name, path, children, tuple(required), tuple(choices))


@cache
def resource_node(resource_type: str) -> Node | None:
    """The node of a concrete R4 resource type, or ``None`` when R4 has no such resource."""
    spec = _table()["types"].get(resource_type)
    if spec is None or spec["kind"] != "resource" or spec["abstract"]:
        return None
    return node(resource_type)

"""The document-kind registry: recognise what a document is and dispatch to its validator.

Each kind (``ehcp``, ``passport``, ``movement``, ``envelope``, ``ctf``,
``health-advice``, ``fhir``, ``pupil-json``) registers a ``Kind`` saying which syntax it uses,
how to recognise a parsed document of that kind, and how to validate it.  ``validators.validate`` asks this
registry; nothing else needs to know the list of kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sendx.validators.context import Context
from sendx.validators.report import Issue

__all__ = ["Kind", "all_kinds", "detect_json", "detect_xml", "get_kind", "load_all", "register_kind"]


@dataclass(frozen=True, slots=True)
class Kind:
    """How to recognise and validate one kind of document.

    ``syntax`` is ``"json"`` or ``"xml"``.  JSON kinds receive the parsed object; XML kinds
    receive the raw bytes or a path (so that they can stream) and parse them themselves.
    ``detect`` answers for a parsed JSON object, or for an XML root tag name.
    """

    name: str
    syntax: str
    detect: Callable[[Any], bool]
    validate: Callable[[Any, Context], Iterable[Issue]]
    description: str = ""


_KINDS: dict[str, Kind] = {}

# Modules that register kinds.  Importing them is what fills the registry.
_KIND_MODULES = (
    "sendx.validators.ehcp",
    "sendx.validators.passport",
    "sendx.validators.movement",
    "sendx.validators.envelope",
    "sendx.validators.fhir",
    "sendx.validators.ctf",
    "sendx.validators.pupiljson",
)


def register_kind(kind: Kind) -> Kind:
    _KINDS[kind.name] = kind
    return kind


_loaded = False


def load_all() -> None:
    # Called on every lookup; after the first full import it is a flag test, not five imports.
    global _loaded
    if _loaded:
        return
    for mod in _KIND_MODULES:
        importlib.import_module(mod)
    _loaded = True


def get_kind(name: str) -> Kind | None:
    load_all()
    return _KINDS.get(name)


def all_kinds() -> list[Kind]:
    load_all()
    return list(_KINDS.values())


def detect_json(doc: Any) -> Kind | None:
    """The kind of a parsed JSON document, from its ``$schema`` or ``resourceType``."""
    if not isinstance(doc, Mapping):
        return None
    load_all()
    for kind in _KINDS.values():
        if kind.syntax == "json" and kind.detect(doc):
            return kind
    return None


def detect_xml(root_tag: str) -> Kind | None:
    """The kind of an XML document, from its root element's name."""
    for kind in all_kinds():
        if kind.syntax == "xml" and kind.detect(root_tag):
            return kind
    return None

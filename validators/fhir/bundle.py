"""Bundles: the entry index, reference resolution as R4 defines it, and the base Bundle rules.

Flow position: **validate**.  ``BundleIndex`` is built once per Bundle (fullUrl → entries,
with each entry's ``meta.versionId``) so every rule resolves references with dict look-ups:
a 10,000-entry Bundle stays linear and a reference cycle cannot loop.  Resolution follows R4
("Resolving references in Bundles"): an absolute reference matches a fullUrl; a relative
one (``Type/id``) only against the service base of a RESTful fullUrl of the referring entry;
a version-specific one (``…/_history/2``) also needs that ``meta.versionId``.  The rules
here are base FHIR (kind ``fhir``): bdl-1…12 and the HL7 validator's fullUrl and reference
checks; sendx's own health-advice rules build on the same index (``advice``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sendx.validators.rules import Context, Finding, rule

__all__ = ["BundleIndex", "dicts", "entry_path", "iter_references", "rtype"]

KIND = "fhir"
_SRC = "FHIR R4 Bundle"

_HISTORY = re.compile(r"^(?P<url>.+)/_history/(?P<version>[^/]+)$")
#: [base/]Type/id, the shape of a RESTful URL (R4 "Literal references").
_RESTFUL = re.compile(r"^(?P<base>.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a FHIR list element (tolerating a lone object or junk)."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def rtype(resource: Mapping[str, Any]) -> str | None:
    """The resourceType when it is a string (FHIR-STRUCTURE reports anything else); safe in set look-ups."""
    value = resource.get("resourceType")
    return value if isinstance(value, str) else None


def entry_path(i: int) -> str:
    return f"Bundle.entry[{i}].resource"


def _version(resource: Mapping[str, Any]) -> str | None:
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, Mapping) else None
    return version if isinstance(version, str) else None


@dataclass
class BundleIndex:
    """Entries of a Bundle and how references find them (built once; look-ups are O(1))."""

    bundle: Mapping[str, Any]
    entries: list[tuple[int, str | None, Mapping[str, Any]]] = field(default_factory=list)
    by_url: dict[str, list[int]] = field(default_factory=dict)
    #: Type/id → entries, only to explain why a relative reference did not resolve.
    by_type_id: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, bundle: Mapping[str, Any]) -> BundleIndex:
        idx = cls(bundle)
        for i, entry in enumerate(_as_list(bundle.get("entry"))):
            if not isinstance(entry, Mapping):
                continue
            res = entry.get("resource")
            if not isinstance(res, Mapping):
                continue
            url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            idx.entries.append((i, url, res))
            if url is not None:
                idx.by_url.setdefault(url, []).append(i)
            rid = res.get("id")
            if rtype(res) and isinstance(rid, str):
                idx.by_type_id.setdefault(f"{res['resourceType']}/{rid}", []).append(i)
        return idx

    @property
    def type(self) -> str | None:
        """Bundle.type when it is a string (FHIR-STRUCTURE reports anything else)."""
        value = self.bundle.get("type")
        return value if isinstance(value, str) else None

    def resource(self, i: int) -> Mapping[str, Any]:
        return self.bundle["entry"][i]["resource"]  # type: ignore[no-any-return]

    def matches(self, ref: str, from_url: str | None = None) -> list[int]:
        """Every entry a reference string can mean (R4 "Resolving references in Bundles")."""
        version = None
        if (h := _HISTORY.match(ref)) is not None:
            ref, version = h["url"], h["version"]
        if _ABSOLUTE.match(ref):
            hits = self.by_url.get(ref, [])
        else:
            m = _RESTFUL.match(ref)
            fm = _RESTFUL.match(from_url) if from_url else None
            if m is None or m["base"] is not None or fm is None or not fm["base"]:
                return []
            hits = self.by_url.get(fm["base"] + ref, [])
        if version is not None:
            hits = [i for i in hits if _version(self.resource(i)) == version]
        return hits

    def resolve(self, ref: str, from_url: str | None = None) -> int | None:
        """The entry a reference points to (the first, if it is ambiguous), or ``None``."""
        hits = self.matches(ref, from_url)
        return hits[0] if hits else None

    def target(self, ref: Any, from_url: str | None = None) -> tuple[int, Mapping[str, Any]] | None:
        """The (entry index, resource) a Reference object points to, if it resolves."""
        if not isinstance(ref, Mapping) or not isinstance(ref.get("reference"), str):
            return None
        i = self.resolve(ref["reference"], from_url)
        return None if i is None else (i, self.resource(i))

    def composition(self) -> tuple[int, str | None, Mapping[str, Any]] | None:
        if self.entries and self.entries[0][0] == 0 and self.entries[0][2].get("resourceType") == "Composition":
            return self.entries[0]
        return None

    def of_type(self, resource_type: str) -> Iterator[tuple[int, str | None, Mapping[str, Any]]]:
        return (e for e in self.entries if e[2].get("resourceType") == resource_type)

    def subject(self) -> tuple[int, Mapping[str, Any]] | None:
        """The Patient the Composition is about, when it resolves."""
        comp = self.composition()
        if comp is None:
            return None
        hit = self.target(comp[2].get("subject"), comp[1])
        return hit if hit and hit[1].get("resourceType") == "Patient" else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def iter_references(resource: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """Every (FHIRPath, reference string) inside a resource, contained resources excepted.

    Iterative (an explicit stack), so deep nesting cannot exhaust Python's recursion.
    """
    stack: list[tuple[Any, str]] = [(resource, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("reference")
            if isinstance(ref, str):
                yield f"{where}.reference", ref
            for key, value in node.items():
                if key == "contained" or not isinstance(value, (Mapping, list)):
                    continue
                if isinstance(value, list):
                    stack.extend((v, f"{where}.{key}[{n}]") for n, v in enumerate(value))
                else:
                    stack.append((value, f"{where}.{key}"))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{n}]") for n, v in enumerate(node))


# ---------------------------------------------------------------------------------------
# Base rules.  Each reads the raw dicts defensively, so they run even on a broken structure.


def _entries(idx: BundleIndex) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, entry in enumerate(_as_list(idx.bundle.get("entry"))):
        if isinstance(entry, Mapping):
            yield i, entry


@rule(
    "FHIR-FULLURL-UNIQUE",
    severity="error",
    kind=KIND,
    source=_SRC + " invariant bdl-7 (fullUrl unique, or else different meta.versionId; not in a history)",
    summary="No two entries share a fullUrl and meta.versionId (except in a history Bundle)",
)
def _fullurl_unique(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.type == "history":
        return
    seen: dict[tuple[str, str], int] = {}
    for i, url, res in idx.entries:
        if url is None:
            continue
        key = (url, _version(res) or "")
        if key in seen:
            version = f" and meta.versionId {key[1]!r}" if key[1] else " (and no meta.versionId)"
            yield Finding(
                f"Bundle.entry[{i}].fullUrl",
                f"bdl-7: fullUrl {url!r}{version} is already used by entry[{seen[key]}]",
                "give each entry its own fullUrl (urn:uuid:…), or versions of one resource distinct meta.versionIds",
            )
        else:
            seen[key] = i


@rule(
    "FHIR-FULLURL-PRESENT",
    severity="error",
    kind=KIND,
    source=_SRC + ": entry.fullUrl is the identity of the entry's resource (documents and messages)",
    summary="Every entry of a document or message Bundle has a fullUrl",
)
def _fullurl_present(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.type not in ("document", "message"):
        return
    for i, entry in _entries(idx):
        if "resource" in entry and not isinstance(entry.get("fullUrl"), str):
            yield Finding(f"Bundle.entry[{i}]", "the entry has no fullUrl", 'add "fullUrl": "urn:uuid:…"')


@rule(
    "FHIR-FULLURL-ABSOLUTE",
    severity="error",
    kind=KIND,
    source=_SRC + ": entry.fullUrl SHALL be an absolute URL, never version-specific (bdl-8)",
    summary="An entry's fullUrl is an absolute URL with no /_history/ version",
)
def _fullurl_absolute(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, url, _ in idx.entries:
        if url is None:
            continue
        if not _ABSOLUTE.match(url):
            yield Finding(
                f"Bundle.entry[{i}].fullUrl",
                f"the fullUrl must be an absolute URL (not {url!r})",
                "use urn:uuid:… or the resource's full RESTful URL",
            )
        elif "/_history/" in url:
            yield Finding(f"Bundle.entry[{i}].fullUrl", f"bdl-8: the fullUrl {url!r} names a version (/_history/)")


@rule(
    "FHIR-FULLURL-RESOURCE",
    severity="error",
    kind=KIND,
    source=_SRC + ": a RESTful fullUrl is [base]/[type]/[id] of the entry's resource",
    summary="A RESTful-looking fullUrl ends with its resource's type and id",
)
def _fullurl_resource(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, url, res in idx.entries:
        m = _RESTFUL.match(url) if url and url.startswith(("http://", "https://")) else None
        if m is None or not m["base"]:
            continue
        rid = res.get("id")
        if rid is None:
            yield Finding(
                f"Bundle.entry[{i}].fullUrl",
                f"the fullUrl {url!r} looks like a RESTful server URL, but the resource has no id",
                f'give the resource "id": "{m["id"]}"',
            )
        elif (m["type"], m["id"]) != (res.get("resourceType"), rid):
            yield Finding(
                f"Bundle.entry[{i}].fullUrl",
                f"the fullUrl {url!r} looks like a RESTful server URL, so it must end with "
                f"/{res.get('resourceType')}/{rid}",
            )


@rule(
    "FHIR-BUNDLE-IDENTIFIER",
    severity="error",
    kind=KIND,
    source=_SRC + " invariant bdl-9 (a document has an identifier with system and value)",
    summary="A document Bundle has an identifier with a system and a value",
)
def _bundle_identifier(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    ident = idx.bundle.get("identifier")
    if idx.type == "document" and (not isinstance(ident, Mapping) or not ident.get("system") or not ident.get("value")):
        yield Finding(
            "Bundle.identifier",
            "bdl-9: the document Bundle has no identifier with both a system and a value",
            'add "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:…"}',
        )


@rule(
    "FHIR-BUNDLE-TIMESTAMP",
    severity="error",
    kind=KIND,
    source=_SRC + " invariant bdl-10 (a document has a timestamp)",
    summary="A document Bundle records when it was assembled (timestamp)",
)
def _bundle_timestamp(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.type == "document" and not isinstance(idx.bundle.get("timestamp"), str):
        yield Finding("Bundle.timestamp", "bdl-10: the document Bundle has no timestamp", "add when it was assembled")


@rule(
    "FHIR-COMPOSITION-FIRST",
    severity="error",
    kind=KIND,
    source=_SRC + " invariants bdl-11 (a document starts with a Composition), bdl-12 (a message with a MessageHeader)",
    summary="A document's first entry is its Composition; a message's first entry is its MessageHeader",
)
def _first_entry(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    first = {"document": ("Composition", "bdl-11"), "message": ("MessageHeader", "bdl-12")}.get(idx.type)
    if first is None:
        return
    res = idx.entries[0][2] if idx.entries and idx.entries[0][0] == 0 else None
    if res is None or res.get("resourceType") != first[0]:
        found = res.get("resourceType") if res is not None else "nothing"
        yield Finding(
            "Bundle.entry[0].resource",
            f"{first[1]}: the first entry of a {idx.type} must be a {first[0]}, found {found}",
            f"put the {first[0]} first",
        )


_SEARCH_OR_HISTORY = ("searchset", "history")
_REQUESTS = ("batch", "transaction", "history")
_RESPONSES = ("batch-response", "transaction-response", "history")


@rule(
    "FHIR-BUNDLE-ENTRY",
    severity="error",
    kind=KIND,
    source=_SRC + " invariants bdl-1, bdl-2, bdl-3, bdl-4, bdl-5",
    summary="total, search, request and response appear only in the Bundle types that use them; "
    "every entry has a resource, request or response",
)
def _bundle_entry(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    kind = idx.type
    if "total" in idx.bundle and kind not in _SEARCH_OR_HISTORY:
        yield Finding("Bundle.total", "bdl-1: total is only for a searchset or history")
    for i, entry in _entries(idx):
        where = f"Bundle.entry[{i}]"
        if "search" in entry and kind != "searchset":
            yield Finding(f"{where}.search", "bdl-2: entry.search is only for a searchset")
        if kind is not None and ("request" in entry) != (kind in _REQUESTS):
            yield Finding(f"{where}.request", f"bdl-3: entry.request is {_needed(kind in _REQUESTS, kind)}")
        if kind is not None and ("response" in entry) != (kind in _RESPONSES):
            yield Finding(f"{where}.response", f"bdl-4: entry.response is {_needed(kind in _RESPONSES, kind)}")
        if not ("resource" in entry or "request" in entry or "response" in entry):
            yield Finding(where, "bdl-5: the entry has no resource (and no request or response)")


def _needed(needed: bool, kind: str) -> str:
    return f"required in a {kind} Bundle" if needed else f"not allowed in a {kind} Bundle"


@rule(
    "FHIR-BUNDLE-LINK",
    severity="error",
    kind=KIND,
    source=_SRC + ".link: each relation names one link (HL7 validator)",
    summary="A link relation (self, next, first…) occurs at most once in a Bundle",
)
def _bundle_link(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    seen: set[str] = set()
    for n, link in enumerate(_as_list(idx.bundle.get("link"))):
        relation = link.get("relation") if isinstance(link, Mapping) else None
        if isinstance(relation, str):
            if relation in seen:
                yield Finding(f"Bundle.link[{n}]", f"the link relation {relation!r} can only occur once")
            seen.add(relation)


_SEARCH_TYPE = re.compile(r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)(?:/_search)?(?:\?|$)")


@rule(
    "FHIR-SEARCHSET",
    severity="error",
    kind=KIND,
    source=_SRC + " searchset: matches are identified resources of the searched type; outcomes are OperationOutcomes",
    summary="A searchset's matches have ids and the searched type; an outcome entry is an OperationOutcome",
)
def _searchset(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.type != "searchset":
        return
    self_url = next(
        (link.get("url") for link in dicts(idx.bundle.get("link")) if link.get("relation") == "self"),
        None,
    )
    m = _SEARCH_TYPE.search(self_url) if isinstance(self_url, str) else None
    searched = m["type"] if m else None
    for i, entry in _entries(idx):
        res = entry.get("resource")
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, Mapping) else None
        if not isinstance(res, Mapping):
            continue
        if mode == "outcome":
            if res.get("resourceType") != "OperationOutcome":
                found = res.get("resourceType")
                yield Finding(entry_path(i), f"search.mode is outcome: this must be an OperationOutcome, not {found}")
            continue
        if mode == "match":
            if "id" not in res:
                yield Finding(entry_path(i), "search results must have ids")
            if searched and res.get("resourceType") != searched:
                yield Finding(entry_path(i), f"{res.get('resourceType')} does not match the search for {searched}")


def _reference_sites(idx: BundleIndex) -> Iterator[tuple[int, str | None, str, str]]:
    """(entry, its fullUrl, where, reference) for every literal reference to another entry."""
    for i, url, res in idx.entries:
        for where, ref in iter_references(res, entry_path(i)):
            if not ref.startswith("#"):
                yield i, url, where, ref


def _must_resolve(idx: BundleIndex, where: str) -> bool:
    """Whether a reference must find its target in this Bundle: in a document any reference,
    in a message those of MessageHeader.focus (the message's content)."""
    if idx.type == "document":
        return True
    return idx.type == "message" and where.startswith("Bundle.entry[0].resource.focus[")


@rule(
    "FHIR-REFERENCE-RESOLVES",
    severity="error",
    kind=KIND,
    source=_SRC + ": resolving references in Bundles; a document carries what it references, a message its focus",
    summary="References in a document (and a message's focus) resolve to an entry; in any Bundle a versioned "
    "reference finds its version and no reference matches two entries",
)
def _reference_resolves(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for _, url, where, ref in _reference_sites(idx):
        hits = idx.matches(ref, url)
        if len(hits) > 1:
            yield Finding(where, f"found {len(hits)} matches for {ref!r} in the Bundle", "refer to one version")
        elif hits:
            continue
        elif "/_history/" in ref and idx.matches(ref.rsplit("/_history/", 1)[0], url):
            yield Finding(where, f"can't find {ref!r} in the Bundle: no entry has that version")
        elif _must_resolve(idx, where):
            yield Finding(where, f"can't find {ref!r} in the Bundle{_same_type_id(idx, ref)}", _HINT)


_HINT = "add the referenced resource, or refer to the entry by its fullUrl"


def _same_type_id(idx: BundleIndex, ref: str) -> str:
    m = _RESTFUL.match(ref)
    if m is None or m["base"] is not None or f"{m['type']}/{m['id']}" not in idx.by_type_id:
        return ""
    return (
        "; an entry has that type and id, but a relative reference resolves only against "
        "the RESTful fullUrl of the entry that makes it"
    )


@rule(
    "FHIR-REFERENCE-TYPE",
    severity="error",
    kind=KIND,
    source=_SRC + ": a Type/id reference points at a resource of that type",
    summary="A reference's Type/id names the type of the entry it resolves to",
)
def _reference_type(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for _, url, where, ref in _reference_sites(idx):
        m = _RESTFUL.match(_HISTORY.sub(r"\g<url>", ref))
        hit = idx.resolve(ref, url) if m else None
        if hit is not None and rtype(idx.resource(hit)) not in (None, m["type"]):  # type: ignore[index]
            yield Finding(where, f"{ref!r} resolves to a {idx.resource(hit).get('resourceType')}")


@rule(
    "FHIR-ENTRY-REACHABLE",
    severity="warning",
    kind=KIND,
    source="FHIR R4 Documents: the Bundle holds the Composition and the resources it references",
    summary="Every entry of a document is reachable from the Composition by references",
)
def _entry_reachable(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None or idx.type != "document":
        return
    # Breadth-first with a seen-set: reference cycles are visited once, never looped.
    seen = {comp[0]}
    queue = [comp[0]]
    urls = {i: url for i, url, _ in idx.entries}
    while queue:
        i = queue.pop()
        for _, ref in iter_references(idx.resource(i), ""):
            for j in idx.matches(ref, urls.get(i)):
                if j not in seen:
                    seen.add(j)
                    queue.append(j)
    for i, _, res in idx.entries:
        if i not in seen:
            yield Finding(
                entry_path(i),
                f"{res.get('resourceType')} is not referenced from the Composition (directly or indirectly)",
                "reference it from a section entry, or leave it out of the document",
            )

"""Health advice over FHIR R4: structure (fhir.resources R4B) plus sendx's document rules.

Flow position: parse → **validate** → adapt.  A ``health-advice`` document is a FHIR R4
document Bundle (UK Core conventions, profile in ``schemas/health-advice/README.md``).
Structure is checked with the fhir.resources **R4B** models (the package's default is R5,
which mis-reads R4 content); their pydantic errors become ``FHIR-STRUCTURE`` issues with
FHIRPath locations.  Then the sendx rules check what fhir.resources does not: the
document-Bundle invariants, references resolving inside the Bundle, the Patient's NHS
number, ODS-identified organisations, coded sections, quantified provision and sane dates.

Every check works on the original JSON dicts, never on ``model_dump`` output, and looks
references up in dicts built once per Bundle, so a 10,000-entry Bundle stays linear and a
reference cycle cannot loop.  ``validate_resource`` checks one non-Bundle resource (the
UK Core examples, say) for structure and identifiers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sendx.validators.identifiers import is_valid_la_code, is_valid_nhs_number, is_valid_ods_code
from sendx.validators.kinds import Kind, register_kind
from sendx.validators.report import Issue, Report
from sendx.validators.rules import Context, Finding, declare, get_rule, rule, run_rules

__all__ = [
    "EHCP_SECTION_SYSTEM",
    "KIND",
    "LA_CODE_SYSTEM",
    "NHS_NUMBER_SYSTEM",
    "ODS_ORG_SYSTEM",
    "ODS_SITE_SYSTEM",
    "UKCORE_HEADINGS_SYSTEM",
    "BundleIndex",
    "ehcp_section_codes",
    "structure_issues",
    "validate_bundle",
    "validate_resource",
]

KIND = "health-advice"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_ORG_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ODS_SITE_SYSTEM = "https://fhir.nhs.uk/Id/ods-site-code"
#: Local authorities are identified by their DfE LA number (they are not NHS bodies).
LA_CODE_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/la-code"
UKCORE_HEADINGS_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-RecordStandardHeadings"
EHCP_SECTION_SYSTEM = "https://schemas.sendx.org.uk/fhir/CodeSystem/ehcp-section"
#: Extension carrying the "how long" of a provision item as written (free text).
DURATION_TEXT_EXT = "https://schemas.sendx.org.uk/fhir/StructureDefinition/provision-duration"

_SRC_BUNDLE = "FHIR R4 Bundle (documents), invariants bdl-7, bdl-9, bdl-10, bdl-11"
_SRC_PROFILE = "sendx health-advice profile (schemas/health-advice/README.md)"

_STRUCTURE = declare(
    "FHIR-STRUCTURE",
    severity="error",
    kind=KIND,
    source="FHIR R4 (4.0.1) resource definitions, checked with fhir.resources R4B models",
    summary="Every resource matches its FHIR R4 definition (elements, cardinality, data types)",
)


@cache
def ehcp_section_codes() -> dict[str, str]:
    """The sendx EHCP section code system (``schemas/health-advice``): code → display."""
    from sendx import schemas

    with (schemas.schema_dir(KIND) / "CodeSystem-ehcp-section.json").open("rb") as fh:
        cs = json.load(fh)
    return {c["code"]: c["display"] for c in cs["concept"]}


# ---------------------------------------------------------------------------------------
# Structure: fhir.resources R4B models


def _fhirpath(root: str, loc: tuple[Any, ...]) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        # pydantic adds tags such as "function-after[...]" for validators; not FHIR elements.
    return out


def _model_class(resource_type: str) -> type | None:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        return None


def structure_issues(resource: Mapping[str, Any], root: str | None = None) -> Iterator[Issue]:
    """FHIR-STRUCTURE issues for one resource (a Bundle included) under the R4B models.

    fhir.resources raises ``KeyError`` (not a validation error) for an unknown
    ``resourceType`` inside a Bundle, which would hide every other problem; such entries
    are reported here and left out of the model check so the rest is still checked.
    """
    from pydantic import ValidationError

    rtype = resource.get("resourceType")
    root = root or (rtype if isinstance(rtype, str) else "Resource")
    if not isinstance(rtype, str):
        yield _STRUCTURE.issue(root, "the resource has no resourceType", 'add "resourceType", e.g. "Bundle"')
        return
    model = _model_class(rtype)
    if model is None:
        yield _STRUCTURE.issue(f"{root}.resourceType", f"{rtype!r} is not a FHIR R4 resource type")
        return
    doc = resource
    if rtype == "Bundle" and isinstance(resource.get("entry"), list):
        entries = list(resource["entry"])
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(res, Mapping):
                continue
            etype = res.get("resourceType")
            if not isinstance(etype, str) or _model_class(etype) is None:
                where = f"{root}.entry[{i}].resource"
                msg = (
                    f"{etype!r} is not a FHIR R4 resource type"
                    if isinstance(etype, str)
                    else "the entry's resource has no resourceType"
                )
                yield _STRUCTURE.issue(f"{where}.resourceType", msg, "use a resource type defined by FHIR R4")
                entries[i] = {k: v for k, v in entry.items() if k != "resource"}
        doc = {**resource, "entry": entries}
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            yield _STRUCTURE.issue(_fhirpath(root, tuple(err.get("loc", ()))), msg)
    except KeyError as exc:  # an unknown resourceType nested deeper (e.g. in contained)
        yield _STRUCTURE.issue(root, f"unknown FHIR resource type {exc.args[0]!r} inside the resource")
    except (TypeError, ValueError) as exc:  # defensive: the models must never crash validation
        yield _STRUCTURE.issue(root, f"the resource could not be read as FHIR R4: {exc}")


# ---------------------------------------------------------------------------------------
# The Bundle index: one pass, then dict look-ups only


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a FHIR list element (tolerating a lone object or junk)."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []


_HISTORY = re.compile(r"/_history/[^/]+$")
_RESTFUL = re.compile(r"^(?P<base>.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")


@dataclass
class BundleIndex:
    """Entries of a Bundle and how references find them (built once; look-ups are O(1))."""

    bundle: Mapping[str, Any]
    entries: list[tuple[int, str | None, Mapping[str, Any]]] = field(default_factory=list)
    by_url: dict[str, int] = field(default_factory=dict)
    by_type_id: dict[str, int] = field(default_factory=dict)
    duplicates: list[tuple[int, str]] = field(default_factory=list)

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
                if url in idx.by_url:
                    idx.duplicates.append((i, url))
                else:
                    idx.by_url[url] = i
            rtype, rid = res.get("resourceType"), res.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                idx.by_type_id.setdefault(f"{rtype}/{rid}", i)
        return idx

    def resource(self, i: int) -> Mapping[str, Any]:
        return self.bundle["entry"][i]["resource"]

    def resolve(self, ref: str, from_url: str | None = None) -> int | None:
        """The entry index a reference points to, or ``None`` if it is not in the Bundle."""
        ref = _HISTORY.sub("", ref)
        if ref in self.by_url:
            return self.by_url[ref]
        m = _RESTFUL.match(ref)
        if m is None:
            return None
        if m["base"] is None:
            # Relative: against the referencing entry's RESTful base, else by type/id.
            if from_url and (fm := _RESTFUL.match(from_url)) and fm["base"]:
                hit = self.by_url.get(fm["base"] + ref)
                if hit is not None:
                    return hit
            return self.by_type_id.get(ref)
        return None

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

    def of_type(self, rtype: str) -> Iterator[tuple[int, str | None, Mapping[str, Any]]]:
        return (e for e in self.entries if e[2].get("resourceType") == rtype)

    def subject(self) -> tuple[int, Mapping[str, Any]] | None:
        """The Patient the Composition is about, when it resolves."""
        comp = self.composition()
        if comp is None:
            return None
        hit = self.target(comp[2].get("subject"), comp[1])
        return hit if hit and hit[1].get("resourceType") == "Patient" else None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rtype(resource: Mapping[str, Any]) -> str | None:
    """The resourceType when it is a string (FHIR-STRUCTURE reports anything else); safe in set look-ups."""
    rtype = resource.get("resourceType")
    return rtype if isinstance(rtype, str) else None


def _entry_path(i: int) -> str:
    return f"Bundle.entry[{i}].resource"


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
# Rules.  Each receives the BundleIndex; each reads the raw dicts defensively, so they run
# even when fhir.resources found structural problems (people fix all at once).


@rule(
    "FHIR-BUNDLE-DOCUMENT",
    severity="error",
    kind=KIND,
    source="SPEC §3 / FHIR R4 Documents: a document is a Bundle of type 'document'",
    summary="A health-advice document is a FHIR Bundle with type 'document'",
)
def _bundle_document(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.bundle.get("type") != "document":
        yield Finding(
            "Bundle.type",
            f"the Bundle's type is {idx.bundle.get('type')!r}, not 'document'",
            'set "type": "document"; collections and transactions are not documents',
        )


@rule(
    "FHIR-BUNDLE-IDENTIFIER",
    severity="error",
    kind=KIND,
    source=_SRC_BUNDLE + " (bdl-9: a document has an identifier with system and value)",
    summary="A document Bundle has an identifier with a system and a value",
)
def _bundle_identifier(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    ident = idx.bundle.get("identifier")
    if not isinstance(ident, Mapping) or not ident.get("system") or not ident.get("value"):
        yield Finding(
            "Bundle.identifier",
            "the document Bundle has no identifier with both a system and a value",
            'add "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:…"}',
        )


@rule(
    "FHIR-BUNDLE-TIMESTAMP",
    severity="error",
    kind=KIND,
    source=_SRC_BUNDLE + " (bdl-10: a document has a timestamp)",
    summary="A document Bundle records when it was assembled (timestamp)",
)
def _bundle_timestamp(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if not isinstance(idx.bundle.get("timestamp"), str):
        yield Finding("Bundle.timestamp", "the document Bundle has no timestamp", "add the instant it was assembled")


@rule(
    "FHIR-COMPOSITION-FIRST",
    severity="error",
    kind=KIND,
    source=_SRC_BUNDLE + " (bdl-11: the first resource is a Composition)",
    summary="The first entry of a document Bundle is its Composition",
)
def _composition_first(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    if idx.composition() is not None:
        return
    if not idx.entries:
        yield Finding("Bundle.entry", "the document Bundle has no entries", "put the Composition first")
        return
    first = idx.entries[0]
    found = first[2].get("resourceType")
    yield Finding(f"{_entry_path(first[0])}", f"the first entry is a {found}, not a Composition", "move it first")


@rule(
    "FHIR-FULLURL-UNIQUE",
    severity="error",
    kind=KIND,
    source=_SRC_BUNDLE + " (bdl-7: fullUrl unique; documents resolve references by fullUrl)",
    summary="Every entry has a fullUrl and no two entries share one",
)
def _fullurl_unique(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, url, _ in idx.entries:
        if url is None:
            yield Finding(f"Bundle.entry[{i}].fullUrl", "the entry has no fullUrl", 'use "urn:uuid:<uuid>"')
    for i, url in idx.duplicates:
        first = idx.by_url[url]
        yield Finding(f"Bundle.entry[{i}].fullUrl", f"fullUrl {url!r} is already used by entry[{first}]")


@rule(
    "FHIR-COMPOSITION-SUBJECT",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (Composition.subject 1..1, a Patient in the Bundle)",
    summary="The Composition's subject is a Patient carried in the Bundle",
)
def _composition_subject(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None:
        return
    if idx.subject() is None:
        yield Finding(
            f"{_entry_path(comp[0])}.subject",
            "the Composition's subject is missing or is not a Patient in the Bundle",
            "reference the child's Patient entry by its fullUrl",
        )


_AUTHOR_TYPES = {"PractitionerRole", "Practitioner", "Organization"}


@rule(
    "FHIR-COMPOSITION-AUTHOR",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " / SPEC §4 (author organisation identified by ODS code)",
    summary="The Composition names its author, and the author's organisation is in the Bundle",
)
def _composition_author(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None:
        return
    i, url, res = comp
    authors = _dicts(res.get("author"))
    if not authors:
        yield Finding(f"{_entry_path(i)}.author", "the Composition has no author", "reference the PractitionerRole")
        return
    for n, ref in enumerate(authors):
        hit = idx.target(ref, url)
        if hit is None:
            continue  # FHIR-REFERENCE-RESOLVES reports it
        rtype = _rtype(hit[1])
        if rtype not in _AUTHOR_TYPES:
            msg = f"an author must be a professional or organisation, not {rtype}"
            yield Finding(f"{_entry_path(i)}.author[{n}]", msg)
    if not _author_organisations(idx, comp):
        yield Finding(
            f"{_entry_path(i)}.author",
            "no author is (or works for) an Organization carried in the Bundle",
            "author the document as a PractitionerRole whose organization is in the Bundle",
        )


def _author_organisations(idx: BundleIndex, comp: tuple[int, str | None, Mapping[str, Any]]) -> list[int]:
    out = []
    for ref in _dicts(comp[2].get("author")):
        hit = idx.target(ref, comp[1])
        if hit is None:
            continue
        j, res = hit
        if res.get("resourceType") == "Organization":
            out.append(j)
        elif res.get("resourceType") == "PractitionerRole":
            org = idx.target(res.get("organization"), idx.bundle["entry"][j].get("fullUrl"))
            if org and org[1].get("resourceType") == "Organization":
                out.append(org[0])
    return out


def _walk_sections(sections: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    stack = [(s, f"{path}.section[{n}]") for n, s in enumerate(_as_list(sections)) if isinstance(s, Mapping)]
    while stack:
        sec, where = stack.pop()
        yield where, sec
        stack.extend(
            (s, f"{where}.section[{n}]") for n, s in enumerate(_as_list(sec.get("section"))) if isinstance(s, Mapping)
        )


def _section_code(sec: Mapping[str, Any]) -> tuple[str, str] | None:
    for coding in _dicts((sec.get("code") or {}).get("coding") if isinstance(sec.get("code"), Mapping) else None):
        if coding.get("system") in (EHCP_SECTION_SYSTEM, UKCORE_HEADINGS_SYSTEM) and isinstance(
            coding.get("code"), str
        ):
            return coding["system"], coding["code"]
    return None


@rule(
    "FHIR-SECTION-CODE",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (sections coded: UK Core RecordStandardHeadings or sendx EHCP sections)",
    summary="Every Composition section is coded with a UK Core heading or an EHCP section code",
)
def _section_code_rule(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None:
        return
    known = ehcp_section_codes()
    for where, sec in _walk_sections(comp[2].get("section"), _entry_path(comp[0])):
        code = _section_code(sec)
        if code is None:
            yield Finding(
                f"{where}.code",
                f"section {sec.get('title', '')!r} has no code from the UK Core headings or the EHCP sections",
                f"code it from {EHCP_SECTION_SYSTEM} (C health needs, G health provision) or {UKCORE_HEADINGS_SYSTEM}",
            )
        elif code[0] == EHCP_SECTION_SYSTEM and code[1] not in known:
            yield Finding(f"{where}.code", f"{code[1]!r} is not an EHCP section code", "use one of " + ", ".join(known))


# Which resource types each EHCP section's entries may be (health advice uses C and G).
_SECTION_ENTRY_TYPES = {"C": {"Condition"}, "G": {"ServiceRequest", "CarePlan"}}


@rule(
    "FHIR-SECTION-CONTENT",
    severity="error",
    kind=KIND,
    source="FHIR R4 Composition cmp-1 (text, entries or sub-sections) / " + _SRC_PROFILE,
    summary="Every section has text, entries or sub-sections; C holds Conditions, G ServiceRequests/CarePlans",
)
def _section_content(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None:
        return
    for where, sec in _walk_sections(comp[2].get("section"), _entry_path(comp[0])):
        if not (sec.get("text") or sec.get("entry") or sec.get("section")):
            yield Finding(where, "the section has no text, entries or sub-sections", "add narrative text or entries")
        code = _section_code(sec)
        allowed = _SECTION_ENTRY_TYPES.get(code[1]) if code and code[0] == EHCP_SECTION_SYSTEM else None
        if allowed is None:
            continue
        for n, ref in enumerate(_dicts(sec.get("entry"))):
            hit = idx.target(ref, comp[1])
            if hit and _rtype(hit[1]) not in allowed:
                yield Finding(
                    f"{where}.entry[{n}]",
                    f"section {code[1]} may hold {' or '.join(sorted(allowed))}, not {hit[1].get('resourceType')}",
                )


@rule(
    "FHIR-REFERENCE-RESOLVES",
    severity="error",
    kind=KIND,
    source="FHIR R4 Bundle: resolving references in Bundles; documents are self-contained",
    summary="Every reference inside the document resolves to an entry (by fullUrl or Type/id)",
)
def _reference_resolves(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, url, res in idx.entries:
        contained = {c["id"] for c in _dicts(res.get("contained")) if isinstance(c.get("id"), str)}
        for where, ref in iter_references(res, _entry_path(i)):
            if ref.startswith("#"):
                if ref == "#" or ref[1:] in contained:
                    continue
                yield Finding(where, f"{ref!r} names no contained resource")
            elif idx.resolve(ref, url) is None:
                yield Finding(
                    where,
                    f"reference {ref!r} does not resolve to any entry in the Bundle",
                    "add the referenced resource, or refer to an entry by its fullUrl",
                )


@rule(
    "FHIR-ENTRY-REACHABLE",
    severity="warning",
    kind=KIND,
    source="FHIR R4 Documents: the Bundle holds the Composition and the resources it references",
    summary="Every entry is reachable from the Composition by references",
)
def _entry_reachable(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    comp = idx.composition()
    if comp is None:
        return
    # Breadth-first with a seen-set: reference cycles are visited once, never looped.
    seen = {comp[0]}
    queue = [comp[0]]
    urls = {i: url for i, url, _ in idx.entries}
    while queue:
        i = queue.pop()
        for _, ref in iter_references(idx.resource(i), ""):
            j = idx.resolve(ref, urls.get(i))
            if j is not None and j not in seen:
                seen.add(j)
                queue.append(j)
    for i, _, res in idx.entries:
        if i not in seen:
            yield Finding(
                _entry_path(i),
                f"{res.get('resourceType')} is not referenced from the Composition (directly or indirectly)",
                "reference it from a section entry, or leave it out of the document",
            )


@rule(
    "FHIR-PATIENT-NHS-NUMBER",
    severity="error",
    kind=KIND,
    source="SPEC §4 / UK Core Patient: NHS number identifier (system " + NHS_NUMBER_SYSTEM + ")",
    summary="The child's Patient carries exactly one NHS number identifier",
)
def _patient_nhs_number(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    subject = idx.subject()
    if subject is None:
        return
    i, res = subject
    nhs = [x for x in _dicts(res.get("identifier")) if x.get("system") == NHS_NUMBER_SYSTEM]
    if not nhs:
        yield Finding(
            f"{_entry_path(i)}.identifier",
            "the Patient has no NHS number",
            f'add {{"system": "{NHS_NUMBER_SYSTEM}", "value": "<10 digits>"}}',
        )
    elif len(nhs) > 1:
        yield Finding(f"{_entry_path(i)}.identifier", "the Patient has more than one NHS number (UK Core allows one)")


@rule(
    "FHIR-ORGANISATION-ID",
    severity="error",
    kind=KIND,
    source="SPEC §4 (organisations identified by ODS code, " + ODS_ORG_SYSTEM + ")",
    summary="Every Organization is identified by its ODS code (a local authority by its DfE LA number)",
)
def _organisation_id(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, _, res in idx.of_type("Organization"):
        systems = {x["system"] for x in _dicts(res.get("identifier")) if isinstance(x.get("system"), str)}
        if not systems & {ODS_ORG_SYSTEM, ODS_SITE_SYSTEM, LA_CODE_SYSTEM}:
            yield Finding(
                f"{_entry_path(i)}.identifier",
                f"Organization {res.get('name', '')!r} has no ODS code",
                f'add {{"system": "{ODS_ORG_SYSTEM}", "value": "<ODS code>"}}',
            )


_SUBJECT_TYPES = {"Condition", "ServiceRequest", "CarePlan", "Goal", "Observation", "QuestionnaireResponse"}


@rule(
    "FHIR-SUBJECT-CONSISTENT",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (one document, one child; GP2GP 'wrong patient' lesson)",
    summary="Clinical resources in the document are about the Composition's subject",
)
def _subject_consistent(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    subject = idx.subject()
    if subject is None:
        return
    for i, url, res in idx.entries:
        if _rtype(res) not in _SUBJECT_TYPES:
            continue
        ref = res.get("subject")
        hit = idx.target(ref, url)
        if ref is None or (hit is not None and hit[0] != subject[0]):
            yield Finding(
                f"{_entry_path(i)}.subject",
                f"this {res.get('resourceType')} is not about the document's Patient",
                "every need and provision item must reference the child's Patient entry",
            )


def _text(value: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display."""
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("text"), str) and value["text"].strip():
        return value["text"]
    for coding in _dicts(value.get("coding")):
        if isinstance(coding.get("display"), str):
            return coding["display"]
    return None


def provision_gaps(idx: BundleIndex, url: str | None, res: Mapping[str, Any]) -> list[str]:
    """What a provision ServiceRequest leaves unspecified (what/who/how often/how long/why)."""
    gaps = []
    if not _text(res.get("code")):
        gaps.append("what (code.text)")
    if not (_text(res.get("performerType")) or _dicts(res.get("performer"))):
        gaps.append("who (performerType or performer)")
    timing = res.get("occurrenceTiming") if isinstance(res.get("occurrenceTiming"), Mapping) else {}
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), Mapping) else {}
    if not (_text(timing.get("code")) or (repeat.get("frequency") and repeat.get("period"))):
        gaps.append("how often (occurrenceTiming.repeat frequency/period)")
    has_text = any(x.get("url") == DURATION_TEXT_EXT and x.get("valueString") for x in _dicts(res.get("extension")))
    if not (has_text or repeat.get("boundsDuration") or repeat.get("boundsPeriod") or repeat.get("count")):
        gaps.append("how long (occurrenceTiming.repeat.boundsDuration)")
    reasons = [idx.target(r, url) for r in _dicts(res.get("reasonReference"))]
    if not any(h and h[1].get("resourceType") == "Condition" for h in reasons):
        gaps.append("which need (reasonReference to a Condition)")
    return gaps


@rule(
    "FHIR-PROVISION-QUANTIFIED",
    severity="error",
    kind=KIND,
    source="SEND Code of Practice 9.69 (provision specified and quantified) / " + _SRC_PROFILE,
    summary="Each recommended provision says what, who, how often, how long and which need it meets",
)
def _provision_quantified(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, url, res in idx.of_type("ServiceRequest"):
        gaps = provision_gaps(idx, url, res)
        if gaps:
            yield Finding(
                _entry_path(i),
                "the recommended provision does not say " + "; ".join(gaps),
                "health provision must be specific and quantified (Code of Practice 9.69)",
            )


# Dates recorded about the past: none may be after "today" (Context.as_of).
_RECORD_DATES: dict[str, tuple[str, ...]] = {
    "Patient": ("birthDate",),
    "Composition": ("date",),
    "Condition": ("onsetDateTime", "recordedDate", "abatementDateTime"),
    "ServiceRequest": ("authoredOn",),
    "CarePlan": ("created",),
    "QuestionnaireResponse": ("authored",),
    "Observation": ("effectiveDateTime", "issued"),
}


def _date_range(value: Any) -> tuple[dt.date, dt.date] | None:
    """Earliest and latest day a FHIR date/dateTime (YYYY, YYYY-MM, YYYY-MM-DD…) can mean."""
    if not isinstance(value, str):
        return None
    m = re.match(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if not m:
        return None
    try:
        y = int(m[1])
        if m[3]:
            d = dt.date(y, int(m[2]), int(m[3]))
            return d, d
        if m[2]:
            mo = int(m[2])
            nxt = dt.date(y + (mo == 12), mo % 12 + 1, 1)
            return dt.date(y, mo, 1), nxt - dt.timedelta(days=1)
        return dt.date(y, 1, 1), dt.date(y, 12, 31)
    except ValueError:
        return None


def _record_dates(idx: BundleIndex) -> Iterator[tuple[str, str, str, tuple[dt.date, dt.date]]]:
    ts = _date_range(idx.bundle.get("timestamp"))
    if ts:
        yield "Bundle.timestamp", "Bundle", "timestamp", ts
    for i, _, res in idx.entries:
        rtype = _rtype(res)
        for name in _RECORD_DATES.get(rtype, ()):
            rng = _date_range(res.get(name))
            if rng:
                yield f"{_entry_path(i)}.{name}", rtype, name, rng


@rule(
    "FHIR-DATE-FUTURE",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (dates plausible: nothing recorded after today)",
    summary="Recorded dates (birth, authored, recorded, onset, timestamp) are not in the future",
)
def _date_future(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for where, rtype, name, (lo, _) in _record_dates(idx):
        if lo > ctx.as_of:
            yield Finding(where, f"{rtype}.{name} {lo.isoformat()} is after today ({ctx.as_of.isoformat()})")


@rule(
    "FHIR-DATE-BEFORE-BIRTH",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (dates plausible: nothing about the child before their birth)",
    summary="No date recorded about the child is before the Patient's birthDate",
)
def _date_before_birth(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    subject = idx.subject()
    born = _date_range(subject[1].get("birthDate")) if subject else None
    if born is None:
        return
    for where, rtype, name, (_, hi) in _record_dates(idx):
        if rtype != "Patient" and hi < born[0]:
            yield Finding(where, f"{rtype}.{name} {hi.isoformat()} is before the child's birth ({born[0].isoformat()})")


# ---------------------------------------------------------------------------------------
# Identifiers (shared ID-* rules) and the kind


def identifier_issues(resource: Mapping[str, Any], path: str) -> Iterator[Issue]:
    """ID-NHS-NUMBER / ID-ODS / ID-LA-CODE for identifiers carried by one resource."""
    for n, ident in enumerate(_dicts(resource.get("identifier"))):
        system, value = ident.get("system"), ident.get("value")
        where = f"{path}.identifier[{n}].value"
        if system == NHS_NUMBER_SYSTEM:
            # FHIR carries the number as 10 digits with no spaces.
            if not (isinstance(value, str) and value.isdigit() and is_valid_nhs_number(value)):
                yield get_rule("ID-NHS-NUMBER").issue(
                    where,
                    f"{value!r} is not a valid NHS number (modulus 11 check)",
                    "an NHS number is 10 digits, no spaces, the last a modulus 11 check digit",
                )
        elif system in (ODS_ORG_SYSTEM, ODS_SITE_SYSTEM) and not is_valid_ods_code(value):
            yield get_rule("ID-ODS").issue(where, f"{value!r} is not a valid ODS code")
        elif system == LA_CODE_SYSTEM and not is_valid_la_code(value):
            yield get_rule("ID-LA-CODE").issue(where, f"{value!r} is not a valid DfE LA number")


def validate_bundle(doc: Mapping[str, Any], ctx: Context) -> Iterator[Issue]:
    """Every issue in a health-advice document (the ``health-advice`` kind's validator)."""
    rtype = doc.get("resourceType")
    if rtype != "Bundle":
        yield get_rule("FHIR-BUNDLE-DOCUMENT").issue(
            str(rtype) if isinstance(rtype, str) else "",
            f"a health-advice document must be a FHIR Bundle of type 'document', not a {rtype} resource",
            "wrap the resources in a document Bundle with a Composition first; "
            "to check one resource on its own use validators.fhir.validate_resource",
        )
        return
    yield from structure_issues(doc)
    idx = BundleIndex.build(doc)
    for i, _, res in idx.entries:
        yield from identifier_issues(res, _entry_path(i))
    yield from run_rules(KIND, idx, ctx)


def validate_resource(resource: Mapping[str, Any], context: Context | None = None) -> Report:
    """Check one FHIR R4 resource on its own: structure, identifiers and future dates.

    For single resources such as the UK Core examples: references are not resolved (the
    resources they name are elsewhere) and no document rules apply.
    """
    ctx = context or Context()
    if not isinstance(resource, Mapping):
        return Report(KIND, [_STRUCTURE.issue("", "expected a FHIR resource (a JSON object)")])
    rtype = resource.get("resourceType")
    root = rtype if isinstance(rtype, str) else "Resource"
    issues = list(structure_issues(resource, root))
    issues.extend(identifier_issues(resource, root))
    future = get_rule("FHIR-DATE-FUTURE")
    for name in _RECORD_DATES.get(_rtype(resource), ()):
        rng = _date_range(resource.get(name))
        if rng and rng[0] > ctx.as_of:
            issues.append(future.issue(f"{root}.{name}", f"{rtype}.{name} {rng[0].isoformat()} is after today"))
    return Report(KIND, issues)


register_kind(
    Kind(
        name=KIND,
        syntax="json",
        # Any FHIR resource is recognised (not only a Bundle) so that a lone Patient gets
        # "must be a document Bundle" instead of an unhelpful "unknown kind".
        detect=lambda doc: isinstance(doc.get("resourceType"), str) and "$schema" not in doc,
        validate=validate_bundle,
        description="NHS health advice for an EHC needs assessment: FHIR R4 document Bundle (UK Core)",
    )
)

"""sendx's health-advice profile: FHIR R4 document Bundles carrying NHS advice for an EHC plan.

Flow position: parse → **validate** → adapt.  A ``health-advice`` document is a FHIR R4
document Bundle (UK Core conventions, profile in ``schemas/health-advice/README.md``) whose
Composition has sections coded with sendx's EHCP section system.  It gets every base FHIR
check first (``base``: structure, invariants, UK Core, the Bundle rules), then the sendx
rules here: the Composition's subject and author, coded sections, the child's NHS number,
ODS-identified organisations, quantified provision and sane dates.

Every check works on the original JSON dicts and looks references up in the
``BundleIndex`` built once per Bundle.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from sendx.validators.fhir.base import base_issues
from sendx.validators.fhir.bundle import BundleIndex, dicts, entry_path, rtype
from sendx.validators.fhir.ukcore import LA_CODE_SYSTEM, NHS_NUMBER_SYSTEM, ODS_ORG_SYSTEM, ODS_SITE_SYSTEM
from sendx.validators.report import Issue
from sendx.validators.rules import Context, Finding, get_rule, rule, run_rules

__all__ = [
    "DURATION_TEXT_EXT",
    "EHCP_SECTION_SYSTEM",
    "KIND",
    "UKCORE_HEADINGS_SYSTEM",
    "ehcp_section_codes",
    "is_health_advice",
    "provision_gaps",
    "validate_bundle",
]

KIND = "health-advice"
UKCORE_HEADINGS_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-RecordStandardHeadings"
EHCP_SECTION_SYSTEM = "https://schemas.sendx.org.uk/fhir/CodeSystem/ehcp-section"
#: Extension carrying the "how long" of a provision item as written (free text).
DURATION_TEXT_EXT = "https://schemas.sendx.org.uk/fhir/StructureDefinition/provision-duration"

_SRC_PROFILE = "sendx health-advice profile (schemas/health-advice/README.md)"


@cache
def ehcp_section_codes() -> dict[str, str]:
    """The sendx EHCP section code system (``schemas/health-advice``): code → display."""
    from sendx import schemas

    with (schemas.schema_dir(KIND) / "CodeSystem-ehcp-section.json").open("rb") as fh:
        cs = json.load(fh)
    return {c["code"]: c["display"] for c in cs["concept"]}


# ---------------------------------------------------------------------------------------
# Rules.  Each receives the BundleIndex; each reads the raw dicts defensively, so they run
# even when the structure check found problems (people fix all at once).


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
            f"{entry_path(comp[0])}.subject",
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
    authors = dicts(res.get("author"))
    if not authors:
        yield Finding(f"{entry_path(i)}.author", "the Composition has no author", "reference the PractitionerRole")
        return
    for n, ref in enumerate(authors):
        hit = idx.target(ref, url)
        if hit is None:
            continue  # FHIR-REFERENCE-RESOLVES reports it
        found = rtype(hit[1])
        if found not in _AUTHOR_TYPES:
            msg = f"an author must be a professional or organisation, not {found}"
            yield Finding(f"{entry_path(i)}.author[{n}]", msg)
    if not _author_organisations(idx, comp):
        yield Finding(
            f"{entry_path(i)}.author",
            "no author is (or works for) an Organization carried in the Bundle",
            "author the document as a PractitionerRole whose organization is in the Bundle",
        )


def _author_organisations(idx: BundleIndex, comp: tuple[int, str | None, Mapping[str, Any]]) -> list[int]:
    out = []
    for ref in dicts(comp[2].get("author")):
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


def _sections(sec: Mapping[str, Any]) -> list[Any]:
    subs = sec.get("section")
    return subs if isinstance(subs, list) else []


def _walk_sections(sections: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    stack = [
        (s, f"{path}.section[{n}]")
        for n, s in enumerate(sections if isinstance(sections, list) else [])
        if isinstance(s, Mapping)
    ]
    while stack:
        sec, where = stack.pop()
        yield where, sec
        stack.extend((s, f"{where}.section[{n}]") for n, s in enumerate(_sections(sec)) if isinstance(s, Mapping))


def _section_code(sec: Mapping[str, Any]) -> tuple[str, str] | None:
    for coding in dicts((sec.get("code") or {}).get("coding") if isinstance(sec.get("code"), Mapping) else None):
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
    for where, sec in _walk_sections(comp[2].get("section"), entry_path(comp[0])):
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
    for where, sec in _walk_sections(comp[2].get("section"), entry_path(comp[0])):
        if not (sec.get("text") or sec.get("entry") or sec.get("section")):
            yield Finding(where, "the section has no text, entries or sub-sections", "add narrative text or entries")
        code = _section_code(sec)
        allowed = _SECTION_ENTRY_TYPES.get(code[1]) if code and code[0] == EHCP_SECTION_SYSTEM else None
        if allowed is None:
            continue
        for n, ref in enumerate(dicts(sec.get("entry"))):
            hit = idx.target(ref, comp[1])
            if hit and rtype(hit[1]) not in allowed:
                yield Finding(
                    f"{where}.entry[{n}]",
                    f"section {code[1]} may hold {' or '.join(sorted(allowed))}, not {hit[1].get('resourceType')}",
                )


@rule(
    "FHIR-PATIENT-NHS-NUMBER",
    severity="error",
    kind=KIND,
    source="SPEC §4: the child is identified by NHS number (system " + NHS_NUMBER_SYSTEM + ")",
    summary="The child's Patient carries an NHS number (UK Core's at most one: FHIR-UKCORE-NHS-NUMBER)",
)
def _patient_nhs_number(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    subject = idx.subject()
    if subject is None:
        return
    i, res = subject
    nhs = [x for x in dicts(res.get("identifier")) if x.get("system") == NHS_NUMBER_SYSTEM]
    if not nhs:
        yield Finding(
            f"{entry_path(i)}.identifier",
            "the Patient has no NHS number",
            f'add {{"system": "{NHS_NUMBER_SYSTEM}", "value": "<10 digits>"}}',
        )


@rule(
    "FHIR-ORGANISATION-ID",
    severity="error",
    kind=KIND,
    source="SPEC §4 (organisations identified by ODS code, " + ODS_ORG_SYSTEM + ")",
    summary="Every Organization is identified by its ODS code (a local authority by its DfE LA number)",
)
def _organisation_id(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for i, _, res in idx.of_type("Organization"):
        systems = {x["system"] for x in dicts(res.get("identifier")) if isinstance(x.get("system"), str)}
        if not systems & {ODS_ORG_SYSTEM, ODS_SITE_SYSTEM, LA_CODE_SYSTEM}:
            yield Finding(
                f"{entry_path(i)}.identifier",
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
        if rtype(res) not in _SUBJECT_TYPES:
            continue
        ref = res.get("subject")
        hit = idx.target(ref, url)
        if ref is None or (hit is not None and hit[0] != subject[0]):
            yield Finding(
                f"{entry_path(i)}.subject",
                f"this {res.get('resourceType')} is not about the document's Patient",
                "every need and provision item must reference the child's Patient entry",
            )


def _text(value: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display."""
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("text"), str) and value["text"].strip():
        return value["text"]
    for coding in dicts(value.get("coding")):
        if isinstance(coding.get("display"), str):
            return coding["display"]
    return None


def provision_gaps(idx: BundleIndex, url: str | None, res: Mapping[str, Any]) -> list[str]:
    """What a provision ServiceRequest leaves unspecified (what/who/how often/how long/why)."""
    gaps = []
    if not _text(res.get("code")):
        gaps.append("what (code.text)")
    if not (_text(res.get("performerType")) or dicts(res.get("performer"))):
        gaps.append("who (performerType or performer)")
    timing = res.get("occurrenceTiming") if isinstance(res.get("occurrenceTiming"), Mapping) else {}
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), Mapping) else {}
    if not (_text(timing.get("code")) or (repeat.get("frequency") and repeat.get("period"))):
        gaps.append("how often (occurrenceTiming.repeat frequency/period)")
    has_text = any(x.get("url") == DURATION_TEXT_EXT and x.get("valueString") for x in dicts(res.get("extension")))
    if not (has_text or repeat.get("boundsDuration") or repeat.get("boundsPeriod") or repeat.get("count")):
        gaps.append("how long (occurrenceTiming.repeat.boundsDuration)")
    reasons = [idx.target(r, url) for r in dicts(res.get("reasonReference"))]
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
                entry_path(i),
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
        kind = rtype(res)
        for name in _RECORD_DATES.get(kind, ()):
            rng = _date_range(res.get(name))
            if rng:
                yield f"{entry_path(i)}.{name}", kind, name, rng


@rule(
    "FHIR-DATE-FUTURE",
    severity="error",
    kind=KIND,
    source=_SRC_PROFILE + " (dates plausible: nothing recorded after today)",
    summary="Recorded dates (birth, authored, recorded, onset, timestamp) are not in the future",
)
def _date_future(idx: BundleIndex, ctx: Context) -> Iterator[Finding]:
    for where, kind, name, (lo, _) in _record_dates(idx):
        if lo > ctx.as_of:
            yield Finding(where, f"{kind}.{name} {lo.isoformat()} is after today ({ctx.as_of.isoformat()})")


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
    for where, kind, name, (_, hi) in _record_dates(idx):
        if kind != "Patient" and hi < born[0]:
            yield Finding(where, f"{kind}.{name} {hi.isoformat()} is before the child's birth ({born[0].isoformat()})")


# ---------------------------------------------------------------------------------------
# The kind


def _section_codes(sections: Any) -> Iterator[tuple[str, str]]:
    for _, sec in _walk_sections(sections, ""):
        code = _section_code(sec)
        if code is not None:
            yield code


def is_health_advice(doc: Mapping[str, Any]) -> bool:
    """A document Bundle whose first entry is a Composition with an EHCP-coded section."""
    if doc.get("resourceType") != "Bundle" or doc.get("type") != "document":
        return False
    entries = doc.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    comp = first.get("resource") if isinstance(first, Mapping) else None
    if not isinstance(comp, Mapping) or comp.get("resourceType") != "Composition":
        return False
    return any(system == EHCP_SECTION_SYSTEM for system, _ in _section_codes(comp.get("section")))


def validate_bundle(doc: Mapping[str, Any], ctx: Context) -> Iterator[Issue]:
    """Every issue in a health-advice document: the base FHIR checks, then the sendx rules."""
    resource_type = doc.get("resourceType")
    if resource_type != "Bundle":
        yield get_rule("FHIR-BUNDLE-DOCUMENT").issue(
            str(resource_type) if isinstance(resource_type, str) else "",
            f"a health-advice document must be a FHIR Bundle of type 'document', not a {resource_type} resource",
            "wrap the resources in a document Bundle with a Composition first; "
            "to check the resource on its own, validate it as kind 'fhir'",
        )
        return
    idx = BundleIndex.build(doc)
    yield from base_issues(doc, ctx, idx)
    yield from run_rules(KIND, idx, ctx)

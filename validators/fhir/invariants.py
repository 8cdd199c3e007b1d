"""FHIR R4 invariants written by hand: the constraints the HL7 validator evaluates with FHIRPath.

Flow position: **validate**, called by the structure walk (``structure``) on each instance of
the data type or resource an invariant belongs to, so each costs a few dictionary look-ups.
Written in Python rather than evaluated with a FHIRPath engine: fhirpathpy compares dateTimes
read from resources as text and lacks ``hasValue()``, ``htmlChecks()`` and ``resolve()``, so
it would get per-1 wrong both ways (research for #19).  Each rule id names its invariant
(``FHIR-PER-1`` is per-1).  Local references (``#id``) are gathered in ``LocalRefs`` as the
walk goes, for ref-1 and dom-3.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from sendx.validators.report import Issue
from sendx.validators.rules import Rule, declare

__all__ = [
    "DATATYPE_CHECKS",
    "RESOURCE_CHECKS",
    "LocalRefs",
    "contained_resource",
    "local_references",
    "system_absolute",
]


def _invariant(key: str, human: str, where: str) -> Rule:
    return declare(
        f"FHIR-{key.upper()}",
        severity="error",
        kind="fhir",
        source=f"FHIR R4 invariant {key} ({where})",
        summary=human,
    )


PER_1 = _invariant("per-1", "A Period's start is not after its end (compared at their common precision)", "Period")
EXT_1 = _invariant("ext-1", "An extension has either extensions or a value[x], not both", "Extension")
REF_1 = _invariant("ref-1", "A local reference (#id) names a contained resource", "Reference")
ATT_1 = _invariant("att-1", "An Attachment with data states its contentType", "Attachment")
RAS_2 = _invariant("ras-2", "A RiskAssessment prediction's probability is at most 100", "RiskAssessment.prediction")
DOM_2 = _invariant("dom-2", "A contained resource holds no contained resources", "DomainResource")
DOM_3 = _invariant(
    "dom-3", "Every contained resource is referenced from its container (or refers to it)", "DomainResource"
)
DOM_4 = _invariant("dom-4", "A contained resource has no meta.versionId or meta.lastUpdated", "DomainResource")
DOM_5 = _invariant("dom-5", "A contained resource has no security labels", "DomainResource")
ATTACHMENT = declare(
    "FHIR-ATTACHMENT",
    severity="error",
    kind="fhir",
    source="FHIR R4 Attachment: size and hash describe the data (HL7 validator checks)",
    summary="An Attachment's stated size and SHA-1 hash match its data",
)
SYSTEM_ABSOLUTE = declare(
    "FHIR-SYSTEM-ABSOLUTE",
    severity="error",
    kind="fhir",
    source="FHIR R4 Coding.system and Identifier.system: the URI of a code system or namespace (HL7 validator)",
    summary="A Coding's or Identifier's system is an absolute URI (urn:… or http(s)://…), not a local reference",
)


class LocalRefs:
    """The contained resources of one resource and the ``#id`` references made to them."""

    __slots__ = ("contained", "current", "refer_back", "referenced")

    def __init__(self, contained: dict[str, str] | None = None) -> None:
        self.contained = contained or {}  # id → location
        self.referenced: set[str] = set()
        self.refer_back: set[str] = set()  # contained ids that refer to their container ('#')
        self.current: str | None = None  # the contained resource being walked

    @classmethod
    def of(cls, resource: Mapping[str, Any], path: str) -> LocalRefs:
        contained = resource.get("contained")
        ids: dict[str, str] = {}
        if type(contained) is list:
            for n, c in enumerate(contained):
                if type(c) is dict and type(c.get("id")) is str:
                    ids.setdefault(c["id"], f"{path}.contained[{n}]")
        return cls(ids)

    def note(self, target: str) -> None:
        """Record a ``#target`` reference (``#`` alone refers to the container)."""
        if target:
            self.referenced.add(target)
        elif self.current is not None:
            self.refer_back.add(self.current)


_Check = Callable[[Mapping[str, Any], str, LocalRefs, list[Issue]], None]

# ---------------------------------------------------------------------------------------
# per-1: FHIRPath compares date/times component by component down to the coarser
# precision; equal that far with different precisions is "unknown", which fails the rule.

_DATE_TIME = re.compile(r"(\d{4})(?:-(\d\d)(?:-(\d\d)(?:T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?)?)?)?")


def _moment(value: Any) -> tuple[tuple[int, ...], dt.datetime | None] | None:
    """(date components, the instant when a time with a timezone is given) of a FHIR dateTime."""
    m = _DATE_TIME.fullmatch(value) if type(value) is str else None
    if m is None:
        return None
    parts = tuple(int(p) for p in m.groups()[:3] if p)
    if m[4] is None or m[8] is None:
        return parts, None
    try:
        tz = dt.UTC if m[8] == "Z" else dt.datetime.strptime(m[8].replace(":", ""), "%z").tzinfo
        micro = int((m[7] or "0")[:6].ljust(6, "0"))
        moment = dt.datetime(*parts, int(m[4]), int(m[5]), min(int(m[6]), 59), micro, tzinfo=tz)  # type: ignore[misc]
    except ValueError:
        return None  # FHIR-VALUE reports the impossible date
    return parts, moment


def _start_after_end(start: Any, end: Any) -> bool | None:
    """True if start > end or cannot be ordered (per FHIRPath); None if either is unreadable."""
    a, b = _moment(start), _moment(end)
    if a is None or b is None:
        return None
    if a[1] is not None and b[1] is not None:
        return a[1] > b[1]
    n = min(len(a[0]), len(b[0]))
    if a[0][:n] != b[0][:n]:
        return a[0][:n] > b[0][:n]
    return len(a[0]) != len(b[0]) or (a[1] is None) != (b[1] is None)


def _period(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    start, end = obj.get("start"), obj.get("end")
    if start is not None and end is not None and _start_after_end(start, end):
        out.append(PER_1.issue(path, f"per-1: the period's start ({start}) is not before or at its end ({end})"))


def _extension(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    has_value = any(k.startswith(("value", "_value")) for k in obj)
    if has_value == ("extension" in obj):
        what = "both extensions and a value" if has_value else "neither extensions nor a value"
        out.append(EXT_1.issue(path, f"ext-1: the extension {obj.get('url')!r} has {what}"))


def _reference(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    ref = obj.get("reference")
    if type(ref) is not str or not ref.startswith("#"):
        return
    refs.note(ref[1:])
    if len(ref) > 1 and ref[1:] not in refs.contained:
        out.append(REF_1.issue(f"{path}.reference", f"ref-1: {ref!r} names no contained resource of this resource"))


def _attachment(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    data = obj.get("data")
    if type(data) is not str:
        return
    if "contentType" not in obj:
        out.append(ATT_1.issue(path, "att-1: the attachment has data but no contentType"))
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return  # FHIR-VALUE reports it
    size = obj.get("size")
    if type(size) is int and size != len(raw):
        out.append(ATTACHMENT.issue(f"{path}.size", f"the stated size {size} is not the data's size {len(raw)}"))
    digest = obj.get("hash")
    if type(digest) is str and digest != base64.b64encode(hashlib.sha1(raw).digest()).decode():
        out.append(ATTACHMENT.issue(f"{path}.hash", "the stated hash is not the SHA-1 hash of the data"))


def system_absolute(obj: Mapping[str, Any], path: str, what: str, out: list[Issue]) -> None:
    """FHIR-SYSTEM-ABSOLUTE for the ``system`` of a Coding or an Identifier."""
    system = obj.get("system")
    if type(system) is str and system and ":" not in system:
        msg = f"{what}.system must be an absolute URI, not the local reference {system!r}"
        out.append(SYSTEM_ABSOLUTE.issue(f"{path}.system", msg, "use the system's canonical URL"))


def _coding(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    system_absolute(obj, path, "Coding", out)


def _risk_assessment(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    predictions = obj.get("prediction")
    for n, p in enumerate(predictions if type(predictions) is list else ()):
        prob = p.get("probabilityDecimal") if type(p) is dict else None
        if type(prob) in (int, float) and prob > 100:
            where = f"{path}.prediction[{n}].probabilityDecimal"
            out.append(RAS_2.issue(where, f"ras-2: a probability of {prob} is more than 100"))


DATATYPE_CHECKS: dict[str, _Check] = {
    "Period": _period,
    "Extension": _extension,
    "Reference": _reference,
    "Attachment": _attachment,
    "Coding": _coding,
}
RESOURCE_CHECKS: dict[str, _Check] = {"RiskAssessment": _risk_assessment}


def contained_resource(resource: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    """dom-2, dom-4, dom-5 for one contained resource; it becomes ``refs.current``."""
    rid = resource.get("id")
    refs.current = rid if type(rid) is str else None
    if refs.current is None:
        msg = "dom-3: the contained resource has no id, so nothing can reference it"
        out.append(DOM_3.issue(path, msg, "give it an id and reference it as #id"))
    if "contained" in resource:
        out.append(DOM_2.issue(f"{path}.contained", "dom-2: a contained resource cannot contain resources"))
    meta = resource.get("meta")
    if type(meta) is dict:
        if "versionId" in meta or "lastUpdated" in meta:
            out.append(DOM_4.issue(f"{path}.meta", "dom-4: a contained resource has no versionId or lastUpdated"))
        if "security" in meta:
            out.append(DOM_5.issue(f"{path}.meta.security", "dom-5: a contained resource has no security labels"))


def local_references(refs: LocalRefs, out: list[Issue]) -> None:
    """dom-3, once a resource's walk is over: every contained resource is referenced."""
    for rid, where in refs.contained.items():
        if rid not in refs.referenced and rid not in refs.refer_back:
            msg = f"dom-3: the contained resource {rid!r} is not referenced from the rest of the resource"
            out.append(DOM_3.issue(where, msg, f'reference it as "#{rid}", or leave it out'))

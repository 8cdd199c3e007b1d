"""FHIR health advice ⇄ EHCP: advice Bundle → sections C and G; whole plan → document Bundle.

Flow position: validate → **adapt**.  ``advice_to_ehcp_sections`` reads a validated
health-advice document Bundle (profile: ``schemas/health-advice/README.md``) and returns
EHCP sections C (health needs, from Conditions) and G (health provision, from
ServiceRequests, directly or via a CarePlan's activities, or from CarePlan activity
details), each item keeping a ``source`` pointer back to the FHIR resource it came from.
``ehcp_to_bundle`` writes a whole plan as a FHIR R4 document Bundle that the sendx FHIR
rules accept and fhir.resources R4B parses.

Both work on plain dicts: fhir.resources normalises values (decimals, dateTimes), so its
``model_dump`` output is never what gets signed or hashed.  Nothing is dropped silently:
an item that cannot be converted raises ``InputError`` naming it.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections.abc import Mapping
from typing import Any

from sendx.adapters.plan import require_plan
from sendx.validators.errors import InputError
from sendx.validators.fhir import (
    DURATION_TEXT_EXT,
    EHCP_SECTION_SYSTEM,
    KIND,
    LA_CODE_SYSTEM,
    NHS_NUMBER_SYSTEM,
    BundleIndex,
    ehcp_section_codes,
    validate_bundle,
)
from sendx.validators.identifiers import is_valid_nhs_number
from sendx.validators.report import Report
from sendx.validators.rules import Context
from sendx.validators.wording import plural

__all__ = [
    "GROUP_SIZE_EXT",
    "ITEM_SYSTEM",
    "OUTCOME_EXT",
    "advice_to_ehcp_sections",
    "duration_text",
    "ehcp_to_bundle",
    "frequency_text",
]

#: Identifier system carrying an EHCP item id (``c1``, ``g2``) on a Condition/ServiceRequest.
ITEM_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/ehcp-item"
GROUP_SIZE_EXT = "https://schemas.sendx.org.uk/fhir/StructureDefinition/provision-group-size"
OUTCOME_EXT = "https://schemas.sendx.org.uk/fhir/StructureDefinition/provision-outcome"
PLAN_ID_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/ehcp-plan"
UPN_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/upn"
ULN_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/uln"
_UCUM = "http://unitsofmeasure.org"
_XHTML = "http://www.w3.org/1999/xhtml"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_NS = uuid.UUID("0b7f3c2e-8d5a-5c1e-9f61-5e6e1d2a7c40")

# ---------------------------------------------------------------------------------------
# Timing → the words an EHCP uses

_UNIT_WORDS = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}
_PER_ONE = {"d": "a day", "wk": "each week", "mo": "a month", "a": "a year", "h": "an hour"}


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def frequency_text(timing: Mapping[str, Any]) -> str | None:
    """How often, in words, from a FHIR Timing: its ``code.text``, else its ``repeat``."""
    code = timing.get("code")
    if isinstance(code, Mapping) and isinstance(code.get("text"), str) and code["text"].strip():
        return code["text"]
    rep = timing.get("repeat")
    if not isinstance(rep, Mapping) or not rep.get("frequency") or not rep.get("period"):
        return None
    unit = rep.get("periodUnit")
    sessions = plural(rep["frequency"], "session")
    if rep.get("duration") and rep.get("durationUnit") in _UNIT_WORDS:
        sessions += f" of {plural(rep['duration'], _UNIT_WORDS[rep['durationUnit']])}"
    if rep["period"] == 1 and unit in _PER_ONE:
        return f"{sessions} {_PER_ONE[unit]}"
    return f"{sessions} every {plural(rep['period'], _UNIT_WORDS.get(unit, str(unit)))}"


def duration_text(resource: Mapping[str, Any], timing: Mapping[str, Any]) -> str | None:
    """How long, in words: the sendx duration extension, else the Timing's bounds or count."""
    for ext in _dicts(resource.get("extension")):
        if ext.get("url") == DURATION_TEXT_EXT and isinstance(ext.get("valueString"), str):
            return ext["valueString"]
    rep = timing.get("repeat") if isinstance(timing.get("repeat"), Mapping) else {}
    bd = rep.get("boundsDuration")
    if isinstance(bd, Mapping) and bd.get("value") is not None:
        unit = bd.get("unit") or _UNIT_WORDS.get(bd.get("code"), bd.get("code", ""))
        return f"{_num(bd['value'])} {unit}".strip()
    bp = rep.get("boundsPeriod")
    if isinstance(bp, Mapping) and (bp.get("start") or bp.get("end")):
        start, end = bp.get("start"), bp.get("end")
        if start and end:
            return f"from {start} to {end}"
        return f"from {start}" if start else f"until {end}"
    if rep.get("count"):
        return f"{plural(rep['count'], 'session')} in total"
    return None


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _concept_text(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("text"), str) and value["text"].strip():
        return value["text"]
    for coding in _dicts(value.get("coding")):
        if isinstance(coding.get("display"), str):
            return coding["display"]
    return None


# ---------------------------------------------------------------------------------------
# Advice Bundle → EHCP sections C and G


def _source(url: str | None, res: Mapping[str, Any], path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"fullUrl": url, "resourceType": res.get("resourceType"), "id": res.get("id")}
    if path:
        out["path"] = path
    return {k: v for k, v in out.items() if v is not None}


def _item_id(res: Mapping[str, Any], fallback: str, taken: set[str]) -> str:
    candidates = [i.get("value") for i in _dicts(res.get("identifier")) if i.get("system") == ITEM_SYSTEM]
    candidates.append(res.get("id"))
    chosen = next((c for c in candidates if isinstance(c, str) and _ID_RE.match(c)), fallback)
    base, n = chosen, 2
    while chosen in taken:  # ids are unique in a plan; never merge two items into one
        chosen, n = f"{base}-{n}", n + 1
    taken.add(chosen)
    return chosen


def _sections_by_code(idx: BundleIndex) -> dict[str, list[Mapping[str, Any]]]:
    comp = idx.composition()
    out: dict[str, list[Mapping[str, Any]]] = {}
    stack = list(_dicts(comp[2].get("section"))) if comp else []
    while stack:
        sec = stack.pop(0)
        stack.extend(_dicts(sec.get("section")))
        code = sec.get("code") if isinstance(sec.get("code"), Mapping) else {}
        for coding in _dicts(code.get("coding")):
            if coding.get("system") == EHCP_SECTION_SYSTEM:
                out.setdefault(coding.get("code"), []).append(sec)
    return out


def advice_to_ehcp_sections(bundle: Mapping[str, Any], *, context: Context | None = None) -> dict[str, Any]:
    """EHCP sections ``{"C": {"needs": [...]}, "G": {"provision": [...]}}`` from health advice.

    The Bundle is validated first (``InputError`` if it has errors).  Needs come from the
    Conditions in section C (plus any Condition a provision item names); provision from
    section G's ServiceRequests, CarePlan activities that reference ServiceRequests, or
    CarePlan activity details.  Every item carries ``source`` pointing at its resource.
    """
    if not isinstance(bundle, Mapping):
        raise InputError("health advice must be a FHIR Bundle (a JSON object)")
    report = Report.collect(KIND, validate_bundle(bundle, context or Context()))
    if not report.valid:
        first = report.errors[0]
        raise InputError(
            f"the health advice is not valid ({plural(len(report.errors), 'error')}); "
            f"first: {first.rule}: {first.message}",
            where=first.location,
            hint="run `sendx validate` on it to see every issue",
        )
    idx = BundleIndex.build(bundle)
    comp = idx.composition()
    assert comp is not None  # guaranteed by FHIR-COMPOSITION-FIRST passing
    urls = {i: url for i, url, _ in idx.entries}
    sections = _sections_by_code(idx)

    # Ids are unique within a section; C and G have their own namespaces (as in a plan).
    taken: set[str] = set()
    taken_g: set[str] = set()
    needs: list[dict[str, Any]] = []
    need_of: dict[int, str] = {}

    def add_need(i: int) -> str:
        if i in need_of:
            return need_of[i]
        res = idx.resource(i)
        text = _concept_text(res.get("code")) or next(
            (n["text"] for n in _dicts(res.get("note")) if isinstance(n.get("text"), str)), None
        )
        if not text:
            raise InputError(
                "a health need (Condition) has no description (code.text, coding display or note)",
                where=f"Bundle.entry[{i}].resource.code",
            )
        nid = _item_id(res, f"c{len(needs) + 1}", taken)
        needs.append({"id": nid, "description": text, "source": _source(urls[i], res)})
        need_of[i] = nid
        return nid

    for sec in sections.get("C", []):
        for ref in _dicts(sec.get("entry")):
            hit = idx.target(ref, comp[1])
            if hit and hit[1].get("resourceType") == "Condition":
                add_need(hit[0])

    provision: list[dict[str, Any]] = []

    def add_provision(i: int, item: Mapping[str, Any], path: str | None, fallback_who: str | None) -> None:
        res = idx.resource(i)
        timing = item.get("occurrenceTiming") or item.get("scheduledTiming") or {}
        where = f"Bundle.entry[{i}].resource" + (f".{path}" if path else "")
        what = _concept_text(item.get("code"))
        if path:  # CarePlan.activity.detail: description is the free text
            what = item.get("description") or what
        who = _concept_text(item.get("performerType")) or next(
            (p["display"] for p in _dicts(item.get("performer")) if isinstance(p.get("display"), str)), fallback_who
        )
        reasons = [idx.target(r, urls[i]) for r in _dicts(item.get("reasonReference"))]
        need_ids = [add_need(h[0]) for h in reasons if h and h[1].get("resourceType") == "Condition"]
        fields = {
            "description": what,
            "deliveredBy": who,
            "frequency": frequency_text(timing) if isinstance(timing, Mapping) else None,
            "duration": duration_text(item, timing) if isinstance(timing, Mapping) else None,
        }
        missing = [k for k, v in fields.items() if not v] + ([] if need_ids else ["needs"])
        if missing:
            raise InputError(f"a provision item cannot be converted: no {', '.join(missing)}", where=where)
        fallback = f"g{len(provision) + 1}"
        pid = _item_id({} if path else item, fallback, taken_g)
        out: dict[str, Any] = {"id": pid, "needs": list(dict.fromkeys(need_ids)), **fields}
        extras = _dicts(item.get("extension"))
        if group := next((x.get("valueString") for x in extras if x.get("url") == GROUP_SIZE_EXT), None):
            out["groupSize"] = group
        if outcomes := [x["valueString"] for x in extras if x.get("url") == OUTCOME_EXT and x.get("valueString")]:
            out["outcomes"] = outcomes
        out["source"] = _source(urls[i], res, path)
        provision.append(out)

    def performer_name(res: Mapping[str, Any]) -> str | None:
        author = idx.target(res.get("author"), None)
        return _concept_text(next(iter(_dicts(author[1].get("code"))), None)) if author else None

    seen_sr: set[int] = set()
    for sec in sections.get("G", []):
        for ref in _dicts(sec.get("entry")):
            hit = idx.target(ref, comp[1])
            if hit is None:
                continue
            i, res = hit
            if res.get("resourceType") == "ServiceRequest" and i not in seen_sr:
                seen_sr.add(i)
                add_provision(i, res, None, None)
            elif res.get("resourceType") == "CarePlan":
                for n, act in enumerate(_dicts(res.get("activity"))):
                    sr = idx.target(act.get("reference"), urls[i])
                    if sr and sr[1].get("resourceType") == "ServiceRequest":
                        if sr[0] not in seen_sr:
                            seen_sr.add(sr[0])
                            add_provision(sr[0], sr[1], None, None)
                    elif isinstance(act.get("detail"), Mapping):
                        add_provision(i, act["detail"], f"activity[{n}].detail", performer_name(res))
                    else:
                        raise InputError(
                            "a CarePlan activity is neither a ServiceRequest reference nor a detail",
                            where=f"Bundle.entry[{i}].resource.activity[{n}]",
                        )
    return {"C": {"needs": needs}, "G": {"provision": provision}}


# ---------------------------------------------------------------------------------------
# EHCP plan → FHIR document Bundle


def _urn(plan_id: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{plan_id}/{key}')}"


def _narrative(value: Any) -> dict[str, str]:
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}">{_html(value)}</div>'}


def _html(value: Any) -> str:
    """A readable XHTML rendering of a section's JSON (the section travels as narrative)."""
    if isinstance(value, Mapping):
        items = "".join(f"<li><b>{html.escape(str(k))}</b>: {_html(v)}</li>" for k, v in value.items())
        return f"<ul>{items}</ul>" if items else "<p>(none)</p>"
    if isinstance(value, list):
        items = "".join(f"<li>{_html(v)}</li>" for v in value)
        return f"<ul>{items}</ul>" if items else "<p>(none)</p>"
    return html.escape("" if value is None else str(value))


_STATUS = {"draft": "preliminary", "final": "final", "amended": "amended", "ceased": "final"}


def ehcp_to_bundle(plan: Mapping[str, Any], *, timestamp: str | None = None) -> dict[str, Any]:
    """A FHIR R4 document Bundle for a whole EHC plan.

    Composition first (one section per EHCP section, coded with the sendx EHCP section
    system and carrying a narrative), the child as a Patient with their NHS number, the
    LA as author Organization (DfE LA number), Conditions for section C, a CarePlan whose
    activities reference one ServiceRequest per section G provision item.  Ids are UUIDv5
    from the plan id, so the same plan always gives the same Bundle (bar ``timestamp``).
    """
    require_plan(plan)
    plan_id = str(plan["planId"])
    child, sections, la = plan["child"], plan["sections"], plan["la"]
    nhs = child.get("nhsNumber")
    if not is_valid_nhs_number(nhs):
        raise InputError(
            "the plan's child has no valid NHS number; a FHIR health document must carry one",
            where="/child/nhsNumber",
        )
    nhs = str(nhs).replace(" ", "")
    u = lambda key: _urn(plan_id, key)  # noqa: E731
    pid = lambda key: u(key).removeprefix("urn:uuid:")  # noqa: E731
    dates = plan.get("timeline", {})
    issued = dates.get("finalIssuedDate") or dates.get("draftIssuedDate") or dates.get("requestDate")
    timestamp = timestamp or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    patient_ref = {"reference": u("patient"), "display": f"{child.get('givenName', '')} {child.get('familyName', '')}"}

    idents = [{"system": NHS_NUMBER_SYSTEM, "value": nhs}]
    idents += [{"system": s, "value": child[k]} for k, s in (("upn", UPN_SYSTEM), ("uln", ULN_SYSTEM)) if child.get(k)]
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid("patient"),
        "identifier": idents,
        "name": [{"use": "official", "family": child.get("familyName"), "given": [child.get("givenName")]}],
        "birthDate": child.get("dateOfBirth"),
    }
    org = {
        "resourceType": "Organization",
        "id": pid("la"),
        "identifier": [{"system": LA_CODE_SYSTEM, "value": str(la.get("code"))}],
        "name": la.get("name") or f"Local authority {la.get('code')}",
    }
    entries: list[tuple[str, dict[str, Any]]] = [(u("patient"), patient), (u("la"), org)]

    cond_url: dict[str, str] = {}
    for need in (sections.get("C") or {}).get("needs", []):
        url = u(f"need/{need['id']}")
        cond_url[need["id"]] = url
        entries.append(
            (
                url,
                {
                    "resourceType": "Condition",
                    "id": url.removeprefix("urn:uuid:"),
                    "identifier": [{"system": ITEM_SYSTEM, "value": need["id"]}],
                    "clinicalStatus": {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                        ]
                    },
                    "code": {"text": need["description"]},
                    "subject": patient_ref,
                },
            )
        )
    activities = []
    for item in (sections.get("G") or {}).get("provision", []):
        unknown = [n for n in item.get("needs", []) if n not in cond_url]
        if unknown:
            raise InputError(
                f"provision {item.get('id')!r} meets needs {unknown} that are not in section C",
                where="/sections/G/provision",
            )
        url = u(f"provision/{item['id']}")
        ext = [{"url": DURATION_TEXT_EXT, "valueString": item["duration"]}]
        if item.get("groupSize"):
            ext.append({"url": GROUP_SIZE_EXT, "valueString": item["groupSize"]})
        ext += [{"url": OUTCOME_EXT, "valueString": o} for o in item.get("outcomes", [])]
        entries.append(
            (
                url,
                {
                    "resourceType": "ServiceRequest",
                    "id": url.removeprefix("urn:uuid:"),
                    "extension": ext,
                    "identifier": [{"system": ITEM_SYSTEM, "value": item["id"]}],
                    "status": "active",
                    "intent": "plan",
                    "code": {"text": item["description"]},
                    "subject": patient_ref,
                    "occurrenceTiming": {"code": {"text": item["frequency"]}},
                    "performerType": {"text": item["deliveredBy"]},
                    "reasonReference": [{"reference": cond_url[n]} for n in item["needs"]],
                },
            )
        )
        activities.append({"reference": {"reference": url}})
    careplan = None
    if activities:
        careplan = {
            "resourceType": "CarePlan",
            "id": pid("careplan"),
            "status": "active",
            "intent": "plan",
            "title": "Health provision (EHCP section G)",
            "subject": patient_ref,
            "addresses": [{"reference": url} for url in cond_url.values()],
            "activity": activities,
        }
        entries.append((u("careplan"), careplan))

    names = ehcp_section_codes()
    comp_sections = []
    for code, display in names.items():
        if code not in sections:
            continue
        sec: dict[str, Any] = {
            "title": display,
            "code": {"coding": [{"system": EHCP_SECTION_SYSTEM, "code": code, "display": display}]},
            "text": _narrative(sections[code]),
        }
        if code == "C" and cond_url:
            sec["entry"] = [{"reference": url} for url in cond_url.values()]
        elif code == "G" and careplan is not None:
            sec["entry"] = [{"reference": u("careplan")}]
        comp_sections.append(sec)
    composition = {
        "resourceType": "Composition",
        "id": pid("composition"),
        "identifier": {"system": PLAN_ID_SYSTEM, "value": plan_id},
        "status": _STATUS.get(plan.get("status"), "preliminary"),
        "type": {"text": "Education, health and care plan"},
        "subject": patient_ref,
        "date": issued or timestamp,
        "author": [{"reference": u("la"), "display": org["name"]}],
        "title": f"Education, health and care plan {plan_id}",
        "custodian": {"reference": u("la")},
        "section": comp_sections,
    }
    entries.insert(0, (u("composition"), composition))
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": u("bundle")},
        "type": "document",
        "timestamp": timestamp,
        "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
    }

"""CTF XML ⇄ pupil-record JSON, CTF → pupil movement events, and a CTF → one file per pupil.

Sits at *adapt* in the flow (bytes → parse → validate → adapt → sign → exchange).  The
JSON shape is documented in ``schemas/ctf/pupil-json.md`` and checked by ``schemas/pupil-json/``
(a document kind of its own).  The mapping is table driven (``_MODELS``: element → fields) and
lossless by construction: an element is given its friendly JSON form only when that form can
say everything about it; anything else (unknown elements, attributes, repeated singletons) is
kept as a generic element in ``_other``, and ``_order`` records the document order whenever
it differs from the default.  CTF → JSON → CTF therefore reproduces the same canonical XML (C14N, ignoring
indentation and comments).  Input is parsed with the hardened ``validators.xml`` and
streamed pupil by pupil.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from sendx import schemas
from sendx.validators import xml as safe_xml
from sendx.validators.errors import InputError

__all__ = [
    "PUPILS_SCHEMA_ID",
    "ctf_to_movements",
    "ctf_to_pupils",
    "generic_element",
    "iter_ctf_pupils",
    "pupils_to_ctf",
    "split_ctf",
]

PUPILS_SCHEMA_ID = schemas.schema_id("pupil-json")
#: Most attributes one element may carry.  CTF elements carry none, and lxml reads and
#: writes an element's attributes in time quadratic in their number (40,000 took minutes).
MAX_ATTRIBUTES = 100
MOVEMENT_SCHEMA_ID = "https://schemas.sendx.org.uk/movement/v1"


@dataclass(frozen=True, slots=True)
class _Field:
    """One modelled child: its XML name, JSON key, and how its value is shaped.

    ``model`` names a nested model (an object); ``item`` makes the child a wrapper whose
    children (all named ``item``) become a JSON list of ``model`` objects; ``many``
    allows the child to repeat (a JSON list).  Neither: the child is text.
    """

    xml: str
    key: str
    model: str | None = None
    item: str | None = None
    many: bool = False


def _text_fields(*pairs: str) -> list[_Field]:
    return [_Field(x, k) for x, k in (p.split(":") for p in pairs)]


_MODELS: dict[str, list[_Field]] = {
    "CTfile": [_Field("Header", "header", "Header"), _Field("CTFpupilData", "pupils", "Pupil", item="Pupil")],
    "Header": [
        *_text_fields(
            "DocumentName:documentName",
            "CTFversion:ctfVersion",
            "DateTime:dateTime",
            "DocumentQualifier:documentQualifier",
            "DataDescriptor:dataDescriptor",
            "SupplierID:supplierId",
        ),
        _Field("SourceSchool", "source", "School"),
        _Field("DestSchool", "destination", "School"),
    ],
    "School": _text_fields("LEA:la", "Estab:estab", "URN:urn", "SchoolName:schoolName", "AcademicYear:academicYear"),
    "Pupil": [
        *_text_fields(
            "UPN:upn",
            "UniqueLearnerNumber:uln",
            "Surname:surname",
            "Forename:forename",
            "DOB:dob",
            "Sex:sex",
            "Gender:gender",
        ),
        _Field("BasicDetails", "basicDetails", "BasicDetails"),
        _Field("LookedAfter", "lookedAfter", "LookedAfter"),
        _Field("FSMhistory", "fsmHistory", "FSMhistory"),
        _Field("SENhistory", "senHistory", "SENhistory"),
        _Field("Address", "address", "Address"),
        _Field("Contacts", "contacts", "Contact", item="Contact"),
        _Field("Attendance", "attendance", "YearData", item="YearData"),
        _Field("StageAssessments", "stageAssessments", "KeyStage", item="KeyStage"),
        _Field("SchoolHistory", "schoolHistory", "SchoolHistoryEntry", item="School"),
    ],
    "BasicDetails": _text_fields(
        "FormerUPN:formerUpn",
        "PreferredSurname:preferredSurname",
        "PreferredForename:preferredForename",
        "FormerSurname:formerSurname",
        "FormerForename:formerForename",
        "MiddleNames:middleNames",
        "NCyearActual:ncYearActual",
        "Ethnicity:ethnicity",
        "EthnicitySource:ethnicitySource",
        "MedicalFlag:medicalFlag",
        "EnrolStatus:enrolStatus",
    ),
    "LookedAfter": _text_fields("InCare:inCare", "CareAuthority:careAuthority"),
    "FSMhistory": [
        _Field("FSMreviewDate", "reviewDate"),
        _Field("FSMinstance", "instances", "FSMinstance", many=True),
    ],
    "FSMinstance": _text_fields("FSMstartDate:startDate", "FSMendDate:endDate", "UKcountry:ukCountry"),
    "SENhistory": [
        _Field("SEN", "sen", "SEN", many=True),
        _Field("SENneeds", "needs", "SENneed", item="SENneed"),
    ],
    "SEN": _text_fields("StartDate:startDate", "SENprovision:provision", "EndDate:endDate"),
    "SENneed": _text_fields("SENtype:type", "SENtypeRank:rank"),
    "Address": [_Field("BS7666Address", "bs7666", "BS7666Address"), _Field("Postcode", "postcode")],
    "BS7666Address": _text_fields(
        "SAON:saon",
        "PAON:paon",
        "Street:street",
        "Locality:locality",
        "Town:town",
        "AdministrativeArea:administrativeArea",
        "PostTown:postTown",
    ),
    "Contact": _text_fields(
        "Order:order",
        "Title:title",
        "Surname:surname",
        "Forename:forename",
        "Relationship:relationship",
        "Responsibility:responsibility",
        "Email:email",
    ),
    "YearData": _text_fields(
        "Year:year",
        "SessionsPossible:sessionsPossible",
        "SessionsAuthorised:sessionsAuthorised",
        "SessionsUnauthorised:sessionsUnauthorised",
    ),
    "KeyStage": [_Field("Stage", "stage"), _Field("StageAssessment", "assessments", "StageAssessment", many=True)],
    "StageAssessment": _text_fields(
        "Locale:locale",
        "Year:year",
        "Subject:subject",
        "Method:method",
        "Component:component",
        "ResultStatus:resultStatus",
        "ResultQualifier:resultQualifier",
        "Result:result",
    ),
    "SchoolHistoryEntry": _text_fields(
        "LEA:la", "Estab:estab", "URN:urn", "SchoolName:schoolName", "EntryDate:entryDate", "LeavingDate:leavingDate"
    ),
}
_OTHER, _ORDER = "_other", "_order"  # reserved keys; no model key starts with "_"
_BY_XML = {m: {f.xml: f for f in fields} for m, fields in _MODELS.items()}
_BY_KEY = {m: {f.key: f for f in fields} for m, fields in _MODELS.items()}


# --------------------------------------------------------------------------- XML → JSON


def _blank(s: str | None) -> bool:
    return s is None or not s.strip()


def _plain(elem: Any) -> bool:
    """No attributes and no text outside children: nothing a JSON object could not hold."""
    return not elem.attrib and _blank(elem.tail) and (len(elem) == 0 or _blank(elem.text))


def _fits(elem: Any, f: _Field) -> bool:
    if not _plain(elem):
        return False
    if f.model is None:
        return len(elem) == 0
    if f.item is not None:
        return _blank(elem.text) and all(isinstance(c.tag, str) and c.tag == f.item and _fits_model(c) for c in elem)
    return _blank(elem.text) and _fits_model(elem)


def _fits_model(elem: Any) -> bool:
    return not elem.attrib and _blank(elem.tail) and _blank(elem.text)


def generic_element(elem: Any) -> dict[str, Any]:
    """Any element as JSON: ``{"element", "attributes"?, "text"?, "children"?, "tail"?}``.

    Whitespace-only text and tails are indentation, not data, and are dropped.
    """
    out: dict[str, Any] = {"element": elem.tag}
    if elem.attrib:
        if len(elem.attrib) > MAX_ATTRIBUTES:
            raise _too_many_attributes(elem.tag, len(elem.attrib), None)
        out["attributes"] = dict(elem.attrib)
    if elem.text is not None and (len(elem) == 0 or not _blank(elem.text)):
        out["text"] = elem.text
    children = [generic_element(c) for c in elem if isinstance(c.tag, str)]
    if children:
        out["children"] = children
    if not _blank(elem.tail):
        out["tail"] = elem.tail
    return out


def _to_json(elem: Any, model: str) -> dict[str, Any]:
    fields = _BY_XML[model]
    out: dict[str, Any] = {}
    order: list[str] = []
    other: list[dict[str, Any]] = []
    for child in elem:
        if not isinstance(child.tag, str):
            continue  # only elements carry CTF data (the parser drops comments and refuses PIs in elements)
        f = fields.get(child.tag)
        if f is not None and (f.many or f.key not in out) and _fits(child, f):
            value = _value(child, f)
            if f.many:
                out.setdefault(f.key, []).append(value)
            else:
                out[f.key] = value
            order.append(child.tag)
        else:
            other.append(generic_element(child))
            order.append("*")
    if other:
        out[_OTHER] = other
    if order != _default_order(out, model):
        out[_ORDER] = order
    return out


def _value(child: Any, f: _Field) -> Any:
    if f.model is None:
        return child.text or ""
    if f.item is not None:
        return [_to_json(c, f.model) for c in child]
    return _to_json(child, f.model)


def _default_order(data: Mapping[str, Any], model: str) -> list[str]:
    order: list[str] = []
    for f in _MODELS[model]:
        if f.key in data:
            value = data[f.key]
            # Anything but a list in a repeated field is placed once; building it then says what is wrong.
            order.extend([f.xml] * (len(value) if f.many and isinstance(value, list) else 1))
    return order + ["*"] * len(data.get(_OTHER, ()))


def iter_ctf_pupils(source: bytes | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Stream a CTF as ``("header", {...})`` then ``("pupil", {...})`` per pupil, then ``("root", {...})``.

    The final ``root`` item is the ``CTfile`` object without its pupils (it carries the
    header, and any unknown top-level elements and their order).
    """
    depth = 0
    root = None
    for event, elem in safe_xml.iterparse(source, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth == 1:
                if elem.tag != "CTfile":
                    raise InputError(f"the root element is <{elem.tag}>, not <CTfile>", where=f"/{elem.tag}")
                root = elem
            continue
        depth -= 1
        if depth == 1 and elem.tag == "Header" and _fits(elem, _BY_XML["CTfile"]["Header"]):
            yield "header", _to_json(elem, "Header")
        elif depth == 2 and elem.getparent().tag == "CTFpupilData" and elem.getparent().getparent() is root:
            if elem.tag != "Pupil" or not _fits_model(elem):
                raise InputError(
                    f"<{elem.tag}> in <CTFpupilData> cannot be converted losslessly",
                    where="/CTfile/CTFpupilData",
                    hint="CTFpupilData holds only <Pupil> elements",
                )
            yield "pupil", _to_json(elem, "Pupil")
            # Free the pupil and those before it (the parser may already have started the next).
            elem.clear()
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]
    if root is None:
        raise InputError("the document has no root element")
    # Pupil JSON has no place for text or attributes of <CTfile> or <CTFpupilData>, nor for a
    # second <CTFpupilData> (its pupils would join the first): refuse them, never drop them.
    if not _fits_model(root):
        raise InputError("<CTfile> with attributes or text of its own cannot be converted losslessly", where="/CTfile")
    blocks = root.findall("CTFpupilData")
    if len(blocks) > 1:
        raise InputError("a CTF with two <CTFpupilData> cannot be converted losslessly", where="/CTfile/CTFpupilData")
    for pupil_data in blocks:
        if pupil_data.attrib or not _blank(pupil_data.text) or not _blank(pupil_data.tail):
            raise InputError(
                "<CTFpupilData> with attributes or text cannot be converted losslessly", where="/CTfile/CTFpupilData"
            )
        pupil_data.clear()
        pupil_data.tail = None
    yield "root", _to_json(root, "CTfile")


def ctf_to_pupils(source: bytes | Path) -> dict[str, Any]:
    """A whole CTF as pupil-record JSON (see ``schemas/ctf/pupil-json.md``)."""
    pupils: list[dict[str, Any]] = []
    root: dict[str, Any] = {}
    for what, data in iter_ctf_pupils(source):
        if what == "pupil":
            pupils.append(data)
        elif what == "root":
            root = data
    out: dict[str, Any] = {"$schema": PUPILS_SCHEMA_ID}
    for key, value in root.items():
        out[key] = pupils if key == "pupils" else value
    return out


# --------------------------------------------------------------------------- JSON → XML


def _too_many_attributes(tag: str, n: int, where: str | None) -> InputError:
    return InputError(
        f"<{tag}> has {n:,} attributes, more than the {MAX_ATTRIBUTES} sendx converts",
        where=where,
        hint="CTF elements carry no attributes; this file was not written by a school MIS",
    )


def _set_text(elem: Any, attr: str, value: Any, where: str) -> None:
    """Set ``elem.text`` or ``elem.tail``, refusing what XML cannot hold with a clear error."""
    if value is not None and not isinstance(value, str):
        raise InputError(f'"{attr}" must be a string', where=where)
    try:
        setattr(elem, attr, value)
    except ValueError as exc:  # lxml refuses NUL, most control characters and lone surrogates
        raise InputError(f"text that XML cannot hold: {exc}", where=where) from None


def _from_generic(data: Any, where: str) -> Any:
    if not isinstance(data, Mapping) or not isinstance(data.get("element"), str):
        raise InputError('a generic element must be an object with an "element" name', where=where)
    attributes = data.get("attributes", {})
    if not isinstance(attributes, Mapping):
        raise InputError('"attributes" must be an object of names and values', where=f"{where}/attributes")
    if len(attributes) > MAX_ATTRIBUTES:
        raise _too_many_attributes(data["element"], len(attributes), f"{where}/attributes")
    children = data.get("children", [])
    if not isinstance(children, list):
        raise InputError('"children" must be a list of generic elements', where=f"{where}/children")
    try:
        elem = etree.Element(data["element"], {str(k): str(v) for k, v in attributes.items()})
    except ValueError as exc:
        raise InputError(f"invalid element or attribute name: {exc}", where=where) from None
    _set_text(elem, "text", data.get("text"), f"{where}/text")
    for i, child in enumerate(children):
        elem.append(_from_generic(child, f"{where}/children/{i}"))
    _set_text(elem, "tail", data.get("tail"), f"{where}/tail")
    return elem


def _from_json(data: Any, model: str, tag: str, where: str) -> Any:
    if not isinstance(data, Mapping):
        raise InputError(f"expected an object for <{tag}>", where=where)
    elem = etree.Element(tag)
    by_key = _BY_KEY[model]
    unknown = set(data) - set(by_key) - {_OTHER, _ORDER, "$schema"}
    if unknown:
        raise InputError(
            f"unknown key(s) {sorted(unknown)} for <{tag}>",
            where=where,
            hint='put elements sendx does not model in "_other" as generic elements',
        )
    order = data.get(_ORDER) or _default_order(data, model)
    for key, value in ((_ORDER, order), (_OTHER, data.get(_OTHER, []))):
        if not isinstance(value, list):
            raise InputError(f'"{key}" must be a list', where=f"{where}/{key}")
    used: dict[str, int] = {}
    other = iter(enumerate(data.get(_OTHER, ())))
    fields = _BY_XML[model]
    for name in order:
        if not isinstance(name, str):
            raise InputError('"_order" lists element names and "*" (strings only)', where=f"{where}/{_ORDER}")
        if name == "*":
            try:
                i, item = next(other)
            except StopIteration:
                raise InputError('"_order" names more "*" entries than "_other" holds', where=where) from None
            elem.append(_from_generic(item, f"{where}/_other/{i}"))
            continue
        f = fields.get(name)
        if f is None or f.key not in data:
            raise InputError(f'"_order" names <{name}>, which has no value here', where=where)
        n = used.get(f.key, 0)
        used[f.key] = n + 1
        value = data[f.key]
        at = f"{where}/{f.key}"
        if f.many:
            if not isinstance(value, list) or n >= len(value):
                raise InputError(f'"{f.key}" must be a list with an entry for each <{name}>', where=at)
            value, at = value[n], f"{at}/{n}"
        elem.append(_build(f, value, at))
    return elem


def _build(f: _Field, value: Any, where: str) -> Any:
    if f.model is None:
        if not isinstance(value, str):
            raise InputError(f"<{f.xml}> must be a string", where=where)
        child = etree.Element(f.xml)
        _set_text(child, "text", value or None, where)
        return child
    if f.item is not None:
        if not isinstance(value, list):
            raise InputError(f"<{f.xml}> must be a list", where=where)
        wrapper = etree.Element(f.xml)
        for i, item in enumerate(value):
            wrapper.append(_from_json(item, f.model, f.item, f"{where}/{i}"))
        return wrapper
    return _from_json(value, f.model, f.xml, where)


def pupils_to_ctf(doc: Mapping[str, Any]) -> bytes:
    """Pupil-record JSON back to CTF XML (UTF-8, indented, with an XML declaration)."""
    if not isinstance(doc, Mapping):
        raise InputError("pupil-record JSON must be an object", where="")
    if doc.get("$schema") not in (None, PUPILS_SCHEMA_ID):
        raise InputError(f"$schema {doc.get('$schema')!r} is not {PUPILS_SCHEMA_ID}", where="/$schema")
    root = _from_json(doc, "CTfile", "CTfile", "")
    etree.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", pretty_print=True)


# --------------------------------------------------------------------------- movements


_LOST = {"XXX": ("destination-unknown", "destination unknown"), "MMM": ("independent-or-abroad", "MMM")}


def _setting(block: Mapping[str, Any], fallback_name: str) -> dict[str, Any]:
    la, estab = block.get("la", ""), block.get("estab", "")
    out: dict[str, Any] = {"name": block.get("schoolName") or fallback_name, "laestab": la + estab, "la": la}
    if block.get("urn"):
        out["urn"] = block["urn"]
    out["ap"] = False  # a CTF does not say; the hub's settings register marks AP settings
    return out


def ctf_to_movements(source: bytes | Path) -> list[dict[str, Any]]:
    """Movement events for every pupil in a CTF (valid under the ``movement`` schema).

    Each pupil gives a ``leave`` from the source school, then a ``join`` at the
    destination, or for the lost-pupil pseudo-codes a ``destination-unknown`` (XXX) or
    ``independent-or-abroad`` (MMM) event with no destination setting.  The effective
    date is the date the CTF was made (the CTF is sent when the pupil leaves the roll).
    A CTF that moves nobody gives no events: a results or returned file (source and
    destination the same school) and a file a service wrote (source XXX/MMM, such as DfE's
    pupil-data download).
    """
    header: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for what, data in iter_ctf_pupils(source):
        if what == "header":
            header = data
            if not _is_transfer(header):
                return []
        elif what == "pupil":
            events.extend(_pupil_movements(header, data))
    return events


def _is_transfer(header: Mapping[str, Any]) -> bool:
    src, dst = header.get("source") or {}, header.get("destination") or {}
    if src.get("la", "") in _LOST:
        return False
    return (src.get("la"), src.get("estab")) != (dst.get("la"), dst.get("estab"))


def _pupil_movements(header: Mapping[str, Any], pupil: Mapping[str, Any]) -> list[dict[str, Any]]:
    src, dst = header.get("source") or {}, header.get("destination") or {}
    src_code = src.get("la", "") + src.get("estab", "")
    if not src_code or not pupil.get("upn"):
        raise InputError("a CTF needs a source school and pupil UPNs to give movement events", where="/CTfile/Header")
    try:
        when = dt.datetime.fromisoformat(str(header.get("dateTime", ""))).date().isoformat()
    except ValueError:
        raise InputError("the CTF header has no valid DateTime", where="/CTfile/Header/DateTime") from None
    person: dict[str, Any] = {"upn": pupil["upn"]}
    if pupil.get("uln"):
        person["uln"] = pupil["uln"]
    base = {"$schema": MOVEMENT_SCHEMA_ID, "pupil": person, "effectiveDate": when}
    source = _setting(src, f"School {src_code}")
    event_id = f"CTF-{src_code}-{pupil['upn']}-{when}"
    lost = _LOST.get(dst.get("la", ""))
    leave_to = None if lost else _setting(dst, f"School {dst.get('la', '')}{dst.get('estab', '')}")
    by_source = {"participant": f"school-{src_code}", "role": "school"}
    events = [
        {
            **base,
            "eventId": f"{event_id}-leave",
            "type": "leave",
            "from": source,
            "to": leave_to,
            "reason": "left the roll; CTF sent",
            "recordedBy": by_source,
        }
    ]
    if lost:
        events.append(
            {
                **base,
                "eventId": f"{event_id}-{lost[0]}",
                "type": lost[0],
                "from": source,
                "to": None,
                "reason": f"CTF addressed to {dst.get('la')}{dst.get('estab')}: pupil held in the lost-pupil pool",
                "recordedBy": by_source,
            }
        )
    else:
        events.append(
            {
                **base,
                "eventId": f"{event_id}-join",
                "type": "join",
                "from": source,
                "to": leave_to,
                "reason": "CTF received from the previous school",
                "recordedBy": {"participant": f"school-{leave_to['laestab']}", "role": "school"},  # type: ignore[index]
            }
        )
    return events


def split_ctf(source: bytes) -> list[tuple[str, bytes]]:
    """One CTF per pupil, each with the file's ``Header``: ``(UPN, file)`` in document order.

    What the lost-pupil pool keeps, so a redirect releases one child's record and never the
    rest of a class.  A one-pupil file is returned as it is, byte for byte, so its sender's
    signature still covers it; a file of several pupils is cut into new files (the header and
    each ``Pupil`` element re-serialised by lxml, everything else of the file left out).
    """
    header: bytes | None = None
    pupils: list[tuple[str, bytes]] = []
    for _, elem in safe_xml.iterparse(source, events=("end",), tag=("Header", "Pupil")):
        parent = elem.getparent()
        if elem.tag == "Header" and parent is not None and parent.getparent() is None:
            header = etree.tostring(elem, encoding="UTF-8", xml_declaration=False, with_tail=False)
        elif elem.tag == "Pupil" and parent is not None and parent.tag == "CTFpupilData":
            upn = (elem.findtext("UPN") or "").strip().upper()
            pupils.append((upn, etree.tostring(elem, encoding="UTF-8", xml_declaration=False, with_tail=False)))
            elem.clear(keep_tail=True)
    if header is None:
        raise InputError("the CTF has no <Header>", where="/CTfile")
    if len(pupils) == 1:
        return [(pupils[0][0], bytes(source))]
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>'
    return [(upn, head + header + b"<CTFpupilData>" + pupil + b"</CTFpupilData></CTfile>\n") for upn, pupil in pupils]

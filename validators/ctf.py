"""The Common Transfer File (CTF) kind: streaming XSD validation plus the CTF rules.

Sits at *parse → validate* in the flow for CTF XML.  A CTF can hold 10,000 pupils, so it
is never loaded whole: the hardened ``validators.xml.iterparse`` streams it, the Header
and each Pupil subtree are checked against the matching global element of sendx's own
XSD (``schemas/ctf/ctf.xsd``, compiled once), the rules run on that subtree, and the
subtree is then freed.  Memory stays bounded by the largest single pupil.  Locations are
XPaths with the pupil's position, e.g. ``/CTfile/CTFpupilData/Pupil[12]/UPN``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from sendx import schemas
from sendx.validators import identifiers as ids
from sendx.validators import xml as safe_xml
from sendx.validators.dates import add_days, age_on, parse_date
from sendx.validators.errors import InputError, TooLargeError
from sendx.validators.kinds import Kind, register_kind
from sendx.validators.report import Issue, Report
from sendx.validators.rules import Context, Finding, Rule, declare, get_rule

__all__ = [
    "KIND",
    "LOST_PUPIL_CODES",
    "Progress",
    "ctf_schema",
    "current_sen",
    "iter_ctf_issues",
    "validate_ctf",
]

KIND = "ctf"
#: Called as ``progress(pupils_done, pupils_expected_or_None)`` after each pupil.
Progress = Callable[[int, int | None], None]

_SRC = "DfE Common Transfer File specification (CTF 25)"
_SRC_SEN = "DfE CTF specification; school census SEN provision and need codes; SEND CoP 2015"
_SRC_S2S = "DfE School to School (S2S) guidance: lost pupil database"
#: Destination LEA pseudo-code → the establishment pseudo-code it must be paired with.
LOST_PUPIL_CODES = {"XXX": "XXXX", "MMM": "MMMM"}
#: CTF versions sendx reads as written (suppliers accept the current and the previous one).
#: Others well formed are read on a best-effort basis: DfE's own services stamp the version of
#: the academic year the data is from, so a results file of 2024 says 23.0 (CTF-VERSION-OTHER).
SUPPORTED_VERSIONS = frozenset({24, 25})
PUPIL_BASE = "/CTfile/CTFpupilData/Pupil"

SCHEMA_RULE = declare(
    "CTF-SCHEMA",
    severity="error",
    kind=KIND,
    source="sendx CTF XSD (schemas/ctf/ctf.xsd), written from the DfE CTF specification",
    summary="The file matches the CTF structure (root CTfile, Header, CTFpupilData/Pupil, formats)",
)


@cache
def ctf_schema() -> etree.XMLSchema:
    """sendx's CTF XSD, compiled once (it also validates Header or Pupil subtrees alone)."""
    path = schemas.schema_dir("ctf") / "ctf.xsd"
    return etree.XMLSchema(etree.parse(str(path), safe_xml.safe_parser()))


# --------------------------------------------------------------------------- rule tables


@cache
def _codes(name: str) -> frozenset[str]:
    return schemas.codelist_codes(name)


@cache
def _labels(name: str) -> dict[str, str]:
    return {c["code"]: c["label"] for c in schemas.codelist(name)["codes"]}


@cache
def _shared_rule(rule_id: str) -> Rule:
    """A rule declared elsewhere (ID-UPN, DOC-PARSE...), looked up once, not per pupil."""
    return get_rule(rule_id)


@dataclass(slots=True)
class HeaderFacts:
    """What pupil rules need to know from the Header (kept after the Header is freed)."""

    major: int | None = None
    source: tuple[str, str] = ("", "")
    dest: tuple[str, str] = ("", "")

    @property
    def source_is_school(self) -> bool:
        """False for a file a service wrote (SourceSchool XXX/XXXX, as DfE's pupil-data download does)."""
        return self.source[0] not in LOST_PUPIL_CODES

    @property
    def lost_code(self) -> str | None:
        """The pseudo-code sending the file to the lost-pupil pool: only a school's transfer goes there
        (a service's download addressed XXX/XXXX on both sides is not a pupil leaving)."""
        return self.dest[0] if self.dest[0] in LOST_PUPIL_CODES and self.source_is_school else None


@dataclass(slots=True)
class PupilView:
    """One Pupil subtree with its 1-based position and the file's header facts."""

    elem: Any
    index: int
    header: HeaderFacts
    base: str = field(init=False)
    sen: Any = field(init=False)  # the SENhistory element, or None: most pupils have none
    #: parent → (child → position among same-named siblings, name → how many): built once per
    #: parent, so locating every one of n repeated elements costs O(n), not O(n²).
    _positions: dict[Any, tuple[dict[Any, int], dict[Any, int]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.base = f"{PUPIL_BASE}[{self.index}]"
        self.sen = self.elem.find("SENhistory")

    def where(self, node: Any) -> str:
        """XPath of a node inside this pupil (positions only where a name repeats)."""
        steps: list[str] = []
        while node is not None and node is not self.elem:
            parent = node.getparent()
            if parent is None:
                steps.append(str(node.tag))
                break
            position, count = self._sibling_positions(parent)
            steps.append(f"{node.tag}[{position[node]}]" if count[node.tag] > 1 else str(node.tag))
            node = parent
        return "/".join([self.base, *reversed(steps)])

    def _sibling_positions(self, parent: Any) -> tuple[dict[Any, int], dict[Any, int]]:
        table = self._positions.get(parent)
        if table is None:
            position: dict[Any, int] = {}
            count: dict[Any, int] = {}
            for child in parent:
                count[child.tag] = position[child] = count.get(child.tag, 0) + 1
            table = self._positions[parent] = (position, count)
        return table

    def text(self, path: str) -> str | None:
        value = self.elem.findtext(path)
        return value.strip() if value is not None else None


HeaderFunc = Callable[[Any, HeaderFacts, Context], Iterator[Finding]]
PupilFunc = Callable[[PupilView, Context], Iterator[Finding]]
_HEADER_RULES: list[tuple[Rule, HeaderFunc]] = []
_PUPIL_RULES: list[tuple[Rule, PupilFunc]] = []


def _header_rule(id: str, *, severity: str, summary: str, source: str = _SRC) -> Callable[[HeaderFunc], HeaderFunc]:
    def decorate(func: HeaderFunc) -> HeaderFunc:
        _HEADER_RULES.append((declare(id, severity=severity, kind=KIND, source=source, summary=summary), func))
        return func

    return decorate


def _pupil_rule(id: str, *, severity: str, summary: str, source: str = _SRC) -> Callable[[PupilFunc], PupilFunc]:
    def decorate(func: PupilFunc) -> PupilFunc:
        _PUPIL_RULES.append((declare(id, severity=severity, kind=KIND, source=source, summary=summary), func))
        return func

    return decorate


# --------------------------------------------------------------------------- header rules

_H = "/CTfile/Header"


#: A file may be dated a day ahead of us (time zones, a clock slightly fast).
_ONE_DAY = dt.timedelta(days=1)


@_header_rule(
    "CTF-HEADER",
    severity="error",
    summary="DocumentName is 'Common Transfer File', CTFversion is a supported 'NN.0', "
    "DocumentQualifier is full or partial, DateTime is not in the future",
)
def _header(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    name = (h.findtext("DocumentName") or "").strip()
    if name != "Common Transfer File":
        yield Finding(f"{_H}/DocumentName", f"DocumentName is {name!r}, expected 'Common Transfer File'")
    version = (h.findtext("CTFversion") or "").strip()
    if facts.major is None:
        yield Finding(
            f"{_H}/CTFversion",
            f"CTF version {version!r} is not a CTF version number",
            "CTF versions are written 'NN.0' (e.g. '25.0'); sendx reads CTF 24 and 25 and writes 25",
        )
    qualifier = (h.findtext("DocumentQualifier") or "").strip()
    if qualifier not in ("full", "partial"):
        yield Finding(f"{_H}/DocumentQualifier", f"DocumentQualifier is {qualifier!r}, expected 'full' or 'partial'")
    stamp = (h.findtext("DateTime") or "").strip()
    try:
        when = dt.datetime.fromisoformat(stamp).date()
    except ValueError:
        return  # malformed: the XSD has reported it
    if when > add_days(ctx.as_of, _ONE_DAY):
        yield Finding(f"{_H}/DateTime", f"the file is dated {when}, after {ctx.as_of}")


@_header_rule(
    "CTF-VERSION-OTHER",
    severity="warning",
    summary="CTFversion is CTF 24 or 25; another well-formed version is read on a best-effort basis",
)
def _version_other(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    if facts.major is not None and facts.major not in SUPPORTED_VERSIONS:
        yield Finding(
            f"{_H}/CTFversion",
            f"CTF {facts.major} is not CTF 24 or 25, the versions sendx reads as written; read on a best-effort basis",
            "DfE services stamp the version of the academic year the data is from (a 2024 results file says "
            "23.0); an MIS that accepts only the current and previous version may refuse it",
        )


@_header_rule(
    "CTF-LAESTAB",
    severity="error",
    summary="Source and destination LA/establishment/URN are valid, or a pseudo-code pair (XXX/XXXX, MMM/MMMM)",
    source=f"{_SRC}; DfE LA and establishment numbers",
)
def _laestab(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    for block, (la, estab) in (("SourceSchool", facts.source), ("DestSchool", facts.dest)):
        at = f"{_H}/{block}"
        if la in LOST_PUPIL_CODES:
            if estab != LOST_PUPIL_CODES[la]:
                yield Finding(
                    f"{at}/Estab", f"LEA {la!r} must be paired with Estab {LOST_PUPIL_CODES[la]!r}, not {estab!r}"
                )
        elif estab in LOST_PUPIL_CODES.values():
            yield Finding(f"{at}/LEA", f"Estab {estab!r} is a pseudo-code but LEA {la!r} is not")
        elif la and estab and not ids.is_valid_laestab(la + estab):
            yield Finding(f"{at}/Estab", f"{la}{estab} is not a valid LA + establishment number")
        urn = h.findtext(f"{block}/URN")
        if urn is not None and not ids.is_valid_urn(urn.strip()):
            yield Finding(f"{at}/URN", f"{urn!r} is not a valid URN", "a URN is 6 digits, as shown on GIAS")


@_header_rule(
    "CTF-SOURCE-NOT-SCHOOL",
    severity="information",
    summary="SourceSchool XXX/XXXX: a service wrote the file, not a school (e.g. DfE's pupil-data download)",
)
def _source_not_school(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    la = facts.source[0]
    if la == "XXX":
        name = (h.findtext("SourceSchool/SchoolName") or "").strip() or "no SchoolName given"
        yield Finding(f"{_H}/SourceSchool/LEA", f"the file was written by a service, not a school ({name})")
    elif la == "MMM":  # no public writer is known to do this: say so, without refusing the file
        yield Finding(
            f"{_H}/SourceSchool/LEA",
            "the source is MMM (independent school or abroad), which no known CTF writer uses for a sender",
        )


@_header_rule(
    "CTF-SOURCE-DEST",
    severity="information",
    summary="Source and destination are the same school: a results or returned file (e.g. the multiplication "
    "tables check), not a pupil leaving",
)
def _source_dest(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    if facts.source[0] and facts.source_is_school and facts.source == facts.dest:
        yield Finding(
            f"{_H}/DestSchool",
            f"the destination {''.join(facts.dest)} is the source school itself: a results or returned file",
            "for a pupil who is leaving, address the CTF to the new school, or XXX/XXXX if it is not known",
        )


@_header_rule(
    "CTF-DEST-UNKNOWN",
    severity="information",
    summary="A destination of XXX (unknown) or MMM (independent/abroad) routes the file to the lost-pupil pool",
    source=_SRC_S2S,
)
def _dest_unknown(h: Any, facts: HeaderFacts, ctx: Context) -> Iterator[Finding]:
    code = facts.lost_code
    if code == "XXX":
        yield Finding(
            f"{_H}/DestSchool/LEA",
            "destination unknown (XXX): the pupil goes to the lost-pupil pool",
            "the LA is told; send a CTF to the new school as soon as it is known",
        )
    elif code == "MMM":
        yield Finding(
            f"{_H}/DestSchool/LEA",
            "destination is an independent school or a school abroad (MMM): the pupil goes to the lost-pupil pool",
        )


# --------------------------------------------------------------------------- pupil rules


@_pupil_rule(
    "CTF-DOB",
    severity="error",
    summary="Date of birth is plausible: not in the future, and school age (2 to 25) on the as-of date",
)
def _dob(p: PupilView, ctx: Context) -> Iterator[Finding]:
    dob = parse_date(p.text("DOB"))
    if dob is None:
        return
    if dob > ctx.as_of:
        yield Finding(f"{p.base}/DOB", f"date of birth {dob} is after {ctx.as_of}")
    elif not 2 <= age_on(dob, ctx.as_of) <= 25:
        yield Finding(
            f"{p.base}/DOB",
            f"date of birth {dob} makes the pupil {age_on(dob, ctx.as_of)} on {ctx.as_of}, outside school age (2-25)",
        )


def _sex_node(p: PupilView) -> Any:
    node = p.elem.find("Sex")
    return node if node is not None else p.elem.find("Gender")


@_pupil_rule("CTF-SEX", severity="error", summary="Sex (Gender in older files) is a code from the ctf-sex list (M/F)")
def _sex(p: PupilView, ctx: Context) -> Iterator[Finding]:
    node = _sex_node(p)
    if node is not None and (node.text or "").strip() not in _codes("ctf-sex"):
        yield Finding(p.where(node), f"{node.tag} {node.text!r} is not a CTF code", "use M or F")


@_pupil_rule(
    "CTF-SEX-ELEMENT",
    severity="warning",
    summary="A CTF 25 file names the pupil's sex <Sex>; <Gender> (older files) is read but questioned",
)
def _sex_element(p: PupilView, ctx: Context) -> Iterator[Finding]:
    # DfE's own services write <Sex> into CTF 23 and 24 files too, so only <Gender> in a CTF 25
    # (or later) file is questioned; whether CTF 25 still allows it is not confirmed.
    node = _sex_node(p)
    major = p.header.major
    if node is not None and node.tag == "Gender" and major is not None and major >= 25:
        yield Finding(
            p.where(node),
            f"CTF {major} names this element <Sex>, not <Gender>",
            "sendx reads both and writes <Sex>; regenerate the file from the MIS if the receiver rejects it",
        )


@_pupil_rule(
    "CTF-SEX-MISSING",
    severity="warning",
    summary="The pupil has a sex (<Sex>, or <Gender> in older files); DfE's national-data download omits it "
    "when it is unknown",
)
def _sex_missing(p: PupilView, ctx: Context) -> Iterator[Finding]:
    if _sex_node(p) is None:
        yield Finding(
            f"{p.base}/DOB", "the pupil has no <Sex> after the date of birth", "record the pupil's sex in the MIS"
        )


# SEN: the pupil's current provision is the SEN entry with the latest start date.


def current_sen(pupil: Any) -> Any | None:
    """The SEN element in force (latest StartDate; the last one wins a tie), or ``None``."""
    best, best_date = None, dt.date.min
    for sen in pupil.iterfind("SENhistory/SEN"):
        start = parse_date((sen.findtext("StartDate") or "").strip()) or dt.date.min
        if best is None or start >= best_date:
            best, best_date = sen, start
    return best


def _needs(p: PupilView) -> list[Any]:
    return [] if p.sen is None else list(p.sen.iterfind("SENneeds/SENneed"))


@_pupil_rule(
    "CTF-SEN-PROVISION",
    severity="error",
    summary="SENprovision is E, K or N; retired codes S, A and P are refused with their replacement",
    source=_SRC_SEN,
)
def _sen_provision(p: PupilView, ctx: Context) -> Iterator[Finding]:
    if p.sen is None:
        return
    valid, retired = _codes("sen-provision"), _labels("sen-provision-retired")
    for node in p.sen.iterfind("SEN/SENprovision"):
        code = (node.text or "").strip()
        if code in retired:
            yield Finding(p.where(node), f"SEN provision {code!r} is a retired code: {retired[code]}", "use E, K or N")
        elif code not in valid:
            yield Finding(p.where(node), f"SEN provision {code!r} is not a CTF code", "use E, K or N")


@_pupil_rule(
    "CTF-SEN-DATE",
    severity="error",
    summary="SEN start dates are not in the future and not before the pupil's birth",
    source=_SRC_SEN,
)
def _sen_dates(p: PupilView, ctx: Context) -> Iterator[Finding]:
    dob = parse_date(p.text("DOB"))
    if p.sen is None:
        return
    for node in p.sen.iterfind("SEN/StartDate"):
        start = parse_date((node.text or "").strip())
        if start is None:
            continue
        if start > ctx.as_of:
            yield Finding(p.where(node), f"SEN start date {start} is after {ctx.as_of}")
        elif dob is not None and start < dob:
            yield Finding(p.where(node), f"SEN start date {start} is before the date of birth {dob}")


@_pupil_rule(
    "CTF-SEN-NEED",
    severity="error",
    summary="Every SENtype is a DfE need-type code",
    source=_SRC_SEN,
)
def _sen_need(p: PupilView, ctx: Context) -> Iterator[Finding]:
    known = _codes("need-types") | _codes("sen-need-types-unconfirmed")
    for need in _needs(p):
        node = need.find("SENtype")
        if node is not None and (node.text or "").strip() not in known:
            yield Finding(
                p.where(node),
                f"SEN need type {node.text!r} is not a DfE code",
                "use one of " + ", ".join(sorted(_codes("need-types"))),
            )


@_pupil_rule(
    "CTF-SEN-NEED-UNCONFIRMED",
    severity="warning",
    summary="A need type new in SEN2 (DS) may not be accepted by the receiving MIS yet",
    source="SEN2 2025 data dictionary; CTF acceptance unconfirmed",
)
def _sen_need_new(p: PupilView, ctx: Context) -> Iterator[Finding]:
    new = _labels("sen-need-types-unconfirmed")
    for need in _needs(p):
        node = need.find("SENtype")
        code = (node.text or "").strip() if node is not None else ""
        if code in new:
            yield Finding(
                p.where(node),
                f"need type {code!r} ({new[code]}) is not confirmed for CTF; the receiving MIS may reject it",
                "check with the destination school, or record the closest established need type",
            )


@_pupil_rule(
    "CTF-SEN-RANK",
    severity="error",
    summary="SENtypeRank is 1 (primary) or 2 (secondary), each used once, and a secondary need has a primary",
    source=_SRC_SEN,
)
def _sen_rank(p: PupilView, ctx: Context) -> Iterator[Finding]:
    seen: dict[str, Any] = {}
    for need in _needs(p):
        node = need.find("SENtypeRank")
        if node is None:
            continue
        rank = (node.text or "").strip()
        if rank not in ("1", "2"):
            yield Finding(p.where(node), f"SENtypeRank {rank!r} must be 1 (primary) or 2 (secondary)")
        elif rank in seen:
            yield Finding(p.where(node), f"more than one need has rank {rank}")
        else:
            seen[rank] = node
    if "2" in seen and "1" not in seen:
        yield Finding(p.where(seen["2"]), "a secondary need (rank 2) is recorded without a primary need (rank 1)")


@_pupil_rule(
    "CTF-SEN-NSA",
    severity="error",
    summary="NSA (no specialist assessment) is only valid with SEN provision K (SEN support)",
    source=_SRC_SEN,
)
def _sen_nsa(p: PupilView, ctx: Context) -> Iterator[Finding]:
    if p.sen is None:
        return
    sen = current_sen(p.elem)
    provision = (sen.findtext("SENprovision") or "").strip() if sen is not None else None
    for need in _needs(p):
        node = need.find("SENtype")
        if node is not None and (node.text or "").strip() == "NSA" and provision != "K":
            yield Finding(
                p.where(node),
                f"need type NSA is only valid with SEN support (K); the current provision is {provision!r}",
                "an EHC plan (E) follows an assessment: record the assessed need type",
            )


@_pupil_rule(
    "CTF-SEN-CONSISTENT",
    severity="error",
    summary="SEN recorded consistently: provision E or K has a primary (rank 1) need; N has no needs",
    source=_SRC_SEN,
)
def _sen_consistent(p: PupilView, ctx: Context) -> Iterator[Finding]:
    if p.sen is None:
        return
    sen = current_sen(p.elem)
    needs = _needs(p)
    if sen is None:
        if needs:
            yield Finding(f"{p.base}/SENhistory", "SEN needs are recorded but no SEN provision")
        return
    provision = (sen.findtext("SENprovision") or "").strip()
    ranks = {(n.findtext("SENtypeRank") or "").strip() for n in needs}
    at = p.where(sen.find("SENprovision") if sen.find("SENprovision") is not None else sen)
    if provision in ("E", "K") and "1" not in ranks:
        what = "an EHC plan (E)" if provision == "E" else "SEN support (K)"
        yield Finding(
            at,
            f"the pupil has {what} but no primary need (SENneed with SENtypeRank 1)",
            "record the primary need type, ranked 1, in SENhistory/SENneeds",
        )
    elif provision == "N" and needs:
        yield Finding(at, "the current SEN provision is N (no SEN) but SEN needs are recorded")


# --------------------------------------------------------------------------- streaming


def _header_facts(h: Any) -> HeaderFacts:
    def code(path: str) -> str:
        return (h.findtext(path) or "").strip()

    m = re.fullmatch(r"(\d{1,3})\.\d{1,3}", code("CTFversion"))
    return HeaderFacts(
        major=int(m.group(1)) if m else None,
        source=(code("SourceSchool/LEA"), code("SourceSchool/Estab")),
        dest=(code("DestSchool/LEA"), code("DestSchool/Estab")),
    )


def _schema_issues(elem: Any, base: str, strip: str) -> Iterator[Issue]:
    schema = ctf_schema()
    if schema.validate(elem):
        return
    for err in schema.error_log:
        path = err.path or strip
        # Paths come relative to the subtree as root ("/Pupil/..."): re-anchor them in the file.
        loc = base + path[len(strip) :] if path.startswith(strip) else base
        yield SCHEMA_RULE.issue(loc, err.message)


def _pupil_issues(view: PupilView, ctx: Context, upns: dict[str, int]) -> Iterator[Issue]:
    yield from _schema_issues(view.elem, view.base, "/Pupil")
    upn_rule, uln_rule = _shared_rule("ID-UPN"), _shared_rule("ID-ULN")
    upn = view.text("UPN")
    if upn:
        if not ids.is_valid_upn(upn):
            yield upn_rule.issue(
                f"{view.base}/UPN",
                f"{upn!r} is not a valid UPN",
                "a UPN is 13 characters: a check letter, LA (3), establishment (4), year (2), serial (3)",
            )
        if upn in upns:
            yield _UNIQUE.issue(
                f"{view.base}/UPN",
                f"UPN {upn} is also given to Pupil[{upns[upn]}]",
                "each pupil appears once in a CTF; merge or correct the duplicate records",
            )
        else:
            upns[upn] = view.index
    uln = view.text("UniqueLearnerNumber")
    if uln and not ids.is_valid_uln(uln):
        yield uln_rule.issue(
            f"{view.base}/UniqueLearnerNumber",
            f"{uln!r} is not a valid ULN",
            "a ULN is 10 digits whose last digit is a check digit; copy it from the LRS",
        )
    for node in view.elem.iterfind("Address//Postcode"):
        if node.text and not ids.is_valid_postcode(node.text.strip()):
            yield _shared_rule("ID-POSTCODE").issue(view.where(node), f"{node.text!r} is not a valid postcode")
    for r, func in _PUPIL_RULES:
        for f in func(view, ctx):
            yield r.issue(f.location, f.message, f.hint)


_UNIQUE = declare(
    "CTF-UPN-UNIQUE",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="Each UPN appears once in the file",
)
_LOST_ONE = declare(
    "CTF-LOST-ONE-PUPIL",
    severity="error",
    kind=KIND,
    source=_SRC_S2S,
    summary="A CTF addressed to the lost-pupil pool (XXX or MMM destination) holds exactly one pupil",
)


def _count_pupils(source: bytes | Path) -> int:
    # Only for the progress bar's total; a cheap byte scan, never a parse.
    pattern = re.compile(rb"<Pupil[\s>/]")
    if isinstance(source, bytes):
        return len(pattern.findall(source))
    total, tail = 0, b""
    with source.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            buf = tail + chunk
            total += len(pattern.findall(buf))
            # keep a short tail so a tag split across chunks is seen once, in the next buffer
            cut = max(0, len(buf) - 7)
            total -= len(pattern.findall(buf[cut:]))
            tail = buf[cut:]
    return total + len(pattern.findall(tail))


def iter_ctf_issues(source: bytes | Path, ctx: Context, progress: Progress | None = None) -> Iterator[Issue]:
    """Stream a CTF and yield every issue; memory is bounded by the largest pupil.

    Raises ``TooLargeError`` for input over the size limit; XML that is malformed or
    carries a DOCTYPE (entity and DTD attacks) becomes one ``DOC-PARSE`` issue.
    """
    try:
        root_name = safe_xml.root_tag(source)
    except TooLargeError:
        raise
    except InputError as exc:
        yield _shared_rule("DOC-PARSE").issue(exc.where or "/", exc.message, exc.hint)
        return
    if root_name != "CTfile":
        yield SCHEMA_RULE.issue(f"/{root_name}", f"the root element is <{root_name}>, expected <CTfile>")
        return
    expected = _count_pupils(source) if progress is not None else None
    facts = HeaderFacts()
    upns: dict[str, int] = {}
    pupils = 0
    root = None
    try:
        # Only Header and Pupil ends reach Python: lxml builds each subtree in C, and the
        # per-element event traffic of a 10,000-pupil file never crosses into Python.
        for _, elem in safe_xml.iterparse(source, events=("end",), tag=("Header", "Pupil")):
            parent = elem.getparent()
            if parent is None:
                continue
            root = parent if root is None and parent.getparent() is None else root
            if elem.tag == "Header" and parent is root:
                yield from _schema_issues(elem, "/CTfile/Header", "/Header")
                facts = _header_facts(elem)
                for r, func in _HEADER_RULES:
                    for f in func(elem, facts, ctx):
                        yield r.issue(f.location, f.message, f.hint)
                elem.clear(keep_tail=True)
            elif elem.tag == "Pupil" and parent.tag == "CTFpupilData" and parent.getparent() is not None:
                root = parent.getparent()
                pupils += 1
                yield from _pupil_issues(PupilView(elem, pupils, facts), ctx, upns)
                if progress is not None:
                    progress(pupils, expected)
                # Free the pupil and everything before it: this is what bounds memory.
                elem.clear(keep_tail=True)
                while (prev := elem.getprevious()) is not None:
                    if prev.tag != "Pupil" and isinstance(prev.tag, str):
                        yield SCHEMA_RULE.issue(
                            f"/CTfile/CTFpupilData/{prev.tag}", f"unexpected element <{prev.tag}> in <CTFpupilData>"
                        )
                    del parent[0]
    except TooLargeError:
        raise
    except InputError as exc:
        yield _shared_rule("DOC-PARSE").issue(exc.where or "/", exc.message, exc.hint)
        return
    yield from _root_issues(root)
    if facts.lost_code and pupils != 1:
        yield _LOST_ONE.issue(
            "/CTfile/CTFpupilData",
            f"a CTF to the lost-pupil pool ({facts.lost_code}) must hold exactly one pupil, this one holds {pupils}",
            "send one CTF per pupil whose destination is unknown",
        )


def _root_issues(root: Any) -> Iterator[Issue]:
    """Check what is left of the root once pupils are freed: Header then CTFpupilData."""
    if root is None:
        yield SCHEMA_RULE.issue("/CTfile", "<CTfile> has no <Header>", "a CTF starts with a <Header>")
        return
    top = [c.tag for c in root if isinstance(c.tag, str)]
    if top[:1] != ["Header"]:
        yield SCHEMA_RULE.issue("/CTfile", "the first element in <CTfile> must be <Header>")
    for tag in top:
        if tag not in ("Header", "CTFpupilData"):
            yield SCHEMA_RULE.issue(f"/CTfile/{tag}", f"unexpected element <{tag}> in <CTfile>")
    if top.count("Header") > 1 or top.count("CTFpupilData") > 1:
        yield SCHEMA_RULE.issue("/CTfile", "<CTfile> holds one <Header> and one <CTFpupilData>")
    data = root.find("CTFpupilData")
    for child in data if data is not None else ():
        if isinstance(child.tag, str) and child.tag != "Pupil":
            yield SCHEMA_RULE.issue(
                f"/CTfile/CTFpupilData/{child.tag}", f"unexpected element <{child.tag}> in <CTFpupilData>"
            )


def validate_ctf(source: bytes | Path, ctx: Context | None = None, progress: Progress | None = None) -> Report:
    """Validate one CTF (bytes or a path), streaming; ``progress`` is called after each pupil."""
    path = str(source) if isinstance(source, Path) else None
    return Report.collect(KIND, iter_ctf_issues(source, ctx or Context(), progress), path)


register_kind(
    Kind(
        name=KIND,
        syntax="xml",
        detect=lambda tag: tag == "CTfile",
        validate=lambda source, ctx: iter_ctf_issues(source, ctx, ctx.progress),
        description="DfE Common Transfer File (CTF 25; CTF 24 read), validated streaming",
    )
)

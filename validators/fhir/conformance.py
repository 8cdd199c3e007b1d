"""Agreement with the references: sendx's FHIR checks against HL7's own cases and examples.

Flow position: beside **validate** — it runs the ``fhir`` kind over corpora nobody here wrote
and counts how often sendx agrees.  Two measures (issue #19):

- **false positives** on valid content (goal 0): every FHIR JSON file under the directories
  given (the R4 examples package, UK Core examples…) plus the HL7 cases expected valid; a
  file sendx flags is a false positive unless ``schemas/fhir/known-defects.json`` lists it
  (a genuine defect in the reference file, with its reason);
- **invalid cases caught** (goal ≥ 95%): the HL7 validator's R4 test cases
  (``FHIR/fhir-test-cases``: ``validator/manifest.json`` and the Java validator's expected
  ``outcomes``) whose expected errors are base-spec errors.  Cases that need a terminology
  server, profiles, IG packages or validator options, and errors about terminology or
  profiles, are out of scope and listed with the reason.

Nothing from the corpora is stored in sendx; the manifest is read from the checkout given.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sendx.validators.errors import InputError
from sendx.validators.parsing import MAX_JSON_BYTES, load_json
from sendx.validators.report import Report

__all__ = ["CAUGHT_GOAL", "Case", "Outcome", "check_file", "hl7_cases", "known_defects", "render_text", "run"]

#: The goal for invalid cases caught (issue #19).
CAUGHT_GOAL = 0.95
_R4 = ("4.0", "4.0.1")

#: Manifest modules that exercise something other than the base specification.
_OUT_MODULES = {
    "tx": "terminology (needs a terminology server)",
    "tx-advanced": "terminology (needs a terminology server)",
    "profile": "profile validation (snapshots, slicing)",
    "sd": "StructureDefinition/snapshot authoring",
    "extensions": "extension definitions (extension registry, context rules)",
    "questionnaire": "Questionnaire/QuestionnaireResponse semantics",
    "measure": "Measure/MeasureReport evaluation",
    "cda": "CDA logical model",
    "cdshooks": "CDS Hooks logical model",
    "shc": "SMART Health Cards",
    "v2": "HL7 v2 logical model",
    "logical": "logical models",
    "xver": "cross-version extensions",
    "package-versioning": "IG package version resolution",
    "versions": "multi-version (explicit version) handling",
    "dsig": "digital signatures",
    "matchetype": "matchetype test harness",
    "api": "SearchParameter/CapabilityStatement definition semantics",
}
#: Manifest keys that switch on a non-default validator behaviour.
_OPTIONS = tuple(
    [
        "fetcher",
        "validateReference",
        "assumeValidRestReferences",
        "validateContains",
        "examples",
        "bundle-param",
        "r5-bundle-relative-reference-policy",
        "security-checks",
        "best-practice",
        "for-publication",
        "no-experimental-content",
        "noHtmlInMarkdown",
        "allowed-extension-domain",
        "ips",
        "language",
        "allow-comments",
        "enforceAggregationOutsideBundles",
        "crumb-trail",
        "generate-shapshot",
        "advisor",
        "certificate",
        "scoring",
    ]
)
_CORE_SD = re.compile(r"(from |profile |defined in )?http://hl7\.org/fhir/StructureDefinition/[A-Za-z]+(\|[0-9.]+)?,?")
_TERMINOLOGY = re.compile(
    r"ValueSet|value set|CodeSystem|code system|Unknown code|display|terminology|tx\.fhir|SNOMED|LOINC|UCUM|binding",
    re.I,
)
_PROFILE = re.compile(
    r"[Pp]rofile|slice|[Ss]licing|conformsTo|discriminator|fixed value|fixed to|pattern|snapshot|differential"
    r"|The Extension '|extension .* could not be found",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Case:
    """One HL7 validator test case as sendx judges it."""

    id: str
    path: Path
    syntax: str
    valid: bool  # what the Java validator says
    errors: tuple[str, ...]  # its base-spec (in-scope) error messages
    scope: str  # "in-scope", "xml" or "out-of-scope"
    reason: str = ""


def _error_scope(text: str) -> str:
    if "Example URLs are not allowed" in text:
        return "policy"  # the HL7 validator's own policy for example.org URLs, not a FHIR rule
    rest = _CORE_SD.sub("", text)
    if _TERMINOLOGY.search(rest):
        return "terminology"
    if _PROFILE.search(rest):
        return "profile"
    return "in-scope"


def _expected(validator: Path, java: Any) -> list[tuple[str, str]] | None:
    """(severity, text) of each issue the Java validator reports, or ``None`` without an outcome."""
    if isinstance(java, dict) and isinstance(java.get("output"), list):  # inline: ["ERROR: where: text", …]
        return [(str(o).split(":", 1)[0].lower(), str(o)) for o in java["output"]]
    if isinstance(java, dict) and isinstance(java.get("outcome"), dict):  # an inline OperationOutcome
        outcome = java["outcome"]
    elif isinstance(java, str) and (path := _outcome_file(validator / "outcomes" / java)) is not None:
        outcome = json.loads(path.read_text(encoding="utf-8"))
    else:
        return None
    return [
        (str(i.get("severity")), str((i.get("details") or {}).get("text") or i.get("diagnostics") or ""))
        for i in outcome.get("issue", [])
    ]


def _outcome_file(path: Path) -> Path | None:
    # The manifest names a few outcome files without the "-base" suffix their files carry.
    for candidate in (path, path.with_name(path.stem + "-base.json")):
        if candidate.is_file():
            return candidate
    return None


def _out_of_scope(case: dict[str, Any], valid: bool) -> str | None:
    if case.get("use-test") is False:
        return "disabled in the HL7 manifest (use-test: false)"
    if case.get("module") in _OUT_MODULES:
        return _OUT_MODULES[case["module"]]
    if any(k in case for k in ("tx-dependent", "wrong-displays", "sct", "no-tx")):
        return "terminology (needs a terminology server)"
    if "packages" in case or "package-map" in case:
        return "needs IG packages"
    if any(k in case for k in ("supporting", "profiles", "supporting5", "logical")):
        return "needs supporting definitions loaded first"
    options = [k for k in _OPTIONS if k in case]
    if options == ["examples"] and case["examples"] is False:
        return None  # the default
    if options == ["security-checks"] and (case.get("module") == "xhtml" or valid):
        return None  # narrative checks do not depend on it, and valid content stays valid
    if options:
        return "needs a non-default validator option: " + ", ".join(options)
    return None


def hl7_cases(checkout: Path) -> list[Case]:
    """The R4 cases of a ``FHIR/fhir-test-cases`` checkout, each with its scope."""
    validator = checkout / "validator"
    manifest = validator / "manifest.json"
    if not manifest.is_file():
        raise InputError(f"no validator/manifest.json in {checkout}", hint="give a FHIR/fhir-test-cases checkout")
    cases: list[Case] = []
    seen: Counter[str] = Counter()
    for c in json.loads(manifest.read_text(encoding="utf-8"))["test-cases"]:
        if c.get("version") not in _R4:
            continue
        seen[c["name"]] += 1
        cid = c["name"] if seen[c["name"]] == 1 else f"{c['name']}#{seen[c['name']]}"
        path = validator / c["file"]
        syntax = path.suffix.lstrip(".")
        issues = _expected(validator, c.get("java"))
        errors = [text for severity, text in issues or () if severity in ("error", "fatal")]
        reason = _out_of_scope(c, not errors)
        if issues is None:
            reason = reason or "no expected outcome for the Java validator"
        mine = tuple(t for t in errors if _error_scope(t) == "in-scope")
        if reason is None and errors and not mine:
            reason = "every expected error is about terminology, profiles or validator policy"
        if reason is None and syntax not in ("json", "xml"):
            reason = f"{syntax} input, not a FHIR resource"
        if reason is None and not path.is_file():
            reason = "the case's file is missing from the checkout"
        scope = "out-of-scope" if reason else ("in-scope" if syntax == "json" else "xml")
        cases.append(Case(cid, path, syntax, not errors, mine, scope, reason or ""))
    return cases


@cache
def known_defects() -> dict[str, dict[str, Any]]:
    """Reference files with genuine defects: file name → {"rules", "reason"}."""
    from sendx import schemas

    with (schemas.schema_dir("fhir") / "known-defects.json").open("rb") as fh:
        return {d["file"]: d for d in json.load(fh)["defects"]}


def check_file(path: Path) -> Report | None:
    """sendx's ``fhir`` report on one file (``None`` if it is not a FHIR resource at all)."""
    from sendx import validators

    raw = path.read_bytes()
    try:
        # A reference file over sendx's size limit is still read: the limit is sendx's, not FHIR's.
        doc = load_json(raw, limit=max(len(raw), MAX_JSON_BYTES))
    except InputError:
        return validators.validate(raw, "fhir")
    if not isinstance(doc, dict) or "resourceType" not in doc:
        return None
    return validators.validate(doc, "fhir")


@dataclass
class Outcome:
    """What a conformance run found."""

    #: corpus name → [files checked, files skipped (not FHIR)]
    corpora: dict[str, list[int]] = field(default_factory=dict)
    #: (corpus, file, rules, first message) of each valid file sendx flags
    unexplained: list[tuple[str, str, list[str], str]] = field(default_factory=list)
    known: list[tuple[str, str, list[str]]] = field(default_factory=list)
    caught: list[Case] = field(default_factory=list)
    missed: list[Case] = field(default_factory=list)
    xml: list[Case] = field(default_factory=list)
    out_of_scope: list[Case] = field(default_factory=list)

    @property
    def caught_ratio(self) -> float:
        total = len(self.caught) + len(self.missed)
        return len(self.caught) / total if total else 1.0

    @property
    def goals_met(self) -> bool:
        return not self.unexplained and self.caught_ratio >= CAUGHT_GOAL

    def to_dict(self) -> dict[str, Any]:
        return {
            "goals_met": self.goals_met,
            "false_positives": {
                "corpora": {k: {"files": v[0], "skipped": v[1]} for k, v in self.corpora.items()},
                "unexplained": [{"corpus": c, "file": f, "rules": r, "message": m} for c, f, r, m in self.unexplained],
                "known_defects": [{"corpus": c, "file": f, "rules": r} for c, f, r in self.known],
            },
            "invalid_cases": {
                "caught": len(self.caught),
                "total": len(self.caught) + len(self.missed),
                "ratio": round(self.caught_ratio, 4),
                "goal": CAUGHT_GOAL,
                "missed": [{"id": c.id, "expected": list(c.errors[:3])} for c in self.missed],
            },
            "xml_cases_not_run": [c.id for c in self.xml],
            "out_of_scope": [{"id": c.id, "reason": c.reason} for c in self.out_of_scope],
        }


def _valid_files(directory: Path) -> Iterator[Path]:
    return (p for p in sorted(directory.rglob("*.json")) if not p.name.startswith("."))


def _judge_valid(corpus: str, files: Iterable[Path], out: Outcome) -> None:
    known = known_defects()
    checked = skipped = 0
    for path in files:
        report = check_file(path)
        if report is None:
            skipped += 1
            continue
        checked += 1
        errors = report.errors
        if not errors:
            continue
        rules = sorted({i.rule for i in errors})
        defect = known.get(path.name)
        if defect is not None and set(rules) <= set(defect["rules"]):
            out.known.append((corpus, path.name, rules))
        else:
            out.unexplained.append((corpus, path.name, rules, f"{errors[0].location}: {errors[0].message}"))
    out.corpora[corpus] = [checked, skipped]


def run(hl7_checkout: Path | None = None, valid_dirs: Sequence[Path] = ()) -> Outcome:
    """Run the ``fhir`` kind over the corpora and measure its agreement with the references."""
    out = Outcome()
    for directory in valid_dirs:
        if not directory.is_dir():
            raise InputError(f"no such directory: {directory}")
        _judge_valid(str(directory), _valid_files(directory), out)
    if hl7_checkout is None:
        return out
    cases = hl7_cases(hl7_checkout)
    in_scope = [c for c in cases if c.scope == "in-scope"]
    _judge_valid("hl7-valid-cases", (c.path for c in in_scope if c.valid), out)
    for case in in_scope:
        if case.valid:
            continue
        report = check_file(case.path)
        (out.caught if report is None or not report.valid else out.missed).append(case)
    out.xml = [c for c in cases if c.scope == "xml"]
    out.out_of_scope = [c for c in cases if c.scope == "out-of-scope"]
    return out


def render_text(out: Outcome) -> str:
    """The figures, for a person."""
    lines = ["sendx FHIR R4 conformance", "", "False positives on valid content (goal: 0 unexplained)"]
    for corpus, (files, skipped) in out.corpora.items():
        flagged = [u for u in out.unexplained if u[0] == corpus]
        known = [k for k in out.known if k[0] == corpus]
        extra = f", {skipped} not FHIR resources skipped" if skipped else ""
        lines.append(f"  {corpus}: {files} files, {len(flagged)} false positives, {len(known)} known defects{extra}")
    for corpus, name, rules, message in out.unexplained:
        lines.append(f"    FALSE POSITIVE {corpus}/{name} {','.join(rules)}: {message[:160]}")
    total = len(out.caught) + len(out.missed)
    if total:
        lines += [
            "",
            f"HL7 validator R4 invalid cases in scope: {len(out.caught)}/{total} caught "
            f"({out.caught_ratio:.1%}; goal {CAUGHT_GOAL:.0%})",
        ]
        for case in out.missed:
            lines.append(f"    MISSED {case.id}: {case.errors[0][:160] if case.errors else ''}")
        lines.append(
            f"  FHIR XML cases not run (sendx reads FHIR JSON; tests/data/fhir/base restates those it mirrors): "
            f"{len(out.xml)}"
        )
        reasons = Counter(c.reason for c in out.out_of_scope)
        lines.append(f"  out of scope: {len(out.out_of_scope)} cases")
        lines += [f"    {n:4d}  {reason}" for reason, n in reasons.most_common()]
    if out.known:
        lines += ["", "Known defects in the reference files (each flagged as expected):"]
        reasons = known_defects()
        lines += [f"  {f} {','.join(r)}: {reasons[f]['reason']}" for _, f, r in out.known]
    lines += ["", "goals met" if out.goals_met else "goals NOT met"]
    return "\n".join(lines) + "\n"

"""Render reports for people and machines: text, JSON, SARIF 2.1.0, FHIR OperationOutcome.

One function per format, each taking the same list of reports, so the CLI and the hub
render identically.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sendx.validators.report import Report, Severity
from sendx.validators.rules import all_rules
from sendx.validators.wording import plural

__all__ = ["FORMATS", "render", "to_json", "to_operation_outcome", "to_sarif", "to_text"]


def to_text(reports: Sequence[Report], *, color: bool = False) -> str:
    lines: list[str] = []
    for rep in reports:
        status = "valid" if rep.valid else "INVALID"
        lines.append(f"{rep.path or '<input>'}: {rep.kind or 'unknown kind'}: {status}")
        for i in rep.issues:
            lines.append(f"  {i.severity.value:<11} {i.rule:<24} {i.location or '(document)'}")
            lines.append(f"      {i.message}")
            if i.hint:
                lines.append(f"      fix: {i.hint}")
    n_bad = sum(not r.valid for r in reports)
    lines.append(f"{plural(len(reports), 'file')} checked, {n_bad} invalid")
    return "\n".join(lines) + "\n"


def to_json(reports: Sequence[Report]) -> str:
    return json.dumps({"files": [r.to_dict() for r in reports]}, indent=2, ensure_ascii=False) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFORMATION: "note"}


def _sendx_version() -> str:
    try:
        return version("sendx")
    except PackageNotFoundError:
        return "0+unknown"


def to_sarif(reports: Sequence[Report]) -> str:
    """SARIF 2.1.0: one run, the rule registry as the tool's rules, one result per issue.

    Locations inside a document are logical (JSON Pointer / XPath / FHIRPath), so they go
    in ``logicalLocations`` beside the file's ``physicalLocation``.
    """
    rules = all_rules()
    index = {r.id: n for n, r in enumerate(rules)}
    results = []
    for rep in reports:
        for i in rep.issues:
            loc: dict[str, Any] = {
                "physicalLocation": {"artifactLocation": {"uri": rep.path or "stdin"}},
                "logicalLocations": [{"fullyQualifiedName": i.location or "/", "kind": "element"}],
            }
            result: dict[str, Any] = {
                "ruleId": i.rule,
                "level": _SARIF_LEVEL[i.severity],
                "message": {"text": i.message + (f" Fix: {i.hint}" if i.hint else "")},
                "locations": [loc],
            }
            if i.rule in index:
                result["ruleIndex"] = index[i.rule]
            results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sendx",
                        "version": _sendx_version(),
                        "informationUri": "https://github.com/sendx/sendx",
                        "rules": [
                            {
                                "id": r.id,
                                "shortDescription": {"text": r.summary},
                                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                                "properties": {"kind": r.kind, "source": r.source},
                            }
                            for r in rules
                        ],
                    }
                },
                "artifacts": [{"location": {"uri": r.path or "stdin"}} for r in reports],
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _issue_code(rule: str) -> str:
    if rule.endswith("-SCHEMA") or rule in ("DOC-PARSE", "FHIR-STRUCTURE", "FHIR-EMPTY"):
        return "structure"
    if rule.startswith("ID-") or rule == "FHIR-VALUE":
        return "value"
    if rule == "DOC-KIND":
        return "not-supported"
    return "business-rule"


def operation_outcome(reports: Sequence[Report]) -> dict[str, Any]:
    """A FHIR R4 OperationOutcome for the reports (what ``$validate`` returns)."""
    issues: list[dict[str, Any]] = []
    for rep in reports:
        for i in rep.issues:
            entry: dict[str, Any] = {
                "severity": i.severity.value,
                "code": _issue_code(i.rule),
                "details": {
                    "coding": [{"system": "https://schemas.sendx.org.uk/rules", "code": i.rule}],
                    "text": i.message,
                },
                "diagnostics": (f"{rep.path}: " if rep.path else "") + (i.hint or i.message),
            }
            if i.location:
                entry["expression" if rep.kind in ("fhir", "health-advice") else "location"] = [i.location]
            issues.append(entry)
    if not issues:
        issues.append({"severity": "information", "code": "informational", "diagnostics": "No issues found"})
    return {"resourceType": "OperationOutcome", "issue": issues}


def to_operation_outcome(reports: Sequence[Report]) -> str:
    return json.dumps(operation_outcome(reports), indent=2, ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[Sequence[Report]], str]] = {
    "text": to_text,
    "json": to_json,
    "sarif": to_sarif,
    "fhir": to_operation_outcome,
}


def render(reports: Sequence[Report], fmt: str) -> str:
    return FORMATS[fmt](reports)

"""The issue/report model shared by every validator (JSON, XML and FHIR alike).

A validator yields ``Issue`` objects lazily; a ``Report`` collects them for one document and
orders them most-useful-first, so the first line a person reads is the one to fix first.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Issue", "Report", "Severity"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFORMATION: 2}


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding: which rule, how bad, exactly where, and what to do about it.

    ``location`` is a JSON Pointer for JSON documents, an XPath for XML and a FHIRPath for
    FHIR resources.
    """

    rule: str
    severity: Severity
    location: str
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {
            "rule": self.rule,
            "severity": self.severity.value,
            "location": self.location,
            "message": self.message,
        }
        if self.hint:
            out["hint"] = self.hint
        return out

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Issue:
        return cls(
            rule=data["rule"],
            severity=Severity(data["severity"]),
            location=data["location"],
            message=data["message"],
            hint=data.get("hint"),
        )


@dataclass(slots=True)
class Report:
    """Every issue found in one document, ordered most useful first."""

    kind: str | None
    issues: list[Issue] = field(default_factory=list)
    path: str | None = None

    def __post_init__(self) -> None:
        self.issues = sorted(self.issues, key=_sort_key)

    @classmethod
    def collect(cls, kind: str | None, issues: Iterable[Issue], path: str | None = None) -> Report:
        return cls(kind=kind, issues=list(issues), path=path)

    @property
    def valid(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is Severity.ERROR]

    def rules(self) -> set[str]:
        """The ids of every rule that fired (handy in tests and summaries)."""
        return {i.rule for i in self.issues}

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "kind": self.kind,
            "valid": self.valid,
            "issues": [i.to_dict() for i in self.issues],
        }


def _sort_key(issue: Issue) -> tuple[int, str, str]:
    # Structural (schema) problems first within a severity: rule findings on a broken
    # structure are often consequences of it.
    structural = 0 if issue.rule.endswith(("-SCHEMA", "-PARSE", "-STRUCTURE")) else 1
    return (issue.severity.rank, f"{structural}", issue.location)

"""The ``fhir`` kind: any FHIR R4 resource, checked against the base specification and UK Core.

Flow position: parse → **validate**.  One structure walk (``structure``: the R4 definitions,
primitive formats, narrative XHTML, invariants, UK Core identifiers) over the resource and
everything inside it, then, for a Bundle, the base Bundle rules (``bundle``).  No sendx
profile rule runs here; ``health-advice`` (``advice``) adds those on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sendx.validators.fhir.bundle import BundleIndex
from sendx.validators.fhir.structure import structure_issues
from sendx.validators.report import Issue, Report
from sendx.validators.rules import Context, run_rules

__all__ = ["KIND", "base_issues", "validate_resource"]

KIND = "fhir"


def base_issues(doc: Mapping[str, Any], ctx: Context, idx: BundleIndex | None = None) -> list[Issue]:
    """Every base-FHIR issue of a resource; a Bundle's ``idx`` is built here if not given."""
    issues = structure_issues(doc)
    if doc.get("resourceType") == "Bundle":
        issues.extend(run_rules(KIND, idx or BundleIndex.build(doc), ctx))
    return issues


def validate_resource(resource: Any, context: Context | None = None) -> Report:
    """Check one FHIR R4 resource (a Bundle included) against the base spec and UK Core."""
    if not isinstance(resource, Mapping):
        return Report(KIND, structure_issues(resource))
    return Report(KIND, base_issues(resource, context or Context()))

"""FHIR R4: the base-spec validator (kind ``fhir``) and sendx's health-advice profile.

Flow position: parse → **validate** → adapt.  Any FHIR R4 resource is kind ``fhir``: checked
against the R4 definitions (``definitions``, ``structure``), hand-written invariants
(``invariants``), narrative XHTML (``xhtml``), UK Core identifiers (``ukcore``) and, for
Bundles, the base Bundle rules (``bundle``).  A document Bundle whose Composition uses
sendx's EHCP section codes is kind ``health-advice`` (``advice``): the same checks plus the
sendx profile's rules.  ``conformance`` measures all this against the HL7 references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sendx.validators.fhir import advice, base
from sendx.validators.fhir.advice import (
    DURATION_TEXT_EXT,
    EHCP_SECTION_SYSTEM,
    UKCORE_HEADINGS_SYSTEM,
    ehcp_section_codes,
    provision_gaps,
    validate_bundle,
)
from sendx.validators.fhir.base import validate_resource
from sendx.validators.fhir.bundle import BundleIndex, iter_references
from sendx.validators.fhir.ukcore import LA_CODE_SYSTEM, NHS_NUMBER_SYSTEM, ODS_ORG_SYSTEM, ODS_SITE_SYSTEM
from sendx.validators.kinds import Kind, register_kind
from sendx.validators.report import Issue
from sendx.validators.rules import Context

__all__ = [
    "DURATION_TEXT_EXT",
    "EHCP_SECTION_SYSTEM",
    "KIND",
    "LA_CODE_SYSTEM",
    "NHS_NUMBER_SYSTEM",
    "ODS_ORG_SYSTEM",
    "ODS_SITE_SYSTEM",
    "UKCORE_HEADINGS_SYSTEM",
    "BundleIndex",
    "ehcp_section_codes",
    "iter_references",
    "provision_gaps",
    "validate_bundle",
    "validate_resource",
]

#: The health-advice kind's name (what adapters and envelopes call it).
KIND = advice.KIND


def _validate_fhir(doc: Mapping[str, Any], ctx: Context) -> list[Issue]:
    return base.base_issues(doc, ctx)


# health-advice first: a document Bundle that says it is health advice is that, not just FHIR.
register_kind(
    Kind(
        name=advice.KIND,
        syntax="json",
        detect=advice.is_health_advice,
        validate=validate_bundle,
        description="NHS health advice for an EHC needs assessment: FHIR R4 document Bundle (UK Core), "
        "recognised by its Composition's EHCP section codes",
    )
)
register_kind(
    Kind(
        name=base.KIND,
        syntax="json",
        detect=lambda doc: isinstance(doc.get("resourceType"), str) and "$schema" not in doc,
        validate=_validate_fhir,
        description="Any FHIR R4 resource: the base specification (structure, invariants, Bundles) and UK Core",
    )
)

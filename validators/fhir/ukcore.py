"""UK Core rules: NHS numbers and ODS codes wherever a resource carries them.

Flow position: **validate**, called by the structure walk on every ``Identifier`` and every
``Patient``.  UK Core (FHIR R4) applies where its identifier systems appear: an NHS number
(``https://fhir.nhs.uk/Id/nhs-number``) is 10 digits with no spaces passing modulus 11, and a
Patient carries at most one (UK Core slices ``Patient.identifier:nhsNumber`` 0..1); an ODS
code follows the ODS format.  The identifier rules are sendx's shared ``ID-*`` rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sendx.validators.fhir.invariants import LocalRefs, system_absolute
from sendx.validators.identifiers import is_valid_la_code, is_valid_nhs_number, is_valid_ods_code
from sendx.validators.report import Issue
from sendx.validators.rules import declare, get_rule

__all__ = [
    "DATATYPE_CHECKS",
    "LA_CODE_SYSTEM",
    "NHS_NUMBER_SYSTEM",
    "ODS_ORG_SYSTEM",
    "ODS_SITE_SYSTEM",
    "RESOURCE_CHECKS",
    "nhs_number_problem",
]

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_ORG_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ODS_SITE_SYSTEM = "https://fhir.nhs.uk/Id/ods-site-code"
#: Local authorities are identified by their DfE LA number (they are not NHS bodies).
LA_CODE_SYSTEM = "https://schemas.sendx.org.uk/fhir/Id/la-code"

ONE_NHS_NUMBER = declare(
    "FHIR-UKCORE-NHS-NUMBER",
    severity="error",
    kind="fhir",
    source="UK Core Patient: identifier:nhsNumber 0..1 (system " + NHS_NUMBER_SYSTEM + ")",
    summary="A Patient carries at most one NHS number",
)


def nhs_number_problem(value: Any) -> str | None:
    """What is wrong with an NHS number as FHIR carries it, or ``None`` if nothing is."""
    if not isinstance(value, str):
        return f"{value!r} is not an NHS number: it must be a string of 10 digits"
    if not (len(value) == 10 and value.isascii() and value.isdigit()):
        if value.replace(" ", "").isdigit():
            return f"{value!r} must be 10 digits without spaces"
        return f"{value!r} is not an NHS number: it must be 10 digits"
    if not is_valid_nhs_number(value):
        return f"{value!r} is not a valid NHS number (modulus 11 check)"
    return None


def _identifier(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    system_absolute(obj, path, "Identifier", out)
    system = obj.get("system")
    if system is None:
        return
    value = obj.get("value")
    where = f"{path}.value"
    if system == NHS_NUMBER_SYSTEM:
        problem = nhs_number_problem(value)
        if problem:
            hint = "an NHS number is 10 digits, no spaces, the last a modulus 11 check digit"
            out.append(get_rule("ID-NHS-NUMBER").issue(where, problem, hint))
    elif system in (ODS_ORG_SYSTEM, ODS_SITE_SYSTEM):
        if not is_valid_ods_code(value):
            out.append(get_rule("ID-ODS").issue(where, f"{value!r} is not a valid ODS code"))
    elif system == LA_CODE_SYSTEM and not is_valid_la_code(value):
        out.append(get_rule("ID-LA-CODE").issue(where, f"{value!r} is not a valid DfE LA number"))


def _patient(obj: Mapping[str, Any], path: str, refs: LocalRefs, out: list[Issue]) -> None:
    identifiers = obj.get("identifier")
    if type(identifiers) is not list:
        return
    nhs = [n for n, i in enumerate(identifiers) if type(i) is dict and i.get("system") == NHS_NUMBER_SYSTEM]
    if len(nhs) > 1:
        out.append(
            ONE_NHS_NUMBER.issue(
                f"{path}.identifier[{nhs[1]}]",
                f"the Patient has {len(nhs)} NHS numbers; UK Core allows one",
                "keep the patient's current NHS number only",
            )
        )


_Check = Callable[[Mapping[str, Any], str, LocalRefs, list[Issue]], None]
DATATYPE_CHECKS: dict[str, _Check] = {"Identifier": _identifier}
RESOURCE_CHECKS: dict[str, _Check] = {"Patient": _patient}

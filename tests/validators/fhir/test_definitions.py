"""Tests for validators/fhir/definitions.py and the generator of its table (schemas/fhir)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from sendx.validators.fhir.definitions import node, primitive, resource_node
from tests.conftest import REPO_ROOT

#: A tool of this checkout (not installed): it made the table the package ships.
GENERATOR = REPO_ROOT / "schemas" / "fhir" / "build_r4_structure.py"


def test_choice_elements_are_expanded_and_required_ones_listed() -> None:
    obs = node("Observation")
    assert obs.children["valueQuantity"].element == "value[x]"
    assert obs.children["valueQuantity"].node.type == "Quantity"
    assert ("code", ("code",)) in obs.required
    assert ("status", ("status", "_status")) in obs.required  # a primitive may be present as _status only


def test_backbone_elements_and_content_references() -> None:
    contact = node("Patient").children["contact"].node
    assert (contact.type, contact.path) == ("Patient", "contact")
    nested = node("Questionnaire", "item").children["item"].node
    assert (nested.type, nested.path) == ("Questionnaire", "item")


def test_resource_id_is_an_id_and_abstract_types_are_not_resources() -> None:
    assert node("Patient").children["id"].primitive == primitive("id")
    assert resource_node("DomainResource") is None and resource_node("Quantity") is None
    assert resource_node("MedicinalProductIngredient") is not None  # R4 only


def _sd(name: str, kind: str, elements: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "StructureDefinition",
        "type": name,
        "kind": kind,
        "derivation": "specialization",
        "snapshot": {"element": [{"path": name}, *elements]},
        **extra,
    }


def test_the_generator_keeps_only_the_facts(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_r4_structure", GENERATOR)
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    regex = {"url": "http://hl7.org/fhir/StructureDefinition/regex", "valueString": "[0-9]+"}
    sds = {
        "StructureDefinition-code.json": _sd(
            "code", "primitive-type", [{"path": "code.value", "type": [{"code": "x", "extension": [regex]}]}]
        ),
        "StructureDefinition-Thing.json": _sd(
            "Thing",
            "resource",
            [
                {"path": "Thing.id", "min": 0, "max": "1", "type": [{"code": "http://hl7.org/fhirpath/System.String"}]},
                {
                    "path": "Thing.part",
                    "min": 1,
                    "max": "*",
                    "type": [{"code": "BackboneElement"}],
                    "short": "prose is dropped",
                },
                {"path": "Thing.part.again", "min": 0, "max": "*", "contentReference": "#Thing.part"},
            ],
        ),
        "StructureDefinition-vitals.json": _sd("Thing", "resource", [], derivation="constraint"),  # a profile: skipped
    }
    for name, sd in sds.items():
        (tmp_path / name).write_text(json.dumps(sd))
    table = build.build(tmp_path)
    assert table["primitives"] == {"code": {"json": "string", "regex": "[0-9]+"}}
    assert table["types"]["Thing"]["elements"] == {
        "id": [0, "1", ["string"]],
        "part": [1, "*", ["BackboneElement"]],
        "part.again": [0, "*", "@part"],
    }

"""Pupil-record JSON is a document kind: sendx validates what ``sendx convert --to pupil-json`` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendx import schemas, validators
from sendx.adapters.ctf import _MODELS, PUPILS_SCHEMA_ID, ctf_to_pupils
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators.errors import InputError
from tests.conftest import DATA


def _converted_fixtures() -> list[tuple[str, dict]]:
    out = []
    for path in sorted((DATA / "ctf").glob("*.xml")):
        try:
            out.append((path.name, ctf_to_pupils(path)))
        except InputError:
            continue  # attacks and broken files: nothing to read back
    return out


def test_the_schema_is_the_one_the_converter_writes() -> None:
    assert schemas.schema_id("pupil-json") == PUPILS_SCHEMA_ID


def test_the_schema_models_every_field_the_converter_knows() -> None:
    # The schema and the converter's table describe one shape: a field added to one must be in both.
    defs = schemas.load_schema("pupil-json")["$defs"]
    for model, fields in _MODELS.items():
        if model == "CTfile":
            props = schemas.load_schema("pupil-json")["properties"]
            assert set(props) == {"$schema", "_other", "_order", *(f.key for f in fields)}
        else:
            assert set(defs[model]["properties"]) == {"_other", "_order", *(f.key for f in fields)}, model


@pytest.mark.parametrize(("name", "doc"), _converted_fixtures(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_converted_ctf_is_recognised_and_structurally_valid(name: str, doc: dict) -> None:
    report = validators.validate(doc)
    assert report.kind == "pupil-json"
    assert not [i for i in report.issues if i.rule == "PUPIL-JSON-SCHEMA"], [i.to_dict() for i in report.issues]


@pytest.mark.parametrize("version", ["25.0", "24.0"])
def test_a_synthetic_ctf_as_json_is_valid(version: str) -> None:
    report = validators.validate(ctf_to_pupils(synthetic_ctf(40, seed=7, version=version)))
    assert report.kind == "pupil-json" and report.valid and report.issues == []


def test_a_file_of_pupil_json_validates_from_disk(tmp_path: Path) -> None:
    (example,) = schemas.examples("pupil-json")
    report = validators.validate(example)
    assert (report.kind, report.valid) == ("pupil-json", True)


def test_an_unknown_version_is_named_not_called_unknown() -> None:
    report = validators.validate({"$schema": "https://schemas.sendx.org.uk/ctf-pupils/v9", "pupils": []})
    assert report.kind == "pupil-json" and report.rules() == {"PUPIL-JSON-SCHEMA"}

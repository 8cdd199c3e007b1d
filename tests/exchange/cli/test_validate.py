"""``sendx validate`` and ``sendx rules`` end to end: exit codes, formats, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from sendx import schemas
from tests.conftest import DATA

EXAMPLE_DIRS = [schemas.schema_dir(k) / "examples" for k in ("ehcp", "passport", "movement")]
INVALID = DATA / "ehcp" / "ehcp-f-unquantified-provision.json"


def test_examples_exit_zero(run_cli) -> None:
    result = run_cli("validate", *EXAMPLE_DIRS)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(", 0 invalid")


def test_invalid_exit_one_with_rule_location_and_fix(run_cli) -> None:
    result = run_cli("validate", INVALID, "--as-of", "2026-11-24")
    assert result.exit_code == 1
    assert "EHCP-F-QUANTIFIED" in result.stdout
    assert "/sections/F/provision/0/frequency" in result.stdout
    assert "fix:" in result.stdout


def test_directory_recursion_and_json_format(run_cli) -> None:
    result = run_cli("validate", DATA / "movement", "--format", "json")
    assert result.exit_code == 1
    files = json.loads(result.stdout)["files"]
    assert len(files) == len(list((DATA / "movement").glob("*.json")))
    for f in files:
        assert set(f) >= {"path", "kind", "valid", "issues"}
        for issue in f["issues"]:
            assert set(issue) >= {"rule", "severity", "location", "message"}
            assert issue["severity"] in ("error", "warning", "information")


def test_sarif_output_has_required_structure(run_cli) -> None:
    result = run_cli("validate", DATA / "ehcp", "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, json.loads((DATA / "sarif-2.1.0-required.json").read_text()))
    driver = log["runs"][0]["tool"]["driver"]
    for res in log["runs"][0]["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


@pytest.mark.parametrize("target", [INVALID, schemas.examples("ehcp")[0]])
def test_fhir_output_is_an_r4_operation_outcome(run_cli, target: Path) -> None:
    result = run_cli("validate", target, "--format", "fhir")
    outcome = OperationOutcome.model_validate(json.loads(result.stdout))
    assert outcome.issue
    if target == INVALID:
        assert any(i.severity == "error" for i in outcome.issue)


def test_progress_bar_goes_to_stderr_only(run_cli) -> None:
    result = run_cli("validate", DATA, "--format", "json")
    json.loads(result.stdout)  # stdout stays machine-readable


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"), (b"{", "not valid JSON")],
)
def test_bad_files_are_clear_errors_not_tracebacks(run_cli, tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    result = run_cli("validate", f)
    assert result.exit_code == 1
    assert message in result.stdout and "Traceback" not in result.output


def test_deeply_nested_file(run_cli, tmp_path: Path) -> None:
    f = tmp_path / "deep.json"
    f.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    result = run_cli("validate", f)
    assert result.exit_code == 1 and "nested too deeply" in result.stdout


def test_fifty_megabytes(run_cli, tmp_path: Path) -> None:
    f = tmp_path / "huge.json"
    with f.open("wb") as fh:
        fh.write(b'{"a": "')
        fh.write(b"x" * 50 * 1024 * 1024)
        fh.write(b'"}')
    result = run_cli("validate", f)
    assert result.exit_code == 1 and "more than the limit" in result.stdout


def test_missing_path_is_usage_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "nope.json")
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_unknown_kind_option_is_usage_error(run_cli) -> None:
    result = run_cli("validate", INVALID, "--kind", "statement")
    assert result.exit_code == 2 and "unknown kind" in result.stderr


def test_rules_lists_every_rule_with_source(run_cli) -> None:
    result = run_cli("rules", "--format", "json")
    rules = json.loads(result.stdout)
    ids = {r["id"] for r in rules}
    assert {"EHCP-B-MET-BY-F", "EHCP-F-VAGUE", "ID-UPN", "MOVEMENT-AP-INTO", "PASSPORT-CONSENT"} <= ids
    assert all(r["source"] and r["severity"] in ("error", "warning", "information") for r in rules)
    text = run_cli("rules").stdout
    assert "CoP" in text or "Code of Practice" in text


def test_rules_of_an_unknown_kind_is_a_usage_error_naming_the_kinds(run_cli) -> None:
    result = run_cli("rules", "--kind", "nope")
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown kind 'nope'" in result.stderr and "ehcp" in result.stderr and "ctf" in result.stderr


def test_rules_of_a_kind_lists_its_rules_and_the_shared_ones(run_cli) -> None:
    kinds = {r["kind"] for r in json.loads(run_cli("rules", "--kind", "passport", "--format", "json").stdout)}
    assert kinds == {"passport", "any"}


def test_validate_reads_standard_input(run_cli) -> None:
    plan = schemas.examples("ehcp")[0].read_bytes()
    result = run_cli("validate", "-", "--as-of", "2026-04-01", input=plan)
    assert result.exit_code == 0 and "<stdin>: ehcp: valid" in result.stdout, result.output
    bad = run_cli("validate", "-", "--format", "json", input=b'{"a": ')
    assert bad.exit_code == 1 and json.loads(bad.stdout)["files"][0]["path"] == "<stdin>"


def test_validate_reads_a_ctf_from_standard_input_beside_files(run_cli) -> None:
    ctf = schemas.examples("ctf")[0]
    result = run_cli("validate", "-", ctf, input=ctf.read_bytes())
    assert result.exit_code == 0 and result.stdout.count(": ctf: valid") == 2, result.output


@pytest.mark.parametrize(
    "bomb",
    [
        (DATA / "ctf" / "ctf-attack-billion-laughs.xml").read_bytes(),
        b'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<CTfile>&xxe;</CTfile>\n',
    ],
    ids=["billion-laughs", "xxe"],
)
def test_validate_refuses_an_xml_bomb_in_sendx_words(run_cli, tmp_path: Path, bomb: bytes) -> None:
    path = tmp_path / "bomb.xml"
    path.write_bytes(bomb)
    result = run_cli("validate", path)
    assert result.exit_code == 1 and "XML with a document type declaration (<!DOCTYPE ...>) is refused" in result.stdout
    assert "root:" not in result.output and "amplification" not in result.output

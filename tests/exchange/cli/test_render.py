"""``sendx render``: validates, refuses other kinds and invalid plans, writes the page."""

from __future__ import annotations

from pathlib import Path

from sendx.schemas import examples

EXAMPLE = next(p for p in examples("ehcp") if p.name == "ehcp-final-secondary.json")


def test_render_writes_the_page(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    result = run_cli("render", EXAMPLE, "-o", out, "--as-of", "2026-04-01")
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_render_to_stdout(run_cli) -> None:
    result = run_cli("render", EXAMPLE, "--as-of", "2026-04-01")
    assert result.exit_code == 0 and "Mara’s Education, Health and Care plan" in result.output


def test_render_refuses_another_kind(run_cli, data_dir: Path) -> None:
    result = run_cli("render", next((data_dir / "movement").glob("*.json")))
    assert result.exit_code == 2 and "only EHC plans can be rendered" in result.output


def test_render_refuses_an_invalid_plan(run_cli, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    result = run_cli("render", data_dir / "ehcp" / "ehcp-f-unquantified-provision.json", "-o", out)
    assert result.exit_code == 1 and "EHCP-F-QUANTIFIED" in result.output and not out.exists()


def test_render_help_states_the_exit_codes_it_uses(run_cli) -> None:
    # One convention with `sendx validate`: 1 an invalid document, 2 usage or I/O.
    text = " ".join(run_cli("render", "--help").output.split())
    assert "a plan with errors is refused (exit 1" in text and "usage error (exit 2)" in text


def test_render_shows_warnings_and_still_renders(run_cli, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.html"
    result = run_cli("render", data_dir / "ehcp" / "ehcp-f-vague-provision.json", "-o", out)
    assert result.exit_code == 0 and "EHCP-F-VAGUE" in result.output and out.exists()


def test_render_missing_file(run_cli, tmp_path: Path) -> None:
    result = run_cli("render", tmp_path / "nope.json")
    assert result.exit_code == 2 and "no such file" in result.output

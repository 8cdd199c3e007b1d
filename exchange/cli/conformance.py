"""``sendx conformance fhir``: how often sendx agrees with the FHIR references."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sendx.exchange.cli import cli
from sendx.validators.errors import InputError
from sendx.validators.fhir import conformance

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@cli.group("conformance")
def conformance_group() -> None:
    """Measure sendx's validators against reference corpora nobody here wrote."""


@conformance_group.command("fhir")
@click.option("--hl7", type=_DIR, help="A checkout of github.com/FHIR/fhir-test-cases (its validator/ cases).")
@click.option(
    "--valid",
    type=_DIR,
    multiple=True,
    help="A directory of valid FHIR R4 JSON, searched recursively (the R4 examples package, UK Core "
    "examples…); repeatable.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def fhir_cmd(hl7: Path | None, valid: tuple[Path, ...], fmt: str) -> None:
    """Agreement with the HL7 validator's R4 cases and false positives on valid examples.

    Exit status: 0 the goals are met (no unexplained false positive, at least 95% of the
    in-scope invalid cases caught), 1 they are not, 2 usage or I/O error.
    """
    if hl7 is None and not valid:
        raise InputError("nothing to run", hint="give --hl7 FHIR-TEST-CASES and/or --valid DIR")
    outcome = conformance.run(hl7, valid)
    if fmt == "json":
        click.echo(json.dumps(outcome.to_dict(), indent=2))
    else:
        click.echo(conformance.render_text(outcome), nl=False)
    sys.exit(0 if outcome.goals_met else 1)

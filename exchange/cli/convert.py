"""``sendx convert IN --to KIND [-o OUT]``: one dispatch table, (source kind, target) → adapter.

Other adapters (FHIR, passport, reports) add rows to ``CONVERTERS``; the command itself
only recognises the input's kind, looks the pair up and writes the result.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from sendx.adapters import ctf as ctf_adapter
from sendx.adapters import fhir as fhir_adapter
from sendx.adapters.passport import draft_passport
from sendx.adapters.plan import require_plan
from sendx.exchange.cli import cli
from sendx.validators import kinds, parsing
from sendx.validators import xml as safe_xml
from sendx.validators.errors import InputError


def _json_out(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _ctf_to_pupil_json(path: Path) -> bytes:
    return _json_out(ctf_adapter.ctf_to_pupils(path))


def _ctf_to_movements(path: Path) -> bytes:
    return _json_out(ctf_adapter.ctf_to_movements(path))


def _pupil_json_to_ctf(path: Path) -> bytes:
    return ctf_adapter.pupils_to_ctf(parsing.load_json(parsing.read_bytes(path, parsing.MAX_JSON_BYTES)))


def _load(path: Path) -> object:
    return parsing.load_json(parsing.read_bytes(path, parsing.MAX_JSON_BYTES))


def _advice_to_sections(path: Path) -> bytes:
    return _json_out(fhir_adapter.advice_to_ehcp_sections(_load(path)))


def _ehcp_to_fhir(path: Path) -> bytes:
    return _json_out(fhir_adapter.ehcp_to_bundle(_load(path)))


def _ehcp_to_passport(path: Path) -> bytes:
    plan = require_plan(_load(path))
    la = plan["la"]
    issuer = {"type": "la", "id": la["code"], "name": la.get("name", f"Local authority {la['code']}")}
    return _json_out(draft_passport(plan, issuer=issuer, issued=dt.date.today()))


#: (source kind, target) → adapter taking the input path and returning the output bytes.
CONVERTERS: dict[tuple[str, str], Callable[[Path], bytes]] = {
    ("ctf", "pupil-json"): _ctf_to_pupil_json,
    ("ctf", "movements"): _ctf_to_movements,
    ("pupil-json", "ctf"): _pupil_json_to_ctf,
    ("health-advice", "ehcp-sections"): _advice_to_sections,
    ("ehcp", "fhir"): _ehcp_to_fhir,
    ("ehcp", "passport"): _ehcp_to_passport,
}


def source_kind(path: Path) -> str:
    """The kind of an input file, as the first element of a ``CONVERTERS`` key."""
    fmt = parsing.sniff_file(path)
    if fmt == "xml":
        root = safe_xml.root_tag(path)
        return "ctf" if root == "CTfile" else f"xml:{root}"
    if fmt == "json":
        doc = _load(path)
        if isinstance(doc, dict) and doc.get("$schema") == ctf_adapter.PUPILS_SCHEMA_ID:
            return "pupil-json"
        spec = kinds.detect_json(doc)
        return spec.name if spec else "json"
    return fmt


@cli.command("convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "target", required=True, type=click.Choice(sorted({t for _, t in CONVERTERS})))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def convert_cmd(source: Path, target: str, output: Path | None) -> None:
    """Convert a document to another format.

    CTF ⇄ pupil JSON, CTF → movement events, FHIR health advice → EHCP sections C and G,
    EHCP → FHIR document Bundle, EHCP → adjustment passport draft (consent still to record).
    """
    kind = source_kind(source)
    convert = CONVERTERS.get((kind, target))
    if convert is None:
        froms = sorted(k for k, t in CONVERTERS if t == target)
        raise InputError(
            f"cannot convert {kind} to {target}", where=str(source), hint=f"--to {target} reads: {', '.join(froms)}"
        )
    data = convert(source)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        output.write_bytes(data)

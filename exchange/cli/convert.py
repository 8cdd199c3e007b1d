"""``sendx convert IN --to KIND [-o OUT]``: one dispatch table, (source kind, target) → adapter.

Other adapters (FHIR, passport, reports) add rows to ``CONVERTERS``; the command itself
only recognises the input's kind, looks the pair up and writes the result.  ``IN`` may be
``-`` (standard input).  Nothing is written that sendx would refuse to read back: a CTF or
its pupil JSON over the size limits is refused here, naming the setting to raise.
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
from sendx.exchange.cli._io import STDIN, STDIN_NAME, read_stdin
from sendx.validators import kinds, parsing
from sendx.validators import xml as safe_xml
from sendx.validators.errors import InputError, TooLargeError

#: A document to convert: a file, or the bytes read from standard input.
Source = bytes | Path


def _json_out(obj: object) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _fits(data: bytes, limit: int, what: str) -> bytes:
    """``data`` if sendx would read it back; else a clear refusal (never a file sendx refuses)."""
    if len(data) > limit:
        raise TooLargeError(
            f"the {what} would be {len(data):,} bytes, more than sendx reads back ({limit:,})",
            hint="raise SENDX_MAX_CTF_BYTES (it sets the limit of a CTF and of its pupil JSON)",
        )
    return data


def _load(source: Source) -> object:
    return parsing.load_json(parsing.read_json_bytes(source) if isinstance(source, Path) else source)


def _ctf_to_pupil_json(source: Source) -> bytes:
    return _fits(_json_out(ctf_adapter.ctf_to_pupils(source)), parsing.max_ctf_json_bytes(), "pupil JSON")


def _ctf_to_movements(source: Source) -> bytes:
    return _json_out(ctf_adapter.ctf_to_movements(source))


def _pupil_json_to_ctf(source: Source) -> bytes:
    return _fits(ctf_adapter.pupils_to_ctf(_load(source)), parsing.MAX_CTF_BYTES, "CTF")


def _advice_to_sections(source: Source) -> bytes:
    return _json_out(fhir_adapter.advice_to_ehcp_sections(_load(source)))


def _ehcp_to_fhir(source: Source) -> bytes:
    return _json_out(fhir_adapter.ehcp_to_bundle(_load(source)))


def _ehcp_to_passport(source: Source) -> bytes:
    plan = require_plan(_load(source))
    la = plan["la"]
    issuer = {"type": "la", "id": la["code"], "name": la.get("name", f"Local authority {la['code']}")}
    return _json_out(draft_passport(plan, issuer=issuer, issued=dt.date.today()))


#: (source kind, target) → adapter taking the input (a path, or bytes) and returning the output bytes.
CONVERTERS: dict[tuple[str, str], Callable[[Source], bytes]] = {
    ("ctf", "pupil-json"): _ctf_to_pupil_json,
    ("ctf", "movements"): _ctf_to_movements,
    ("pupil-json", "ctf"): _pupil_json_to_ctf,
    ("health-advice", "ehcp-sections"): _advice_to_sections,
    ("ehcp", "fhir"): _ehcp_to_fhir,
    ("ehcp", "passport"): _ehcp_to_passport,
}


def source_kind(source: Source) -> str:
    """The kind of an input, as the first element of a ``CONVERTERS`` key."""
    fmt = parsing.sniff_file(source) if isinstance(source, Path) else parsing.sniff_format(source)
    if fmt == "xml":
        root = safe_xml.root_tag(source)
        return "ctf" if root == "CTfile" else f"xml:{root}"
    if fmt == "json":
        spec = kinds.detect_json(_load(source))
        return spec.name if spec else "json"
    return fmt


@cli.command("convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--to", "target", required=True, type=click.Choice(sorted({t for _, t in CONVERTERS})))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
def convert_cmd(source: str, target: str, output: Path | None) -> None:
    """Convert a document (SOURCE, or - for standard input) to another format.

    CTF ⇄ pupil JSON, CTF → movement events, FHIR health advice → EHCP sections C and G,
    EHCP → FHIR document Bundle, EHCP → adjustment passport draft (consent still to record).
    """
    data: Source = read_stdin(parsing.MAX_CTF_BYTES) if source == STDIN else Path(source)
    kind = source_kind(data)
    convert = CONVERTERS.get((kind, target))
    if convert is None:
        froms = sorted(k for k, t in CONVERTERS if t == target)
        where = STDIN_NAME if source == STDIN else source
        raise InputError(
            f"cannot convert {kind} to {target}", where=where, hint=f"--to {target} reads: {', '.join(froms)}"
        )
    result = convert(data)
    if output is None:
        sys.stdout.buffer.write(result)
        sys.stdout.flush()
    else:
        output.write_bytes(result)

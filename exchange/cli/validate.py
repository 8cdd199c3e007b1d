"""``sendx validate`` and ``sendx rules``."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click

from sendx import validators
from sendx.exchange.cli import cli
from sendx.exchange.cli._io import STDIN, STDIN_NAME, echo_json, format_option, read_stdin
from sendx.validators import kinds, parsing
from sendx.validators.errors import InputError
from sendx.validators.formats import FORMATS, render
from sendx.validators.report import Report
from sendx.validators.rules import Context, all_rules

_DOC_SUFFIXES = {".json", ".xml"}
#: Show a progress bar on stderr above this many files.
_PROGRESS_THRESHOLD = 5
#: ... or over the records of a single file this large.
_BIG_FILE_BYTES = 2 * 1024 * 1024


def expand_paths(paths: tuple[str, ...]) -> list[Path]:
    """Files named directly, plus every .json/.xml file under named directories (``-`` is left out)."""
    out: list[Path] = []
    for p in (Path(p) for p in paths if p != STDIN):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _DOC_SUFFIXES))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"no such file or directory: {p}")
    return out


def _iter_reports(files: list[Path], kind: str | None, ctx: Context) -> Iterator[Report]:
    if (len(files) > _PROGRESS_THRESHOLD and sys.stderr.isatty()) or len(files) > 50:
        with click.progressbar(files, label="validating", file=sys.stderr, show_pos=True) as bar:
            for f in bar:
                yield validators.validate(f, kind, context=ctx)
    elif len(files) == 1 and sys.stderr.isatty() and files[0].stat().st_size > _BIG_FILE_BYTES:
        # One big file (a CTF of thousands of pupils): a bar over the records inside it.
        with click.progressbar(length=0, label="validating records", file=sys.stderr, show_pos=True) as bar:

            def advance(done: int, expected: int | None) -> None:
                if expected and bar.length != expected:
                    bar.length = expected
                bar.update(done - bar.pos)

            yield validators.validate(files[0], kind, context=replace(ctx, progress=advance))
    else:
        for f in files:
            yield validators.validate(f, kind, context=ctx)


def _validate_stdin(kind: str | None, ctx: Context) -> Report:
    report = validators.validate(read_stdin(parsing.MAX_CTF_BYTES), kind, context=ctx)
    report.path = STDIN_NAME
    return report


@cli.command("validate")
@click.argument("paths", nargs=-1, required=True)
@click.option("--kind", help="Treat every file as this kind instead of recognising it.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Date that 'today' means for timescale rules.")
def validate_cmd(paths: tuple[str, ...], kind: str | None, fmt: str, as_of: dt.datetime | None) -> None:
    """Validate documents (files or directories, recursively; - reads standard input).

    Exit status: 0 all valid, 1 some invalid, 2 usage or I/O error.
    """
    files = expand_paths(paths)
    if not files and STDIN not in paths:
        raise InputError("no .json or .xml files found in " + ", ".join(paths))
    ctx = Context(as_of=as_of.date()) if as_of else Context()
    reports = [_validate_stdin(kind, ctx)] if STDIN in paths else []
    reports += _iter_reports(files, kind, ctx)
    click.echo(render(reports, fmt), nl=False)
    sys.exit(0 if all(r.valid for r in reports) else 1)


@cli.command("rules")
@format_option
@click.option("--kind", help="Only the rules of this kind.")
def rules_cmd(fmt: str, kind: str | None) -> None:
    """List every rule: id, severity, kind, what it checks and its source."""
    known = sorted(k.name for k in kinds.all_kinds())
    if kind is not None and kind not in known:
        raise InputError(f"unknown kind {kind!r}", where="--kind", hint=f"choose one of: {', '.join(known)}")
    rules = [r for r in all_rules() if kind is None or r.kind in (kind, "any")]
    if fmt == "json":
        echo_json([r.to_dict() for r in rules])
        return
    for r in rules:
        click.echo(f"{r.id:<26} {r.severity.value:<11} {r.kind:<14} {r.summary}  [{r.source}]")

"""``sendx generate KIND --count N --seed S [-o OUT]``: realistic, valid, synthetic test data.

For vendors and LAs testing an import, and for the benchmarks: every person is invented and
every document validates.  ``ctf`` writes one CTF of N pupils, streamed (any size in bounded
memory, never over the CTF size limit sendx reads back).  The JSON kinds write N documents:
one as a JSON file (or to stdout), several into the directory ``-o`` names (one file each), or
as JSON Lines on stdout.  A kind is one row of a table here; the generators live in
``sendx.exchange.synth``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from sendx.exchange.cli import cli
from sendx.exchange.synth.ctf import iter_synthetic_ctf
from sendx.exchange.synth.ehcp import iter_synthetic_ehcps
from sendx.exchange.synth.movements import synthetic_movements
from sendx.exchange.synth.passport import iter_synthetic_passports
from sendx.validators import parsing
from sendx.validators.errors import InputError, TooLargeError
from sendx.validators.wording import plural


def _movements(count: int, *, seed: int, as_of: dt.date | None, la: str) -> Iterator[dict[str, Any]]:
    """Movements touching LA ``la`` over the three academic years before ``as_of``'s."""
    day = as_of or dt.date.today()
    year = day.year if day.month >= 9 else day.year - 1
    return synthetic_movements(count, seed=seed, la=la, start=dt.date(year - 3, 9, 1), years=3)


#: JSON kind → (its generator: count, seed, as_of, la → documents; the field that names a document).
JSON_SERIES: dict[str, tuple[Callable[..., Iterator[dict[str, Any]]], str]] = {
    "ehcp": (lambda count, *, seed, as_of, la: iter_synthetic_ehcps(count, seed=seed, as_of=as_of), "planId"),
    "movements": (_movements, "eventId"),
    "passport": (
        lambda count, *, seed, as_of, la: iter_synthetic_passports(count, seed=seed, as_of=as_of),
        "passportId",
    ),
}
#: Most documents or pupils one run makes.
MAX_COUNT = 10_000_000


@cli.command("generate")
@click.argument("kind", type=click.Choice(["ctf", *sorted(JSON_SERIES)]))
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(1, MAX_COUNT), help="pupils (ctf) or documents"
)
@click.option("--seed", default=0, show_default=True, type=int, help="the same seed gives the same data")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="file (a directory for several JSON documents)")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="the date the data is current on (default today)")
@click.option("--from", "source", default="8201234", show_default=True, help="ctf: the sending school's LAESTAB")
@click.option("--to", "dest", default="8205678", show_default=True, help="ctf: the receiving school's LAESTAB")
@click.option("--la", default="330", show_default=True, help="movements: the LA whose area they touch")
def generate_cmd(
    kind: str, count: int, seed: int, output: Path | None, as_of: dt.datetime | None, source: str, dest: str, la: str
) -> None:
    """Write synthetic CTFs, EHC plans, movement events or adjustment passports (invented people, valid documents)."""
    if kind == "ctf":
        _write_ctf(count, seed, output, source, dest)
        return
    make, name_field = JSON_SERIES[kind]
    docs = make(count, seed=seed, as_of=as_of.date() if as_of else None, la=la)
    if count == 1:
        text = json.dumps(next(docs), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            click.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
    elif output is None:
        for doc in docs:  # JSON Lines: one document a line
            click.echo(json.dumps(doc, ensure_ascii=False))
    else:
        output.mkdir(parents=True, exist_ok=True)
        for doc in docs:
            (output / f"{doc[name_field]}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if output is not None:
        noun = {"ehcp": "EHC plan", "movements": "movement event"}.get(kind, kind)
        click.echo(f"wrote {plural(count, noun)} to {output}", err=True)


def _write_ctf(count: int, seed: int, output: Path | None, source: str, dest: str) -> None:
    for what, code in (("--from", source), ("--to", dest)):
        if not (len(code) == 7 and (code.isdigit() or (what == "--to" and code in ("XXXXXXX", "MMMMMMM")))):
            raise InputError(f"{code!r} is not a LAESTAB (3-digit LA and 4-digit establishment)", where=what)
    chunks = iter_synthetic_ctf(count, seed=seed, source_laestab=source, dest_laestab=dest)
    if output is None:
        _stream(chunks, sys.stdout.buffer, "standard output")
        sys.stdout.flush()
        return
    try:
        with output.open("wb") as fh:
            _stream(chunks, fh, str(output))
    except TooLargeError:
        output.unlink(missing_ok=True)  # never leave a CTF that sendx would refuse to read
        raise
    click.echo(f"wrote a CTF of {plural(count, 'pupil')} to {output}", err=True)


def _stream(chunks: Iterator[bytes], fh: IO[bytes], where: str) -> None:
    limit, written = parsing.MAX_CTF_BYTES, 0
    for chunk in chunks:
        written += len(chunk)
        if written > limit:
            raise TooLargeError(
                f"the CTF grew past the CTF size limit of {limit:,} bytes, which sendx would refuse to read",
                where=where,
                hint="generate fewer pupils, or raise SENDX_MAX_CTF_BYTES",
            )
        fh.write(chunk)

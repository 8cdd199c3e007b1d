"""``sendx render``: an EHC plan as a phone-readable, accessible HTML page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from sendx.adapters.html import render_document
from sendx.exchange.cli import cli
from sendx.validators.errors import InputError
from sendx.validators.rules import Context


@cli.command("render")
@click.argument("plan", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the page here (default: stdout)."
)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Date that 'today' means for timescale rules.")
def render_cmd(plan: Path, output: Path | None, as_of: dt.datetime | None) -> None:
    """Render an EHCP (JSON) as one self-contained HTML page.

    The plan is validated first: a plan with errors is refused (exit 1, as `sendx validate`
    exits for an invalid document); another kind of document, or a file that cannot be read,
    is a usage error (exit 2).  Warnings are listed on stderr and the page is still written.
    """
    if not plan.exists():
        raise InputError(f"no such file: {plan}")
    ctx = Context(as_of=as_of.date()) if as_of else Context()
    html, report = render_document(plan, context=ctx)
    for issue in report.issues:
        click.echo(f"sendx: {issue.severity.value}: {issue.location or '/'}: {issue.message} [{issue.rule}]", err=True)
    if output is None:
        click.echo(html, nl=False)
        return
    try:
        output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)

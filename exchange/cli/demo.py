"""``sendx demo``: the whole story of SPEC §9 on a fresh SQLite hub."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sendx.exchange.cli import cli
from sendx.exchange.client.demo import run_demo


@cli.command("demo")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="where the demo hub keeps its data (default: $SENDX_HOME/demo; re-runs start it afresh)",
)
def demo_cmd(home: Path | None) -> None:
    """Run the end-to-end demonstration (embedded SQLite, no set-up needed)."""
    result = run_demo(click.echo, home=home)
    sys.exit(0 if result.ok else 1)

"""``sendx demo``."""

from __future__ import annotations

import sys

import click

from exchange.cli import cli
from exchange.demo import run_demo


@cli.command("demo")
def demo_cmd() -> None:
    """Run the end-to-end demonstration (embedded SQLite, no set-up needed)."""
    result = run_demo(click.echo)
    sys.exit(0 if result.ok else 1)

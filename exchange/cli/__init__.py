"""The ``sendx`` command line: thin subcommands over the library.

Each subcommand parses its arguments, calls one library function and formats the result.
``SendxError``s are translated here, once, into a message on stderr and an exit code
(0 success, 1 invalid/failed check, 2 usage or I/O error); no traceback reaches a user.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from validators.errors import SendxError

__all__ = ["cli", "main"]

# Subcommand modules; each defines click commands and registers them on ``cli``.
_COMMAND_MODULES = (
    "exchange.cli.validate",
    "exchange.cli.demo",
    "exchange.cli.render",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SendxError as exc:
            click.echo(f"sendx: error: {exc.diagnostics()}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # the last line of defence: users never see a traceback
            if os.environ.get("SENDX_DEBUG"):
                raise
            click.echo(
                f"sendx: internal error ({type(exc).__name__}); this is a bug, please report it "
                "(set SENDX_DEBUG=1 for details)",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sendx")
def cli() -> None:
    """sendx: records exchange and standards validator for England's SEND system."""


def load_commands() -> click.Group:
    """Import every subcommand module (registering its commands) and return the group."""
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod)
    return cli


def main(argv: list[str] | None = None) -> None:
    load_commands()
    try:
        cli.main(args=argv, prog_name="sendx")
    except KeyboardInterrupt:
        click.echo("sendx: interrupted", err=True)
        sys.exit(130)

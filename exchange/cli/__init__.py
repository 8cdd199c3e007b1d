"""The ``sendx`` command line: thin subcommands over the library.

Each subcommand parses its arguments, calls one library function and formats the result.
``SendxError``s are translated here, once, into a message on stderr and an exit code
(0 success, 1 invalid/failed check, 2 usage or I/O error); no traceback reaches a user.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from typing import Any

import click

from sendx.validators.errors import SendxError

__all__ = ["cli", "main"]

#: 128 + SIGPIPE: the status a shell reports for a filter whose reader closed the pipe.
_BROKEN_PIPE = 141


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SendxError as exc:
            click.echo(f"sendx: error: {exc.diagnostics()}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (``sendx rules | head``): stop quietly, as a Unix filter
            # killed by SIGPIPE would, and keep the interpreter's final flush from failing too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(_BROKEN_PIPE)
        except OSError as exc:  # e.g. -o into a directory that does not exist: an I/O error, not a bug
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"sendx: error: {exc.strerror or exc}{where}", err=True)
            ctx.exit(2)
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
    # Every module in this package defines subcommands on ``cli``: adding a command is adding
    # a module, with no central list to keep in step.
    for mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{mod}")
    return cli


def main(argv: list[str] | None = None) -> None:
    try:
        load_commands()
    except SendxError as exc:  # a setting read on import (a size limit) is wrong
        click.echo(f"sendx: error: {exc.diagnostics()}", err=True)
        sys.exit(exc.exit_code)
    try:
        cli.main(args=argv, prog_name="sendx")
    except KeyboardInterrupt:
        click.echo("sendx: interrupted", err=True)
        sys.exit(130)

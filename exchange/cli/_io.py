"""What the ``sendx`` commands share for input and output: ``-`` as standard input, and the
one ``--format text|json`` convention (short text for people by default, JSON for programs).
"""

from __future__ import annotations

import json
import sys

import click

from sendx.validators.errors import TooLargeError

__all__ = ["STDIN", "STDIN_NAME", "echo_json", "format_option", "read_stdin"]

#: The argument that names standard input instead of a file.
STDIN = "-"
#: How a document read from standard input is named in reports and messages.
STDIN_NAME = "<stdin>"

#: ``--format``: every command that prints data takes it, with these two values.
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json for programs.",
)


def echo_json(value: object) -> None:
    """Print ``value`` as indented JSON: what ``--format json`` prints."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def read_stdin(limit: int) -> bytes:
    """All of standard input, refused once it passes ``limit`` bytes (never read without end)."""
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(
            f"standard input is more than the limit of {limit:,} bytes",
            where=STDIN_NAME,
            hint="raise SENDX_MAX_JSON_BYTES (JSON documents) or SENDX_MAX_CTF_BYTES (a CTF) if it is genuine",
        )
    return data

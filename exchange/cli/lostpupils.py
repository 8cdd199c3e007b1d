"""``sendx lost-pupils``: an LA's side of the lost-pupil pool, over the hub's API.

CTFs sent to an unknown destination (XXXXXXX) or to an independent school or abroad
(MMMMMMM) wait in the pool of the source school's LA; the LA finds a pupil by UPN and
redirects the CTF to the school the pupil turned up at.
"""

from __future__ import annotations

from typing import Any

import click

from sendx.exchange.cli import cli
from sendx.exchange.cli._io import echo_json, format_option

#: The hub's ``status`` filter (``/v1/lost-pupils``).
STATUSES = ("open", "redirected", "all")


def _client() -> Any:
    from sendx.exchange.client.hubclient import from_profile

    return from_profile()[0]


def _line(item: dict[str, Any]) -> str:
    where = f" -> {item['redirectedTo']}" if item.get("redirectedTo") else ""
    return f"{item['id']}  {item.get('created', '')}  {item['status']:<10} from {item.get('source', '?')}{where}"


@cli.group("lost-pupils", invoke_without_command=True)
@click.option("--upn", help="only this pupil (the hub matches it without storing it in the clear)")
@click.option("--status", type=click.Choice(STATUSES), default="open", show_default=True)
@format_option
@click.pass_context
def lost_pupils(ctx: click.Context, upn: str | None, status: str, fmt: str) -> None:
    """Search your area's lost-pupil pool (LAs only); `redirect` sends a pupil's CTF on."""
    if ctx.invoked_subcommand is not None:
        return
    page = _client().lost_pupils(upn=upn, status=status)
    if fmt == "json":
        echo_json(page)
        return
    for item in page["items"]:
        click.echo(_line(item))
    if not page["items"]:
        click.echo("no lost pupils" + (f" with UPN {upn}" if upn else "") + ("" if status == "all" else f" ({status})"))


@lost_pupils.command("redirect")
@click.argument("lost_id", metavar="ID")
@click.option("--to", "school", required=True, help="the school: its participant id, LAESTAB or URN")
@format_option
def redirect(lost_id: str, school: str, fmt: str) -> None:
    """Send the CTF of lost pupil ID on to a school (a new transfer, and a join in the movement log)."""
    result = _client().redirect(lost_id, school)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(f"redirected {lost_id} to {result['recipient']}: transfer {result['id']}")

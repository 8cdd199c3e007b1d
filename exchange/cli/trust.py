"""``sendx trust pull``: the hub's trust registry (every participant's public keys) into the local
trust file, so that ``sendx verify`` checks signatures offline against keys the hub registered."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sendx.exchange.cli import cli
from sendx.exchange.cli._io import echo_json, format_option
from sendx.validators.wording import plural


@cli.group("trust")
def trust_group() -> None:
    """The trust registry that `sendx verify` checks signatures against."""


@trust_group.command("pull")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SENDX_HOME",
    help="sendx data directory whose trust.json to update [env SENDX_HOME; default ~/.sendx].",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write the hub's registry here instead"
)
@format_option
def pull(home: Path | None, output: Path | None, fmt: str) -> None:
    """Fetch every participant's public keys from the hub.

    By default they join the local trust file ($SENDX_HOME/trust.json): keys already there keep
    what this machine knows of them (rotation dates), and take the hub's revocations.
    """
    from sendx.exchange.client.hubclient import from_profile, registry_from_hub
    from sendx.exchange.home import write_private
    from sendx.exchange.trust.keys import KeyStore

    client, profile = from_profile()
    pulled = registry_from_hub(client.all_keys().get("participants"))
    if output is not None:
        write_private(output, (json.dumps(pulled.to_dict(), indent=2) + "\n").encode("utf-8"))
        target = output
    else:
        store = KeyStore(home)
        store.adopt(pulled)
        target = store.trust_path
    keys = sum(1 for _ in pulled)
    if fmt == "json":
        echo_json({"hub": profile.hub, "file": str(target), "participants": len(pulled.participants), "keys": keys})
    else:
        who = plural(len(pulled.participants), "participant")
        click.echo(f"{plural(keys, 'key')} of {who} from {profile.hub} -> {target}")

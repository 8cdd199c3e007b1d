"""``sendx log verify`` and ``sendx log receipt``: audit the hub's movement log from outside.

``verify`` fetches the signed checkpoint and streams the entries (on later runs only those
after the last checkpoint it verified), recomputes the tree, checks it is consistent with the
checkpoints this machine saw before (kept in a state file per hub) and names the first altered
entry if anything changed; with an LA's token it also checks that the movements the hub gives
the LA are exactly the entries naming it.  Exit 0 verified, 1 altered or refused, 2 usage or
I/O error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import click

from sendx.exchange.cli import cli
from sendx.exchange.home import private_dir
from sendx.validators.errors import InputError
from sendx.validators.wording import plural

_RECEIPT_LIMIT = 64 * 1024


def _default_state(hub_url: str, previous: bool) -> Path:
    from sendx.exchange.home import default_home

    # One state per hub (and per log): what was seen at one hub says nothing about another.
    name = hashlib.sha256(hub_url.encode("utf-8")).hexdigest()[:16]
    return default_home() / "log-state" / f"{name}{'.previous' if previous else ''}.json"


def _read_receipt(path: Path) -> str:
    if path.stat().st_size > _RECEIPT_LIMIT:
        raise InputError(f"a receipt is a few kilobytes; this file is over {_RECEIPT_LIMIT:,} bytes", where=str(path))
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("the receipt is not UTF-8 text", where=str(path)) from None


@cli.group()
def log() -> None:
    """Audit the hub's tamper-evident movement log."""


@log.command()
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path), help="state file to use")
@click.option("--verifier", help="the hub's log key (name+id+key) to pin; default: trust the hub's on first use")
@click.option("--index", type=click.IntRange(min=0), help="also check this entry's inclusion proof")
@click.option(
    "--receipt", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="also check an offline receipt"
)
@click.option("--previous", is_flag=True, help="verify the log the hub kept before leaf format 2 instead")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def verify(
    state_path: Path | None, verifier: str | None, index: int | None, receipt: Path | None, previous: bool, fmt: str
) -> None:
    """Recompute the log from its entries and check it against every checkpoint seen before."""
    from sendx.exchange.client.hubclient import from_profile
    from sendx.exchange.log.audit import audit_log
    from sendx.exchange.log.verify import VerifierState

    client, profile = from_profile()
    path = state_path or _default_state(profile.hub, previous)
    receipt_text = _read_receipt(receipt) if receipt else None
    me = client.me()
    la = me.get("la") if me.get("role") == "la" and not previous else None  # an LA audits its area too
    state = VerifierState.load(path)
    if not previous and state.origin is not None and state.origin == client.checkpoint().get("previous"):
        raise InputError(
            f"{path} holds checkpoints of the log this hub replaced ({state.origin})",
            hint=f"check that log with `sendx log verify --previous --state {path}`; the new log gets a new state",
        )
    result = audit_log(client, state, verifier=verifier, index=index, receipt=receipt_text, la=la, previous=previous)
    if index is not None and any(p.kind == "no-such-entry" for p in result.problems):
        # A typo, not an attack: the log verified, the entry asked for is past its end.
        raise InputError(
            f"there is no entry {index}: the log holds {plural(result.entries, 'entry', 'entries')}",
            where="--index",
            hint=f"entries are numbered from 0 to {result.entries - 1}" if result.entries else "the log is empty",
        )
    if result.ok:
        private_dir(path.parent)
        result.state.save(path)
    if fmt == "json":
        click.echo(json.dumps({**result.to_dict(), "state": str(path)}, indent=2))
    elif result.ok:
        cp = result.checkpoint
        assert cp is not None
        seen = len(state.checkpoints)
        click.echo(
            f"log verified: {plural(result.entries, 'entry', 'entries')}, checkpoint size {cp.size} ({cp.origin})"
        )
        if result.read < result.entries:
            click.echo(
                f"read {plural(result.read, 'new entry', 'new entries')}; a consistency proof covers "
                f"the {state.size} verified before"
            )
        if la is not None:
            click.echo(
                f"area {la}: the {plural(result.area_entries, 'entry', 'entries')} naming it are the movements "
                "the hub returns"
            )
        if seen:
            click.echo(f"consistent with {plural(seen, 'checkpoint')} seen before; state kept in {path}")
        else:
            click.echo(f"first verification of this log from here; state kept in {path}")
        if index is not None:
            click.echo(f"entry {index} is included (the hub's inclusion proof checks out)")
        if receipt is not None:
            click.echo(f"receipt {receipt.name} verifies against this log")
    else:
        first = result.first_altered
        click.echo("log NOT verified" + (f": the first altered entry is {first}" if first is not None else ""))
        for p in result.problems:
            click.echo(f"  {p.kind}: {p.message}")
    raise SystemExit(0 if result.ok else 1)


@log.command()
@click.argument("index", type=click.IntRange(min=0))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file to write (default stdout)")
def receipt(index: int, output: Path | None) -> None:
    """Download the offline receipt (C2SP tlog-proof) for log entry INDEX."""
    from sendx.exchange.client.hubclient import from_profile

    client, _ = from_profile()
    text = client.receipt(index)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"receipt for entry {index} written to {output}", err=True)

"""``sendx admin``: set up a hub's database, participants, keys and API tokens (run on the hub host)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from sendx.exchange.cli import cli
from sendx.exchange.cli._io import echo_json, format_option
from sendx.validators.errors import InputError
from sendx.validators.wording import plural


def _hub() -> Any:
    from sendx.exchange.hub import build_hub

    return build_hub()


@cli.group()
def admin() -> None:
    """Administer the hub on this machine (data directory: $SENDX_HOME)."""


@admin.command("init")
def init() -> None:
    """Create or upgrade the hub database and its keys."""
    hub = _hub()
    cfg = hub.config
    click.echo(f"data directory: {cfg.home}")
    click.echo(f"database: {hub.store.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"log verifier key: {hub.log_verifier}")


@admin.group()
def participant() -> None:
    """Register and list participants."""


@participant.command("add")
@click.option("--id", "pid", required=True, help="participant id, e.g. school-145832")
@click.option("--role", required=True, type=click.Choice(["school", "college", "health", "la", "admin"]))
@click.option("--name", required=True)
@click.option("--la", help="LA code (3 digits)")
@click.option("--urn")
@click.option("--laestab")
@click.option("--ukprn")
@click.option("--ods")
@format_option
def participant_add(pid: str, role: str, name: str, fmt: str, **ids: str | None) -> None:
    """Register a participant."""
    p = _hub().add_participant(pid, role, name, **ids)
    if fmt == "json":
        echo_json(p)
    else:
        click.echo(f"registered {_participant_line(p)}")


def _participant_line(p: dict[str, Any]) -> str:
    extra = " ".join(f"{k}={v}" for k, v in p.items() if k not in ("id", "role", "name") and v is not None)
    return f"{p['id']:<24} {p['role']:<8} {p['name']}  {extra}".rstrip()


@participant.command("list")
@format_option
def participant_list(fmt: str) -> None:
    """List participants."""
    participants = _hub().list_participants()
    if fmt == "json":
        echo_json(participants)
        return
    for p in participants:
        click.echo(_participant_line(p))


@admin.group()
def key() -> None:
    """Register and revoke participants' public keys."""


def read_jwk(path: Path, participant: str) -> dict[str, Any]:
    """A public JWK from a file: a bare JWK, or a trust file from `sendx keys export`."""
    from sendx.validators.parsing import load_json, read_bytes

    # The file comes from the participant: parse it strictly (a duplicated "x" must not
    # let the admin see one key while the hub registers another).
    try:
        data = load_json(read_bytes(path, 1024 * 1024))
    except InputError as exc:
        raise InputError(f"cannot read the key file: {exc.message}", where=str(path), hint=exc.hint) from None
    if isinstance(data, dict) and "participants" in data:
        from sendx.exchange.trust.keys import TrustRegistry

        try:
            registry = TrustRegistry.from_dict(data)  # checks every entry: no half-read trust file
        except InputError as exc:
            where = f"{path} {exc.where}" if exc.where else str(path)
            raise InputError(f"the trust file is not valid: {exc.message}", where=where) from None
        keys = [k for k in registry.keys_of(participant) if k.revoked_at is None]
        if not keys:
            raise InputError(f"the trust file has no active key for {participant!r}", where=str(path))
        return dict(keys[-1].jwk)
    if isinstance(data, dict) and "kty" in data:
        return {k: v for k, v in data.items() if k not in ("d",)}  # never store a private part
    raise InputError("the file is neither a JWK nor a sendx trust file", where=str(path))


@key.command("add")
@click.option("--participant", required=True)
@click.option("--jwk", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
def key_add(participant: str, path: Path, fmt: str) -> None:
    """Register a participant's public key (a JWK, or the output of `sendx keys export`)."""
    result = _hub().add_key(participant, read_jwk(path, participant))
    if fmt == "json":
        echo_json(result)
    else:
        state = " (it was registered before, and is revoked)" if result["revoked"] else ""
        click.echo(f"key {result['kid']} is {result['participant']}'s{state}")


@key.command("revoke")
@click.option("--kid", required=True)
@format_option
def key_revoke(kid: str, fmt: str) -> None:
    """Revoke a key: envelopes signed with it are refused from now on."""
    result = _hub().revoke_key(kid)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(f"revoked key {result['kid']} of {result['participant']}")


@admin.group()
def token() -> None:
    """Issue and revoke API tokens."""


@token.command("new")
@click.option("--participant", required=True)
@format_option
def token_new(participant: str, fmt: str) -> None:
    """Issue a new API token. It is shown once (the token alone, to pipe on); the hub keeps only its hash."""
    token = _hub().new_token(participant)
    if fmt == "json":
        echo_json({"participant": participant, "token": token})
    else:
        click.echo(token)


@token.command("revoke")
@click.option("--participant", required=True)
@click.option("--token", "token_text", help="the token to revoke (read from stdin if '-'); default: all of them")
@format_option
def token_revoke(participant: str, token_text: str | None, fmt: str) -> None:
    """Revoke one API token of a participant, or all its tokens; effective at once."""
    if token_text == "-":  # keeps the secret out of the shell history and process list
        token_text = sys.stdin.readline().strip()
    result = _hub().revoke_tokens(participant, token_text)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(f"revoked {plural(result['revoked'], 'token')} of {participant}")


@admin.command("retention")
@click.option("--dry-run", "mode", flag_value="dry-run", help="list the movements due for erasure; change nothing")
@click.option("--apply", "mode", flag_value="apply", help="erase their details (recorded in the access log)")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="judge as of this date (default today)")
def retention(mode: str | None, as_of: Any) -> None:
    """Erase the details of movements past their retention period; their log entries stay.

    The period is the pupil's date of birth + SENDX_RETENTION_YEARS (default 25), or the
    movement's date + that many years when the hub does not know the date of birth.
    """
    if mode is None:
        raise click.UsageError("say --dry-run to see what is due, or --apply to erase it")
    out = _hub().retention(as_of=as_of.date() if as_of else None, apply=mode == "apply")
    indices = out["logIndices"]
    shown = ", ".join(map(str, indices[:20])) + (f" and {len(indices) - 20} more" if len(indices) > 20 else "")
    click.echo(
        f"as of {out['asOf']}: {out['due']} movement(s) past retention (date of birth + {out['years']} years, "
        "or the movement's date + as many when the date of birth is unknown)"
    )
    if indices:
        click.echo(f"log entries: {shown}")
    for s in out["skipped"]:
        click.echo(f"skipped log entry {s['logIndex']}: {s['problem']}")
    if mode == "apply":
        click.echo(f"erased the details of {out['erased']}; their log entries stay; recorded in the access log")
    else:
        click.echo("dry run: nothing was changed (use --apply to erase)")

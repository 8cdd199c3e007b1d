"""``sendx keys new|list|revoke|export``, ``sendx sign`` and ``sendx verify``.

Keys live under ``--home`` (default ``$SENDX_HOME``, else ``~/.sendx``).  ``verify`` exits
0 if the signature is valid, 1 if it is not, 2 on a usage or I/O error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path

import click

from sendx.exchange.cli import cli
from sendx.exchange.cli._io import STDIN, STDIN_NAME, echo_json, format_option, read_stdin
from sendx.exchange.trust.keys import KeyStore, RevocationReason, TrustRegistry, format_time, parse_time
from sendx.exchange.trust.signing import SignatureError, sign_document, sign_file, verify_file
from sendx.validators import parsing
from sendx.validators.errors import ConfigError, InputError

_home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SENDX_HOME",
    help="sendx data directory holding keys/ and trust.json [env SENDX_HOME; default ~/.sendx].",
)


@cli.group("keys")
def keys_group() -> None:
    """Manage this participant's Ed25519 signing keys and the local trust file."""


@keys_group.command("new")
@click.option("--org", required=True, help="Participant id, e.g. la-330 or college-10012345.")
@_home_option
@format_option
def keys_new(org: str, home: Path | None, fmt: str) -> None:
    """Create a key for ORG; an older key of ORG stops signing now but still verifies."""
    store = KeyStore(home)
    key = store.generate(org)
    if fmt == "json":
        echo_json({"org": key.org, "kid": key.kid, "jwk": key.public_jwk, "home": str(store.home)})
    else:
        click.echo(f"created key {key.kid} for {key.org} in {store.keys_dir / key.org}")


@keys_group.command("list")
@_home_option
@format_option
def keys_list(home: Path | None, fmt: str) -> None:
    """List keys in the local trust file, with their validity and whether the private key is here."""
    infos = KeyStore(home).list()
    if fmt == "json":
        echo_json([i.to_dict() for i in infos])
        return
    if not infos:
        click.echo("no keys (create one with `sendx keys new --org ID`)")
    for info in infos:
        key = info.key
        state = "active"
        if key.revoked_at is not None:
            state = f"revoked {format_time(key.revoked_at)} ({key.revocation_reason})"
        elif key.expires is not None:
            state = f"signing ended {format_time(key.expires)}"
        private = "private+public" if info.has_private else "public only"
        click.echo(f"{info.org:<20} {key.kid}  from {format_time(key.not_before)}  {state}  [{private}]")


class _KidArgument(click.Command):
    """A key id is base64url and so may start with '-': never mistake one for an option.

    A 43-character thumbprint is no option name, so such an argument is moved behind ``--``
    (what a user would otherwise have to type) before click parses the line.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        kids = [a for a in args if _DASHED_KID.fullmatch(a)]
        if kids and "--" not in args:
            args = [*(a for a in args if a not in kids), "--", *kids]
        return super().parse_args(ctx, args)


_DASHED_KID = re.compile(r"-[A-Za-z0-9_-]{42}")


@keys_group.command("revoke", cls=_KidArgument)
@click.argument("kid")
@click.option("--at", "at_text", help="Revocation time (RFC 3339, e.g. 2026-05-01T12:00:00Z); default now.")
@click.option(
    "--reason",
    type=click.Choice([r.value for r in RevocationReason]),
    default=RevocationReason.UNSPECIFIED.value,
    show_default=True,
    help="'compromised' refuses every signature the key ever made; others only those from --at on.",
)
@_home_option
@format_option
def keys_revoke(kid: str, at_text: str | None, reason: str, home: Path | None, fmt: str) -> None:
    """Revoke key KID in the local trust file."""
    at = parse_time(at_text, "--at") if at_text else None
    key = KeyStore(home).revoke(kid, at=at, reason=RevocationReason(reason))
    if fmt == "json":
        echo_json(key.to_dict())
    else:
        click.echo(f"revoked {key.kid} from {format_time(key.revoked_at or dt.datetime.now(dt.UTC))} ({reason})")


@keys_group.command("export")
@click.option("--org", required=True, help="Participant whose public keys to export.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout.")
@_home_option
def keys_export(org: str, output: Path | None, home: Path | None) -> None:
    """Print ORG's public keys as a trust file (give it to the hub or a peer; no private keys)."""
    text = json.dumps(KeyStore(home).export(org).to_dict(), indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@cli.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the result.")
@click.option("--org", help="Participant that signs (needed if the key store holds several).")
@_home_option
@format_option
def sign_cmd(file: str, output: Path | None, org: str | None, home: Path | None, fmt: str) -> None:
    """Sign FILE with the participant's current key.

    JSON: a FILE-stem.sig.json sidecar (the document is untouched); an envelope: its
    signature is filled in (in place unless -o); CTF XML: a FILE.sig detached JWS.
    FILE - reads standard input: the signature (or the signed envelope) is written to
    -o, or to standard output, and what was done to standard error.
    """
    key = KeyStore(home).current(org)
    if file == STDIN:
        _, text = sign_document(read_stdin(parsing.MAX_CTF_BYTES), key, where=STDIN_NAME)
        if output is None:
            click.echo(text, nl=False)
            click.echo(f"signed {STDIN_NAME} as {key.org} with key {key.kid}", err=True)
            return
        output.write_text(text, encoding="utf-8")
        target = output
    else:
        target = sign_file(Path(file), key, output)
    if fmt == "json":
        echo_json({"file": file, "output": str(target), "kid": key.kid, "signer": key.org})
    else:
        click.echo(f"signed {file} as {key.org} with key {key.kid} -> {target}")


@cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trust file (e.g. from `sendx keys export` or the hub); default: the local one in --home.",
)
@click.option("--sig", type=click.Path(dir_okay=False, path_type=Path), help="Signature file (default: the sidecar).")
@_home_option
@format_option
def verify_cmd(file: Path, trust: Path | None, sig: Path | None, home: Path | None, fmt: str) -> None:
    """Verify FILE's signature against a trust registry.

    Exit status: 0 valid, 1 invalid (unknown, revoked or expired key, altered content,
    damaged signature), 2 usage or I/O error.
    """
    registry = _registry(trust, home)
    try:
        verified = verify_file(file, registry, sig)
    except SignatureError as exc:
        if fmt != "json":
            raise
        echo_json({"file": str(file), "valid": False, "reason": exc.reason.value, "message": exc.message})
        sys.exit(exc.exit_code)
    if fmt == "json":
        echo_json({"file": str(file), **verified.to_dict()})
    else:
        click.echo(
            f"{file}: valid signature by {verified.signer} (key {verified.kid}) at {format_time(verified.signed_at)}"
        )


def _registry(trust: Path | None, home: Path | None) -> TrustRegistry:
    if trust is not None:
        return TrustRegistry.load(trust)
    store = KeyStore(home)
    if not store.trust_path.exists():
        raise ConfigError(
            f"no trust file at {store.trust_path}",
            hint="pass --trust FILE (a trust file from the hub or `sendx keys export`)",
        )
    try:
        return store.trust()
    except InputError as exc:
        raise ConfigError(f"the local trust file is unreadable: {exc.message}", where=str(store.trust_path)) from None

"""``sendx serve``, ``send``, ``inbox``, ``fetch``, ``ack``, ``movements``, ``login``: the hub from both sides.

Configured by ``$SENDX_HOME/profile.json`` (hub URL, participant, token; written by
``sendx login``) or ``SENDX_HUB_URL`` / ``SENDX_PARTICIPANT`` / ``SENDX_TOKEN``.  Every command
that prints data prints a short line per item by default and the hub's JSON with ``--format json``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from sendx.exchange.cli import cli
from sendx.exchange.cli._io import echo_json, format_option
from sendx.validators.errors import InputError


def _client() -> Any:
    from sendx.exchange.client.hubclient import from_profile

    return from_profile()


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--dev", is_flag=True, help="Werkzeug's development server in this process (not for a shared hub)")
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Run the hub: gunicorn with --workers gevent worker processes (or, with --dev, a development server)."""
    from sendx.exchange.hub import build_hub
    from sendx.exchange.hub.server import run, run_development

    hub = build_hub()  # migrate once, before any worker starts
    hub.store.dispose()
    click.echo(f"sendx hub on http://{host}:{port}  (data: {hub.config.home}, workers: {workers})", err=True)
    if dev:
        run_development(host, port)
    else:
        run(host, port, workers)


def _read_token() -> str:
    """The token from the terminal (not echoed) or, piped in, from the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("Token", hide_input=True))
    # getpass would warn that it cannot hide a pipe's input; there is nothing to hide.
    return sys.stdin.readline().strip()


@cli.command()
@click.option("--hub", "url", required=True, help="hub base URL, e.g. https://hub.example.org")
@click.option("--participant", required=True)
@click.option("--token", help="the API token (default: asked for, or read from standard input when piped)")
def login(url: str, participant: str, token: str | None) -> None:
    """Save the hub URL, participant and token to $SENDX_HOME/profile.json (0600)."""
    from sendx.exchange.client.hubclient import HubClient, Profile, save_profile

    token = token or _read_token()
    if not token:
        raise InputError("no token given", hint="pipe it in (sendx login ... < token.txt) or type it when asked")
    me = HubClient(url, token).me()
    if me["id"] != participant:
        raise InputError(f"that token belongs to {me['id']!r}, not {participant!r}")
    click.echo(f"saved {save_profile(Profile(url.rstrip('/'), participant, token))}")


def _transfer_line(t: dict[str, Any]) -> str:
    return f"{t['id']}  {t['created']}  {t['kind']:<13} from {t['sender']:<20} {t['status']}"


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "recipient", required=True, help="participant id (or, for a CTF, the school's LAESTAB/URN)")
@click.option("--kind", help="document kind (default: recognised from the file)")
@click.option("--idempotency-key", help="reuse to retry a send safely")
@format_option
def send(file: Path, recipient: str, kind: str | None, idempotency_key: str | None, fmt: str) -> None:
    """Sign FILE with your key and send it through the hub."""
    from sendx.exchange.client.hubclient import make_envelope, read_document
    from sendx.exchange.trust.keys import KeyStore

    client, profile = _client()
    document, kind = read_document(file, kind)
    key = KeyStore().current(profile.participant)
    env = make_envelope(document, kind, sender_key=key, recipient=recipient, idempotency_key=idempotency_key)
    result = client.send(env)
    if fmt == "json":
        echo_json(result)
        return
    to = result.get("recipient") or "the lost-pupil pool"
    click.echo(f"sent {file.name} ({result['kind']}) to {to}: transfer {result['id']}, {result['status']}")


@cli.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@format_option
def inbox(limit: int, fmt: str) -> None:
    """List transfers sent to you, newest first."""
    client, _ = _client()
    page = client.inbox(limit=limit)
    if fmt == "json":
        echo_json(page)
        return
    for t in page["items"]:
        click.echo(_transfer_line(t))
    if not page["items"]:
        click.echo("inbox empty")


@cli.command()
@click.argument("tid")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-verify", is_flag=True, help="skip checking the sender's signature")
def fetch(tid: str, output: Path | None, no_verify: bool) -> None:
    """Download a transfer's document (signature checked against the sender's registered keys).

    With -o FILE the sender's signature is kept beside FILE, where `sendx sign` puts one
    (FILE.sig.json, or FILE.xml.sig for a CTF), so `sendx verify FILE` proves who sent it.
    """
    from sendx.exchange.client.hubclient import verify_fetched
    from sendx.exchange.trust.signing import default_signature_path, envelope_sidecar

    client, _ = _client()
    transfer = client.transfer(tid)
    if not no_verify:
        verified = verify_fetched(client, transfer)
        click.echo(f"signature ok: signed by {verified.signer} ({verified.kid})", err=True)
    envelope = transfer["envelope"]
    doc = envelope["document"]
    text = doc if isinstance(doc, str) else json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    from sendx.exchange.home import write_private

    write_private(output, text.encode("utf-8"))
    sidecar = default_signature_path(output)
    write_private(sidecar, (json.dumps(envelope_sidecar(envelope), indent=2, ensure_ascii=False) + "\n").encode())
    click.echo(f"wrote {output} (signature beside it: {sidecar.name})", err=True)


@cli.command()
@click.argument("tid")
@format_option
def ack(tid: str, fmt: str) -> None:
    """Acknowledge a transfer you received."""
    client, _ = _client()
    result = client.ack(tid)
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(f"acknowledged {result['id']} ({result['kind']} from {result['sender']})")


@cli.group()
def movements() -> None:
    """Record and list pupil movements."""


@movements.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
def movements_add(file: Path, fmt: str) -> None:
    """Record a movement event (JSON, movement schema)."""
    from sendx.validators.parsing import load_json, read_json_bytes

    client, _ = _client()
    result = client.record_movement(load_json(read_json_bytes(file)))
    if fmt == "json":
        echo_json(result)
    else:
        click.echo(f"recorded {result['eventId']} (log entry {result['logIndex']})")


@movements.command("list")
@click.option("--type", "type_")
@click.option("--from", "date_from", help="effective on or after (YYYY-MM-DD)")
@click.option("--to", "date_to", help="effective on or before (YYYY-MM-DD)")
@click.option("--ap", is_flag=True, help="only movements into or out of alternative provision")
@click.option("--upn")
@format_option
def movements_list(
    type_: str | None, date_from: str | None, date_to: str | None, ap: bool, upn: str | None, fmt: str
) -> None:
    """List the movements you can see (an LA: its area)."""
    client, _ = _client()
    page = client.movements(type=type_, date_from=date_from, date_to=date_to, ap="true" if ap else None, upn=upn)
    if fmt == "json":
        echo_json(page)
        return
    for m in page["items"]:
        e = m["event"]
        frm = (e.get("from") or {}).get("name", "-")
        to = (e.get("to") or {}).get("name", "-")
        click.echo(f"{e['effectiveDate']}  {e['type']:<22} {frm} → {to}  (log #{m['logIndex']})")
    if not page["items"]:
        click.echo("no movements")


@movements.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="CSV file (default: stdout)")
@click.option("--from", "date_from", help="effective on or after (YYYY-MM-DD)")
@click.option("--to", "date_to", help="effective on or before (YYYY-MM-DD)")
@click.option("--type", "types", multiple=True, help="movement type (repeatable)")
@click.option("--setting", help="URN, UKPRN, LAESTAB or part of a setting's name")
@click.option("--setting-type", help="setting-types code")
@click.option("--ap", is_flag=True, help="only movements into, out of or between alternative provision")
@click.option("--unknown", is_flag=True, help="only destination-unknown and child-missing-education events")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def movements_export(
    output: Path | None,
    date_from: str | None,
    date_to: str | None,
    types: tuple[str, ...],
    setting: str | None,
    setting_type: str | None,
    ap: bool,
    unknown: bool,
    fmt: str,
) -> None:
    """Download your area's movements (an LA) as CSV, newest first, with progress on stderr.

    The filters are the LA movement page's; the summary (rows, file) is printed as text or JSON.
    """
    client, _ = _client()
    chunks = client.export_movements(
        **{"from": date_from, "to": date_to, "type": list(types) or None, "setting": setting},
        settingType=setting_type,
        ap="1" if ap else None,
        unknown="1" if unknown else None,
    )
    target = output.with_name(output.name + ".part") if output else None
    lines = 0
    with (
        open(target, "wb") if target else contextlib.nullcontext(sys.stdout.buffer) as out,
        click.progressbar(length=0, label="exporting", file=sys.stderr, show_pos=True, show_percent=False) as bar,
    ):
        for chunk in chunks:
            out.write(chunk)
            lines += chunk.count(b"\r\n")
            bar.pos = max(0, lines - 1)
            bar.render_progress()
    if target and output:
        target.replace(output)  # a complete file or none: an interrupted export leaves only the .part
    summary = {"rows": max(0, lines - 1), "file": str(output) if output else None}
    if fmt == "json":
        click.echo(json.dumps(summary), err=output is None)
    else:
        click.echo(f"exported {summary['rows']:,} movements" + (f" to {output}" if output else ""), err=True)

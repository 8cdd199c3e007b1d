"""Transfer envelopes: the addressed, signed wrapper every document travels in.

The envelope's own structure is checked here, and the document inside is validated as
the kind the envelope declares, so a receiver knows from one report whether what it got
is both well addressed and a valid document.  Signature verification is the job of
``sendx.exchange.trust.signing``, which needs keys this layer does not have.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sendx.validators.jsonkind import register_json_kind
from sendx.validators.report import Issue
from sendx.validators.rules import Context, Finding, rule

KIND = "envelope"

register_json_kind(
    KIND,
    description="A signed transfer envelope as it travels through the hub",
    identifiers={},
)


@rule(
    "ENVELOPE-ADDRESS",
    severity="error",
    kind=KIND,
    source="sendx hub (SPEC §7)",
    summary="An envelope is not addressed by a participant to itself",
)
def _address(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    if doc["sender"] == doc["recipient"]:
        yield Finding("/recipient", "sender and recipient are the same participant")


@rule(
    "ENVELOPE-DOCUMENT",
    severity="error",
    kind=KIND,
    source="sendx hub (SPEC §7)",
    summary="The enclosed document is a valid document of the declared kind",
)
def _document(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    inner = inner_report(doc, ctx)
    if inner.kind != doc["kind"] and not inner.errors:
        yield Finding("/document", f"the document is a {inner.kind}, not the declared {doc['kind']}")
    for issue in inner.errors:
        yield Finding(_nest(issue), f"document: {issue.rule}: {issue.message}", issue.hint)


def inner_report(envelope: Mapping[str, Any], ctx: Context | None = None) -> Any:
    """The validation report of the document carried by ``envelope``."""
    from sendx import validators

    document = envelope["document"]
    data = document.encode("utf-8") if isinstance(document, str) else document
    return validators.validate(data, envelope["kind"], context=ctx)


def _nest(issue: Issue) -> str:
    loc = issue.location
    return "/document" + loc if loc.startswith("/") or not loc else f"/document ({loc})"

"""Structure and national-standard validation for every sendx document kind.

``validate`` is the one entry point: give it bytes, text, a path or a parsed object, and
it recognises the kind (or takes the one you name), checks structure, then the rules, and
returns a ``Report`` of ``Issue``s.  Bad input never raises out of here except when a
file cannot be read at all; a document that cannot be parsed is an invalid document.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sendx.validators import kinds, parsing
from sendx.validators.errors import InputError, SendxError, TooLargeError
from sendx.validators.report import Issue, Report, Severity
from sendx.validators.rules import Context, Rule, all_rules, declare

__all__ = ["Context", "Issue", "Report", "Rule", "Severity", "all_rules", "validate"]

_PARSE = declare(
    "DOC-PARSE",
    severity="error",
    kind="any",
    source="RFC 8259 (JSON) / XML 1.0",
    summary="The file must be well-formed JSON or XML within the size limits",
)
_KIND = declare(
    "DOC-KIND",
    severity="error",
    kind="any",
    source="sendx document kinds (SPEC §3)",
    summary="The document's kind must be recognisable ($schema, resourceType or XML root)",
)


def validate(
    data: bytes | str | Path | Mapping[str, Any],
    kind: str | None = None,
    *,
    context: Context | None = None,
) -> Report:
    """Validate one document and report every issue found.

    ``data`` may be raw bytes, JSON/XML text, a ``Path`` to a file, or an already-parsed
    JSON object.  ``kind`` skips recognition.  Raises ``InputError`` only when a path
    cannot be read or names an unknown kind.
    """
    ctx = context or Context()
    path = str(data) if isinstance(data, Path) else None
    if kind is not None and kinds.get_kind(kind) is None:
        names = ", ".join(k.name for k in kinds.all_kinds())
        raise InputError(f"unknown kind {kind!r}", hint=f"choose one of: {names}")

    if isinstance(data, Mapping):
        return _validate_json(data, kind, ctx, path)

    if isinstance(data, Path):
        fmt = parsing.sniff_file(data)
    else:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        fmt = parsing.sniff_format(raw)

    if fmt == "xml":
        return _validate_xml(data if isinstance(data, Path) else raw, kind, ctx, path)
    try:
        if isinstance(data, Path):
            raw = parsing.read_json_bytes(data)
        doc = parsing.load_json(raw)
    except InputError as exc:
        return _parse_failure(exc, kind, path)
    return _validate_json(doc, kind, ctx, path)


def _parse_failure(exc: SendxError, kind: str | None, path: str | None) -> Report:
    """A document that cannot be parsed is an invalid document; an unreadable file is an error."""
    if path is not None and exc.where == path and not isinstance(exc, TooLargeError):
        raise exc
    where = "" if exc.where == path else exc.where or ""
    return Report(kind, [_PARSE.issue(where, exc.message, exc.hint)], path)


def _validate_json(doc: Any, kind: str | None, ctx: Context, path: str | None) -> Report:
    spec = kinds.get_kind(kind) if kind else kinds.detect_json(doc)
    if spec is None or spec.syntax != "json":
        return Report(kind, [_unknown_kind(doc)], path)
    if not isinstance(doc, Mapping):
        return Report(spec.name, [_PARSE.issue("", "expected a JSON object at the top level")], path)
    return Report.collect(spec.name, spec.validate(doc, ctx), path)


def _validate_xml(source: bytes | Path, kind: str | None, ctx: Context, path: str | None) -> Report:
    from sendx.validators import xml  # lxml is imported only when an XML document arrives

    try:
        root = xml.root_tag(source)
    except SendxError as exc:
        return _parse_failure(exc, kind, path)
    spec = kinds.get_kind(kind) if kind else kinds.detect_xml(root)
    if spec is None or spec.syntax != "xml":
        msg = f"XML documents with root element <{root}> are not a kind sendx knows"
        return Report(kind, [_KIND.issue("/" + root, msg, "CTF files have the root element <CTfile>")], path)
    return Report.collect(spec.name, spec.validate(source, ctx), path)


def _unknown_kind(doc: Any) -> Issue:
    hint = (
        'add a "$schema" naming a sendx schema (e.g. https://schemas.sendx.org.uk/ehcp/v1), '
        "send a FHIR R4 resource (with its resourceType), or pass --kind"
    )
    if isinstance(doc, Mapping) and "$schema" in doc:
        return _KIND.issue("/$schema", f"{doc['$schema']!r} is not a sendx schema", hint)
    return _KIND.issue("", "cannot tell what kind of document this is", hint)

"""Helpers for the security suite: attack payloads, and what the hub holds before and after.

Every XML attack is built around a real, valid CTF (Kingsbridge Academy to Riverside
Primary, the hub cast's two schools), so that the attack and nothing else is what gets a
document refused; ``test_xml_attacks`` checks that the untouched CTF is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, select, text

from sendx.exchange.store.database import Movement, Transfer
from sendx.exchange.synth.ctf import synthetic_ctf

DATA = Path(__file__).resolve().parents[1] / "data"
XI = "http://www.w3.org/2001/XInclude"
SCHOOL_NAME = "Synthetic Primary School"


def ctf_text(pupils: int = 1, seed: int = 3) -> str:
    """A valid CTF from the cast's Kingsbridge Academy (3304001) to Riverside Primary (3304002)."""
    data = synthetic_ctf(pupils, seed=seed, source_laestab="3304001", source_urn="145832", dest_laestab="3304002")
    return data.decode("utf-8")


def _prolog(xml: str, extra: str) -> str:
    """``extra`` (a DOCTYPE, a processing instruction) right after the XML declaration."""
    decl, rest = xml.split("?>", 1)
    return f"{decl}?>\n{extra}{rest}"


def _in_header(xml: str, element: str) -> str:
    return xml.replace("<Header>", f"<Header>{element}", 1)


@dataclass(frozen=True)
class XmlAttack:
    """An XML attack: how to build it, and the words the refusal must use to name it."""

    name: str
    words: str
    build: Callable[[str, Path, str], str]  # (valid CTF, secret file, canary URL) -> attack
    #: Small enough for the hub fixture's body limit (bigger ones are 413s there).
    hub: bool = True


def _billion_laughs(ctf: str, secret: Path, url: str) -> str:
    return (DATA / "ctf" / "ctf-attack-billion-laughs.xml").read_text(encoding="utf-8")


def _quadratic(ctf: str, secret: Path, url: str) -> str:
    # One 20,000-character entity referenced 5,000 times: 100 MB from a 110 kB file.
    body = ctf.replace(SCHOOL_NAME, "&big;" * 5000)
    return _prolog(body, f'<!DOCTYPE CTfile [<!ENTITY big "{"A" * 20000}">]>\n')


def _deep(levels: int) -> Callable[[str, Path, str], str]:
    def build(ctf: str, secret: Path, url: str) -> str:
        return _in_header(ctf, "<a>" * levels + "</a>" * levels)

    return build


XML_ATTACKS = [
    XmlAttack("billion-laughs", "DOCTYPE", _billion_laughs),
    XmlAttack("quadratic-blowup", "DOCTYPE", _quadratic),
    XmlAttack(
        "external-entity-file",
        "DOCTYPE",
        lambda ctf, secret, url: _prolog(
            ctf.replace(SCHOOL_NAME, "&s;"), f'<!DOCTYPE CTfile [<!ENTITY s SYSTEM "file://{secret}">]>\n'
        ),
    ),
    XmlAttack(
        "external-entity-network",
        "DOCTYPE",
        lambda ctf, secret, url: _prolog(
            ctf.replace(SCHOOL_NAME, "&s;"), f'<!DOCTYPE CTfile [<!ENTITY s SYSTEM "{url}/entity">]>\n'
        ),
    ),
    XmlAttack(
        "external-parameter-entity",
        "DOCTYPE",
        lambda ctf, secret, url: _prolog(ctf, f'<!DOCTYPE CTfile [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>\n'),
    ),
    XmlAttack(
        "external-dtd",
        "DOCTYPE",
        lambda ctf, secret, url: _prolog(ctf, f'<!DOCTYPE CTfile SYSTEM "{url}/ctf.dtd">\n'),
    ),
    XmlAttack(
        "xinclude-file",
        "XInclude",
        lambda ctf, secret, url: _in_header(ctf, f'<xi:include xmlns:xi="{XI}" href="file://{secret}" parse="text"/>'),
    ),
    XmlAttack(
        "xinclude-network",
        "XInclude",
        lambda ctf, secret, url: _in_header(ctf, f'<xi:include xmlns:xi="{XI}" href="{url}/include" parse="text"/>'),
    ),
    XmlAttack(
        "xslt-stylesheet-processing-instruction",
        "stylesheet",
        lambda ctf, secret, url: _prolog(ctf, f'<?xml-stylesheet type="text/xsl" href="{url}/style.xsl"?>\n'),
    ),
    XmlAttack(
        "xslt-document",
        "stylesheet",
        lambda ctf, secret, url: (
            '<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
            f'<xsl:template match="/"><xsl:copy-of select="document(\'file://{secret}\')"/>'
            f"<xsl:copy-of select=\"document('{url}/doc.xml')\"/></xsl:template></xsl:stylesheet>\n"
        ),
    ),
    XmlAttack("deep-nesting-100k-levels", "nested deeper than the limit", _deep(100_000), hub=False),
    XmlAttack("deep-nesting-30k-levels", "nested deeper than the limit", _deep(30_000)),
    XmlAttack(
        "huge-attribute-11MB",
        "value longer than the limit",
        lambda ctf, secret, url: ctf.replace("<Header>", f'<Header note="{"A" * (11 * 1024 * 1024)}">', 1),
        hub=False,
    ),
    XmlAttack(
        "huge-text-node-11MB",
        "value longer than the limit",
        lambda ctf, secret, url: ctf.replace(SCHOOL_NAME, "B" * (11 * 1024 * 1024)),
        hub=False,
    ),
]


# --------------------------------------------------------------------------- what the hub holds


def table_counts(hub: Any) -> dict[str, int]:
    """Rows in every table of the hub's database (not only the ones ``Hub.counts`` knows)."""
    engine = hub.store.engine
    with engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in _tables(engine)}


def stored_text(hub: Any) -> str:
    """Everything the hub stores, as text: every row of every table, and every decrypted record."""
    engine = hub.store.engine
    parts: list[str] = []
    with engine.connect() as conn:
        for table in _tables(engine):
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(repr(tuple(row)))
    with hub.store.read() as s:
        for t in s.scalars(select(Transfer)):
            parts.append(hub.cipher.decrypt(t.nonce, t.ciphertext, t.id).decode("utf-8"))
        for m in s.scalars(select(Movement)):
            parts.append(hub.cipher.decrypt(m.nonce, m.ciphertext, f"movement:{m.recorded_by}:{m.event_id}").decode())
    return "\n".join(parts)


def _tables(engine: Any) -> list[str]:
    return sorted(inspect(engine).get_table_names())


def problem(response: Any) -> dict[str, Any]:
    """The RFC 9457 problem a refusal must be: JSON, a 4xx status, and a detail for a person."""
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json", response.mimetype
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == response.status_code and body["detail"], body
    return body


def messages(problem_or_report: dict[str, Any]) -> str:
    """Every human-readable message in a problem or a report (details and issue messages)."""
    issues = problem_or_report.get("issues", [])
    return " | ".join([str(problem_or_report.get("detail", "")), *(str(i.get("message")) for i in issues)])

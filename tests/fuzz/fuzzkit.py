"""What every fuzz test shares: its Hypothesis settings, the per-case guard, and mutation strategies.

A fuzz case passes when the code under test returns, or raises one of sendx's own errors
(``SendxError``, which the CLI and the hub turn into a message or an RFC 9457 problem).
Anything else — a ``KeyError``, a ``TypeError``, a hang, a memory blow-up — is a bug.
``guarded`` enforces that for one call: a per-call alarm catches hangs without timing the
test, and every ``MEMORY_SAMPLE``-th case of a target runs under ``tracemalloc`` so a sample
of inputs also proves bounded memory.  Cases are counted per target for the session summary.

The strategies mutate real documents (the bundled examples, the test fixtures and
synthetic CTFs) rather than only inventing noise, so most cases get past parsing and reach
the schema checks, the rules and the adapters, where the interesting failures live.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import signal
import threading
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from lxml import etree

from sendx import schemas
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators.errors import SendxError

__all__ = [
    "CASES",
    "DATA",
    "FuzzHang",
    "ctf_bases",
    "fuzz",
    "guarded",
    "json_bases",
    "json_values",
    "mutated_json",
    "mutated_text",
    "mutated_xml",
    "nasty_text",
]

DATA = Path(__file__).resolve().parents[1] / "data"
LONG = os.environ.get("SENDX_LONG_TESTS") == "1"
#: Registered (not loaded: other tests keep Hypothesis' defaults) by this package's conftest.
PROFILE = "sendx-fuzz-long" if LONG else "sendx-fuzz"
#: A case still running after this long is a hang (generous: CI has 2 busy cores).
HANG_SECONDS = 30.0
#: Every n-th case of each target is run under tracemalloc, with this ceiling on its peak.
MEMORY_SAMPLE = 25
MEMORY_LIMIT = 64 * 1024 * 1024

#: Cases run per target this session (printed by the conftest at the end).
CASES: Counter[str] = Counter()


def fuzz(scale: float = 1.0, **overrides: Any) -> settings:
    """The fuzz profile's settings for one test; ``scale`` shrinks the budget of slow targets."""
    profile = settings.get_profile(PROFILE)
    examples = max(10, int(profile.max_examples * scale))
    return settings(profile, max_examples=examples, **overrides)


def profile_settings(max_examples: int) -> dict[str, Any]:
    """Settings shared by both profiles (registered by the conftest)."""
    return {
        "max_examples": max_examples,
        # No deadline: speed is not asserted in tests; the alarm in ``guarded`` catches hangs.
        "deadline": None,
        "print_blob": True,
        # Generated documents are large by design, and the hub fixtures are shared by all examples.
        "suppress_health_check": [
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
            HealthCheck.large_base_example,
        ],
    }


class FuzzHang(Exception):
    """A fuzz case ran past ``HANG_SECONDS``."""


class FuzzMemory(Exception):
    """A sampled fuzz case allocated more than ``MEMORY_LIMIT`` at its peak."""


def _alarm(signum: int, frame: Any) -> None:
    raise FuzzHang(f"a fuzz case ran for more than {HANG_SECONDS:.0f} s")


def guarded(target: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one fuzz case: ``fn``'s result, or the ``SendxError`` it raised; anything else propagates.

    A ``SendxError`` must still explain itself (a non-empty message), since that message is
    what a user or a hub client gets instead of a traceback.
    """
    CASES[target] += 1
    traced = CASES[target] % MEMORY_SAMPLE == 1 and not tracemalloc.is_tracing()
    use_alarm = threading.current_thread() is threading.main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    if traced:
        tracemalloc.start()
    try:
        try:
            return fn(*args, **kwargs)
        except SendxError as exc:
            assert isinstance(exc.message, str) and exc.message.strip(), f"{type(exc).__name__} without a message"
            exc.diagnostics()
            exc.to_problem()
            return exc
        finally:
            if traced:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                if peak > MEMORY_LIMIT:
                    raise FuzzMemory(f"{target}: one case peaked at {peak / 2**20:.0f} MiB of Python allocations")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- values

#: Strings that have broken parsers before: boundaries, wrong formats, control and bidi
#: characters, path tricks, the CTF lost-pupil codes, huge and empty.
NASTY_STRINGS = [
    "",
    " ",
    "\t\n",
    "0",
    "-1",
    "00",
    "1e309",
    "NaN",
    "null",
    "true",
    "2026-02-30",
    "2026-13-01",
    "2025-02-29",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2026-09-01T25:00:00Z",
    "2026-09-01T09:00:00",
    "2026-09-01T09:00:00+24:00",
    "1970-01-01T00:00:00Z",
    "\x00",
    "a\x00b",
    "\x7f\x1b[31m",
    "\u202eevil",
    "\ufeff",
    "\ud7ff\ue000",
    "😀" * 3,
    "Ω≈ç√",
    "../../etc/passwd",
    "%00%2e%2e",
    "<CTfile/>",
    "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    "]]>",
    "&amp;&lt;",
    "'; DROP TABLE transfers; --",
    "${jndi:x}",
    "XXX",
    "XXXXXXX",
    "MMMMMMM",
    "A123456789012",
    "K820123424001",
    "9434765919",
    "4857773456",
    "330",
    "3304001",
    "145832",
    "10001234",
    "RXH",
    "SW1A 1AA",
    "x" * 300,
    "9" * 40,
]

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(NASTY_STRINGS)
)
#: Arbitrary JSON values (what ``json.loads`` can return, minus NaN/Infinity, which sendx refuses).
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
nasty_text = st.text(max_size=200) | st.sampled_from(NASTY_STRINGS)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def json_bases(kind: str, fixture_dir: str | None = None) -> list[Any]:
    """The bundled valid examples of ``kind``, plus the test fixtures in ``tests/data/<fixture_dir>``."""
    docs = [_load(p) for p in schemas.examples(kind)]
    if fixture_dir:
        for path in sorted((DATA / fixture_dir).glob("*.json")):
            try:
                docs.append(_load(path))
            except ValueError:
                continue  # deliberately malformed fixtures are the raw-bytes fuzzers' business
    return docs


def ctf_bases() -> list[bytes]:
    """Small synthetic CTFs (SEN-heavy, lost-pupil, CTF 24) and every CTF fixture of the tests."""
    made = [
        synthetic_ctf(1, seed=1, sen_rate=1.0),
        synthetic_ctf(3, seed=2, sen_rate=0.5),
        synthetic_ctf(2, seed=3, dest_laestab="XXXXXXX"),
        synthetic_ctf(1, seed=4, dest_laestab="MMMMMMM", version="24.0"),
    ]
    return made + [p.read_bytes() for p in sorted((DATA / "ctf").glob("*.xml"))]


# --------------------------------------------------------------------------- JSON mutations


def _nodes(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _nodes(value, (*path, i))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _shift_date(value: str, days: int) -> str | None:
    try:
        if "T" in value:
            return (dt.datetime.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
        return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    except (ValueError, OverflowError):
        return None


@st.composite
def _tweak(draw: st.DrawFn, value: Any) -> Any:
    """A nearby value of the same type: shifted dates and numbers, edited strings."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + draw(st.sampled_from([-1, 1, -(10**6), 10**6, 2**53, -(2**63)]))
    if isinstance(value, float):
        return value * draw(st.sampled_from([-1.0, 0.0, 1e300, 1e-300]))
    if isinstance(value, str):
        shifted = _shift_date(value, draw(st.integers(-40_000, 40_000)))
        if shifted is not None and draw(st.booleans()):
            return shifted
        edit = draw(st.sampled_from(["upper", "lower", "chop", "append", "pad", "repeat"]))
        if edit == "upper":
            return value.upper()
        if edit == "lower":
            return value.lower()
        if edit == "chop":
            return value[: draw(st.integers(0, max(0, len(value) - 1)))]
        if edit == "append":
            return value + draw(nasty_text)
        if edit == "pad":
            return f" {value} "
        return value * draw(st.integers(2, 50))
    return value


def _retype(value: Any) -> list[Any]:
    """The same content in other JSON types."""
    out: list[Any] = [None, [value], {"value": value}]
    if isinstance(value, str):
        out += [len(value), value == "", float(len(value))]
        # isdigit() is true of "²", which int() refuses; ASCII digits only (found by the long run).
        if value.lstrip("-").isascii() and value.lstrip("-").isdigit():
            out.append(int(value))
    elif isinstance(value, bool):
        out += [int(value), str(value).lower()]
    elif isinstance(value, int | float):
        out += [str(value), bool(value)]
    elif isinstance(value, dict):
        out += [list(value.values()), json.dumps(value), {}]
    elif isinstance(value, list):
        out += [{str(i): v for i, v in enumerate(value)}, json.dumps(value), value[:1] and value[0]]
    return out


_OPS = ("delete", "replace", "transplant", "tweak", "retype", "duplicate", "insert", "rename", "clear")


@st.composite
def mutated_json(draw: st.DrawFn, bases: list[Any], max_ops: int = 4) -> Any:
    """One of ``bases`` with 1..``max_ops`` structural mutations at random places.

    Deleting, replacing, retyping and renaming any node reach the schema's error paths;
    transplanting values from elsewhere in the document, tweaking dates and numbers and
    duplicating list items keep documents schema-valid often enough to reach the rules.
    """
    base = draw(st.sampled_from(bases))
    doc = copy.deepcopy(base)
    donors = [value for _, value in _nodes(base)]
    for _ in range(draw(st.integers(1, max_ops))):
        path, node = draw(st.sampled_from(list(_nodes(doc))))
        op = draw(st.sampled_from(_OPS))
        if op in ("insert", "clear") or not path:
            if isinstance(node, dict):
                if op == "clear":
                    node.clear()
                else:
                    node[draw(st.text(max_size=12) | st.sampled_from(sorted(node) or ["x"]))] = draw(json_values)
            elif isinstance(node, list):
                if op == "clear":
                    node.clear()
                else:
                    node.insert(draw(st.integers(0, len(node))), draw(json_values))
            elif not path:
                doc = draw(json_values)
            continue
        parent, key = _parent(doc, path), path[-1]
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(json_values)
        elif op == "transplant":
            parent[key] = copy.deepcopy(draw(st.sampled_from(donors)))
        elif op == "tweak":
            parent[key] = draw(_tweak(node))
        elif op == "retype":
            parent[key] = draw(st.sampled_from(_retype(node)))
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(node))
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12) | st.sampled_from(NASTY_STRINGS))] = parent.pop(key)
    return doc


# --------------------------------------------------------------------------- XML mutations

_XML_OPS = ("delete", "text", "duplicate", "move", "rename", "attribute", "insert", "comment", "pi", "tail")


def _xml_char(c: str) -> bool:
    """Whether XML 1.0 allows the character at all (lxml refuses to set text holding others)."""
    return c in "\t\n\r" or " " <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"


def _safe_tree(xml: bytes) -> Any:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


@st.composite
def mutated_xml(draw: st.DrawFn, bases: list[bytes], max_ops: int = 4) -> bytes:
    """One of ``bases`` with element-level mutations, then (sometimes) byte-level damage.

    Element edits use the file's own tag names, so most results are still CTF-shaped and
    reach the XSD, the rules and the adapters; byte edits (truncation, stray bytes) reach
    the parser's error paths.
    """
    base = draw(st.sampled_from(bases))
    try:
        root = _safe_tree(base)
    except etree.XMLSyntaxError:
        root = None  # a deliberately broken fixture: byte edits only
    if root is not None:
        tags = sorted({e.tag for e in root.iter() if isinstance(e.tag, str)})
        text = st.text(max_size=40) | st.sampled_from(NASTY_STRINGS)
        xml_safe_text = text.map(lambda s: "".join(c for c in s if _xml_char(c)))
        for _ in range(draw(st.integers(1, max_ops))):
            elems = [e for e in root.iter() if isinstance(e.tag, str)]
            elem = draw(st.sampled_from(elems))
            parent = elem.getparent()
            op = draw(st.sampled_from(_XML_OPS))
            if op == "delete" and parent is not None:
                parent.remove(elem)
            elif op == "text":
                elem.text = draw(xml_safe_text)
            elif op == "duplicate" and parent is not None:
                parent.insert(parent.index(elem), copy.deepcopy(elem))
            elif op == "move" and parent is not None:
                target = draw(st.sampled_from(elems))
                if elem not in target.iterancestors() and target is not elem:
                    parent.remove(elem)
                    target.append(elem)
            elif op == "rename":
                elem.tag = draw(st.sampled_from(tags))
            elif op == "attribute":
                elem.set(draw(st.sampled_from(["id", "xmlns_x", "Rank", "type"])), draw(xml_safe_text))
            elif op == "insert":
                child = etree.SubElement(elem, draw(st.sampled_from(tags)))
                child.text = draw(xml_safe_text)
            elif op == "comment":
                elem.append(etree.Comment("fuzz"))
            elif op == "pi":
                elem.append(etree.PI("fuzz", "x"))
            elif op == "tail" and parent is not None:
                elem.tail = draw(xml_safe_text)
        base = etree.tostring(root, xml_declaration=draw(st.booleans()), encoding="UTF-8")
    damage = draw(st.sampled_from(["none", "none", "truncate", "insert", "flip", "doctype"]))
    if damage == "truncate":
        base = base[: draw(st.integers(0, len(base)))]
    elif damage == "insert":
        at = draw(st.integers(0, len(base)))
        base = base[:at] + draw(st.binary(min_size=1, max_size=8)) + base[at:]
    elif damage == "flip" and base:
        at = draw(st.integers(0, len(base) - 1))
        base = base[:at] + bytes([base[at] ^ draw(st.integers(1, 255))]) + base[at + 1 :]
    elif damage == "doctype":
        base = b'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY e "x">]>\n' + base.split(b"?>", 1)[-1]
    return base


# --------------------------------------------------------------------------- text mutations

#: Characters that matter to the line-based formats (C2SP notes, key texts, receipts).
_SIGNIFICANT = ["\n", "\n\n", " ", "+", "=", "—", "— ", "\u2014x ", "\r", "\x00", "/", "-", "_", "A", "0"]
_TEXT_OPS = ("delete", "insert", "replace", "dup-line", "drop-line", "swap-lines")


@st.composite
def mutated_text(draw: st.DrawFn, bases: list[str], max_ops: int = 3) -> str:
    """One of ``bases`` with character- and line-level edits (the way notes and keys break)."""
    text = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(_TEXT_OPS))
        lines = text.split("\n")
        if op in ("dup-line", "drop-line", "swap-lines") and len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dup-line":
                lines.insert(i, lines[i])
            elif op == "drop-line":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
            continue
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(_SIGNIFICANT) | st.text(max_size=6))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif op == "insert":
            text = text[:at] + piece + text[at:]
        else:
            text = text[:at] + piece + text[at + len(piece) :]
    return text

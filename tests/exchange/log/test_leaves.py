"""Movement leaves: a commitment and LA codes, nothing else; opened only with the event and its salt."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
import rfc8785

from sendx.exchange.log.checkpoint import Checkpoint
from sendx.exchange.log.leaves import (
    BridgeLeaf,
    LegacyLeaf,
    MovementLeaf,
    commitment,
    movement_leaf,
    opens,
    parse_leaf,
)
from sendx.schemas import examples
from sendx.validators.errors import InputError

SALT = bytes(range(32))


def _event() -> dict:
    return {
        "$schema": "https://schemas.sendx.org.uk/movement/v1",
        "eventId": "MV-TEST-1",
        "type": "permanent-exclusion",
        "pupil": {"upn": "A123456789012"},
        "from": {"name": "Test School", "urn": "100001", "laestab": "3304001", "la": "330", "ap": False},
        "to": {"name": "Test PRU", "urn": "100002", "la": "331", "ap": True},
        "effectiveDate": "2026-01-05",
        "reason": "synthetic",
        "recordedBy": {"participant": "school-100001", "role": "school"},
    }


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if not isinstance(value, bool) else []


def test_the_leaf_bytes_hold_no_event_field() -> None:
    event = _event()
    leaf = movement_leaf(event, SALT, ["331", "330", None, "330"])
    data = json.loads(leaf)
    assert leaf == rfc8785.dumps(data)
    assert set(data) == {"v", "las", "commitment"}
    assert data["v"] == 2 and data["las"] == ["330", "331"]
    # No value of the event — id, type, date, settings, recorder, UPN, reason — is in the leaf,
    # and no field name either but the LA codes' ("la" values are what the leaf is for).
    for text in _strings(event):
        if text not in ("330", "331"):
            assert text.encode() not in leaf, text
    for name in ("type", "effectiveDate", "urn", "recordedBy", "ap", "pupil", "eventId"):
        assert f'"{name}"'.encode() not in leaf


def test_the_commitment_is_salted_sha256_of_the_canonical_event() -> None:
    event = _event()
    leaf = parse_leaf(movement_leaf(event, SALT, ["330"]))
    assert isinstance(leaf, MovementLeaf)
    assert leaf.commitment == hashlib.sha256(SALT + rfc8785.dumps(event)).digest()
    assert leaf.commitment == commitment(rfc8785.dumps(event), SALT)
    assert opens(leaf, event, SALT)
    reordered = dict(reversed(list(event.items())))  # key order does not matter (RFC 8785)
    assert opens(leaf, reordered, SALT)
    changed = copy.deepcopy(event)
    changed["effectiveDate"] = "2026-01-06"
    assert not opens(leaf, changed, SALT)
    assert not opens(leaf, event, bytes(32))
    assert not opens(leaf, event, b"short")
    # Another salt gives an unlinkable commitment: equal events do not show as equal leaves.
    assert movement_leaf(event, bytes(32), ["330"]) != movement_leaf(event, SALT, ["330"])


def test_every_schema_example_makes_a_leaf_that_parses_back() -> None:
    paths = examples("movement")
    assert paths
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        raw = movement_leaf(doc, SALT, ["330"])
        assert parse_leaf(raw) == MovementLeaf(("330",), hashlib.sha256(SALT + rfc8785.dumps(doc)).digest())


def test_previous_log_leaf_and_legacy_leaves() -> None:
    cp = Checkpoint("hub.example/log", 12, bytes(range(32)))
    raw = BridgeLeaf(cp).to_bytes()
    assert parse_leaf(raw) == BridgeLeaf(cp)
    assert not parse_leaf(raw).names("330")
    assert isinstance(parse_leaf(b'{"v":1,"eventId":"x","type":"join"}'), LegacyLeaf)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"v":3}',
        b'{"commitment":"00","las":[],"v":2}',  # short commitment
        b'{"commitment":"' + b"0" * 64 + b'","las":["330"],"type":"join","v":2}',  # a field too many
        b'{"las":["330"],"commitment":"' + b"0" * 64 + b'","v":2}',  # not canonical
        b'{"commitment":"' + b"0" * 64 + b'","las":["331","330"],"v":2}',  # unsorted codes
        b'{"commitment":"' + b"0" * 64 + b'","las":["33"],"v":2}',
        b'{"commitment":"' + b"0" * 64 + b'","las":"330","v":2}',
        b"x" * 5000,
    ],
)
def test_malformed_leaves_are_refused(raw: bytes) -> None:
    with pytest.raises(InputError):
        parse_leaf(raw)


def test_a_leaf_stored_as_text_is_refused() -> None:
    with pytest.raises(InputError, match="bytes, not str"):
        parse_leaf("{}")  # type: ignore[arg-type]

"""Tests for adapters/ctf.py and the convert command: lossless round trip, movements."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from sendx import validators
from sendx.adapters import ctf as adapter
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators.errors import InputError
from sendx.validators.rules import Context

DATA = Path(__file__).resolve().parents[1] / "data" / "ctf"
#: Every well-formed fixture (attack and truncated files are refused before conversion).
FIXTURES = sorted(
    p for p in [*DATA.glob("*.xml"), *DATA.glob("field/*.xml")] if "attack" not in p.name and "malformed" not in p.name
)


def canonical(xml: bytes) -> bytes:
    """C14N of the document, ignoring whitespace-only text (indentation) and comments."""
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    for elem in root.iter():
        if elem.text is not None and not elem.text.strip():
            elem.text = None
        if elem.tail is not None and not elem.tail.strip():
            elem.tail = None
    return etree.tostring(root, method="c14n", with_comments=False)


def round_trip(xml: bytes) -> bytes:
    # Through real JSON text, as it would travel.
    return adapter.pupils_to_ctf(json.loads(json.dumps(adapter.ctf_to_pupils(xml))))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_round_trip_is_lossless_on_every_fixture(path: Path) -> None:
    xml = path.read_bytes()
    assert canonical(round_trip(xml)) == canonical(xml)


def test_round_trip_from_a_path_streams_the_same_result(tmp_path: Path) -> None:
    xml = synthetic_ctf(40, seed=9)
    path = tmp_path / "c.xml"
    path.write_bytes(xml)
    assert adapter.ctf_to_pupils(path) == adapter.ctf_to_pupils(xml)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=0, max_value=12),
    seed=st.integers(min_value=0, max_value=10_000),
    version=st.sampled_from(["24.0", "25.0"]),
    sen_rate=st.floats(min_value=0, max_value=1),
)
def test_round_trip_property_over_generated_ctfs(n: int, seed: int, version: str, sen_rate: float) -> None:
    xml = synthetic_ctf(n, seed=seed, version=version, sen_rate=sen_rate)
    assert canonical(round_trip(xml)) == canonical(xml)


_NAMES = st.sampled_from(["X", "Vendor", "SENneed", "Pupil", "Order", "Note", "b"])
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)


@st.composite
def _elements(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    elem = etree.Element(draw(_NAMES))
    for name in draw(st.lists(st.sampled_from(["a", "code", "x-y"]), max_size=2, unique=True)):
        elem.set(name, draw(_TEXT))
    elem.text = draw(st.none() | _TEXT)
    if depth < 2:
        for _ in range(draw(st.integers(0, 2))):
            child = draw(_elements(depth + 1))
            child.tail = draw(st.none() | _TEXT)
            elem.append(child)
    return elem


@settings(max_examples=60, deadline=None)
@given(extra=st.lists(_elements(), min_size=1, max_size=3), position=st.integers(0, 12))
def test_unknown_elements_survive_anywhere_in_a_pupil(extra: list, position: int) -> None:
    root = etree.fromstring(synthetic_ctf(1, seed=1))
    pupil = root.find("CTFpupilData/Pupil")
    for e in reversed(extra):
        pupil.insert(min(position, len(pupil)), e)
    xml = etree.tostring(root)
    assert canonical(round_trip(xml)) == canonical(xml)


def test_modelled_fields_have_friendly_json() -> None:
    doc = adapter.ctf_to_pupils((DATA / "ctf-valid-two-pupils.xml").read_bytes())
    assert doc["$schema"] == adapter.PUPILS_SCHEMA_ID
    assert doc["header"]["source"] == {
        "la": "820",
        "estab": "1234",
        "urn": "123456",
        "schoolName": "Hillside Primary (invented)",
        "academicYear": "2024",
    }
    ada = doc["pupils"][0]
    assert ada["upn"] == "L820123418001" and ada["sex"] == "F"
    assert ada["senHistory"] == {
        "sen": [{"startDate": "2021-09-06", "provision": "E"}],
        "needs": [{"type": "ASD", "rank": "1"}, {"type": "SLCN", "rank": "2"}],
    }
    assert "_other" not in ada and "_order" not in ada


def test_unknown_elements_are_kept_generically_in_order() -> None:
    doc = adapter.ctf_to_pupils((DATA / "ctf-unknown-elements-tolerated.xml").read_bytes())
    ada = doc["pupils"][0]
    assert [e["element"] for e in ada["_other"]] == ["Photo", "VendorExtension"]
    assert ada["_other"][1]["attributes"] == {"system": "ExampleMIS", "version": "3"}
    assert ada["_order"].count("*") == 2
    assert ada["senHistory"]["sen"][0]["endDate"] == "2024-07-19"


def test_hand_written_pupil_json_without_order_writes_a_valid_ctf() -> None:
    doc = adapter.ctf_to_pupils((DATA / "ctf-valid-two-pupils.xml").read_bytes())
    doc["pupils"][1] = {k: v for k, v in reversed(list(doc["pupils"][1].items()))}  # key order must not matter
    xml = adapter.pupils_to_ctf(doc)
    assert validators.validate(xml, context=Context(as_of=dt.date(2025, 6, 1))).issues == []


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"header": [], "pupils": []}, "/header"),
        ({"pupils": [{"upn": 5}]}, "/pupils/0/upn"),
        ({"pupils": [{"nickname": "x"}]}, "/pupils/0"),
        ({"pupils": [{"_other": [{"text": "no name"}]}]}, "/pupils/0/_other/0"),
        ({"pupils": [{"upn": "A", "_order": ["UPN", "*"]}]}, "/pupils/0"),
        ({"$schema": "https://example.org/other", "pupils": []}, "/$schema"),
        # Found by tests/fuzz: a repeated element's list given as null or a number raised TypeError.
        ({"pupils": [{"senHistory": {"sen": None}}]}, "/pupils/0/senHistory/sen"),
        ({"pupils": [{"fsmHistory": {"instances": 3}}]}, "/pupils/0/fsmHistory/instances"),
    ],
)
def test_bad_pupil_json_is_a_clear_input_error(doc: dict, where: str) -> None:
    with pytest.raises(InputError) as exc:
        adapter.pupils_to_ctf(doc)
    assert exc.value.where == where


@pytest.mark.parametrize("name", ["ctf-attack-billion-laughs.xml", "ctf-malformed-truncated.xml"])
def test_adapter_refuses_attacks_and_broken_xml(name: str) -> None:
    with pytest.raises(InputError):
        adapter.ctf_to_pupils(DATA / name)


# --------------------------------------------------------------------------- movements


def _valid_movements(events: list[dict]) -> None:
    for e in events:
        report = validators.validate(e)
        assert report.kind == "movement" and report.issues == [], report.issues


def test_ctf_to_movements_leave_and_join() -> None:
    events = adapter.ctf_to_movements(DATA / "ctf-valid-two-pupils.xml")
    assert [e["type"] for e in events] == ["leave", "join", "leave", "join"]
    assert events[1]["to"]["laestab"] == "8205678" and events[1]["from"]["laestab"] == "8201234"
    assert len({e["eventId"] for e in events}) == 4
    _valid_movements(events)


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("ctf-dest-unknown-xxx.xml", "destination-unknown"),
        ("ctf-dest-independent-or-abroad-mmm.xml", "independent-or-abroad"),
    ],
)
def test_lost_pupil_destinations_give_no_destination_setting(name: str, second: str) -> None:
    events = adapter.ctf_to_movements(DATA / name)
    assert [e["type"] for e in events] == ["leave", second]
    assert all(e["to"] is None for e in events)
    _valid_movements(events)


def test_generated_ctf_movements_are_valid() -> None:
    _valid_movements(adapter.ctf_to_movements(synthetic_ctf(20, seed=5)))


# --------------------------------------------------------------------------- CLI


def test_convert_cli_round_trip(run_cli, tmp_path: Path) -> None:
    src = DATA / "ctf-unknown-elements-tolerated.xml"
    pupils = tmp_path / "pupils.json"
    back = tmp_path / "back.xml"
    assert run_cli("convert", src, "--to", "pupil-json", "-o", pupils).exit_code == 0
    assert run_cli("convert", pupils, "--to", "ctf", "-o", back).exit_code == 0
    assert canonical(back.read_bytes()) == canonical(src.read_bytes())


def test_convert_cli_movements_to_stdout(run_cli) -> None:
    result = run_cli("convert", DATA / "ctf-dest-unknown-xxx.xml", "--to", "movements")
    assert result.exit_code == 0
    assert [e["type"] for e in json.loads(result.stdout)] == ["leave", "destination-unknown"]


def test_convert_cli_refuses_pairs_without_an_adapter(run_cli, tmp_path: Path) -> None:
    pupils = tmp_path / "pupils.json"
    run_cli("convert", DATA / "ctf-valid-two-pupils.xml", "--to", "pupil-json", "-o", pupils)
    result = run_cli("convert", pupils, "--to", "movements")
    assert result.exit_code == 2 and "cannot convert pupil-json to movements" in result.stderr


def test_convert_cli_refuses_attack_files(run_cli) -> None:
    result = run_cli("convert", DATA / "ctf-attack-billion-laughs.xml", "--to", "pupil-json")
    assert result.exit_code == 2 and "DOCTYPE" in result.stderr


@pytest.mark.parametrize("order", [[["Header"]], [{"x": 1}], [None]])
def test_order_entries_must_be_names(order: list) -> None:
    # Found by tests/fuzz: a list or object in "_order" raised TypeError (unhashable).
    doc = adapter.ctf_to_pupils(synthetic_ctf(1, seed=3))
    doc["header"]["_order"] = order
    with pytest.raises(InputError, match="_order"):
        adapter.pupils_to_ctf(doc)


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: x.replace(b"<CTfile>", b"<CTfile>stray text", 1),
        lambda x: x.replace(b"<CTFpupilData>", b"<CTFpupilData>stray text", 1),
        lambda x: x.replace(b"</CTFpupilData>", b"</CTFpupilData>stray text", 1),
        lambda x: x.replace(b"</CTFpupilData>", b"</CTFpupilData><CTFpupilData/>", 1),
    ],
    ids=["root-text", "pupil-data-text", "pupil-data-tail", "two-pupil-data"],
)
def test_what_pupil_json_cannot_hold_is_refused_not_dropped(edit) -> None:
    # Found by tests/fuzz: the root's own text was silently dropped by the round trip.
    xml = edit(synthetic_ctf(2, seed=4))
    with pytest.raises(InputError, match="losslessly"):
        adapter.ctf_to_pupils(xml)


@pytest.mark.parametrize(
    "name", ["mtc-2025-results-ctf24-sex.xml", "giap-school-user-ctf25.xml", "giap-la-user-ctf25.xml"]
)
def test_a_ctf_that_moves_nobody_gives_no_movements(name: str) -> None:
    """A results file (source = destination) or a service's download (source XXX) is not a pupil leaving."""
    path = DATA / "field" / name
    assert adapter.ctf_to_movements(path) == []
    assert adapter.ctf_to_pupils(path)["pupils"]  # the pupils are still read


# ------------------------------------------------------------------ one file per pupil


def test_split_gives_each_pupil_its_own_valid_file_with_the_header() -> None:
    whole = synthetic_ctf(3, seed=5, source_laestab="3304001", source_urn="145832", dest_laestab="XXXXXXX")
    upns = [p["upn"] for p in adapter.ctf_to_pupils(whole)["pupils"]]
    parts = adapter.split_ctf(whole)
    assert [upn for upn, _ in parts] == upns
    for upn, file in parts:
        assert validators.validate(file).valid
        doc = adapter.ctf_to_pupils(file)
        assert [p["upn"] for p in doc["pupils"]] == [upn]  # this pupil, and no other
        assert doc["header"] == adapter.ctf_to_pupils(whole)["header"]
        assert not any(other.encode() in file for other in upns if other != upn)


def test_split_leaves_a_one_pupil_file_byte_for_byte() -> None:
    one = synthetic_ctf(1, seed=6, source_laestab="3304001", source_urn="145832", dest_laestab="XXXXXXX")
    assert adapter.split_ctf(one) == [(adapter.ctf_to_pupils(one)["pupils"][0]["upn"], one)]


def test_split_refuses_a_file_without_a_header() -> None:
    with pytest.raises(InputError, match="no <Header>"):
        adapter.split_ctf(b"<CTfile><CTFpupilData><Pupil><UPN>A1</UPN></Pupil></CTFpupilData></CTfile>")

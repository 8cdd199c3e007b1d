"""XML attacks through every entry point that reads XML: each is refused, saying why, and
nothing is read from disk or the network, nothing leaks, nothing is stored.

Entry points: the Python API (``validators.validate`` on bytes and on a path,
``adapters.ctf.ctf_to_pupils`` and ``ctf_to_movements``), the CLI (``sendx validate``,
``sendx convert`` to pupil JSON and to movements, ``sendx verify`` of a signed attack
file), and the hub (``POST /v1/validate`` and a CTF uploaded in a signed envelope).
``tests/validators/test_ctf.py`` covers the CTF validator's own hardening; this suite takes
the same attack shapes, and more, to the other doors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import envelope, post_json

from sendx import validators
from sendx.adapters import ctf as ctf_adapter
from sendx.exchange.trust.keys import KeyStore
from sendx.validators import parsing
from sendx.validators import xml as safe_xml
from sendx.validators.errors import InputError
from tests.security.kit import XML_ATTACKS, XmlAttack, ctf_text, messages, problem, stored_text, table_counts

ATTACKS = {a.name: a for a in XML_ATTACKS}
HUB_ATTACKS = [a.name for a in XML_ATTACKS if a.hub]


def _leaks(text: str, secret: Any) -> bool:
    return secret.marker in text or "CANARY-FETCHED" in text


def _build(name: str, secret: Any, canary: Any) -> str:
    return ATTACKS[name].build(ctf_text(), secret.path, canary.url)


def test_the_ctf_the_attacks_are_built_on_is_valid_and_accepted(client, hub, world) -> None:
    """Control: without the attack, the same CTF passes everywhere, so each refusal below is the attack's."""
    xml = ctf_text()
    assert validators.validate(xml.encode()).valid
    assert ctf_adapter.ctf_to_pupils(xml.encode())["pupils"]
    a = world["school-145832"]
    r = post_json(client, "/v1/transfers", envelope(a, "school-145833", xml, "ctf"), a)
    assert r.status_code == 201, r.get_data(as_text=True)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_python_api_refuses_xml_attack(name: str, secret, canary, tmp_path: Path) -> None:
    """validators.validate (bytes and path) and the CTF adapter refuse the attack, naming it."""
    attack: XmlAttack = ATTACKS[name]
    data = _build(name, secret, canary).encode("utf-8")
    path = tmp_path / f"{name}.xml"
    path.write_bytes(data)
    for source in (data, path):
        report = validators.validate(source)
        assert not report.valid
        assert attack.words in messages({"issues": [i.to_dict() for i in report.issues]}), report.to_dict()
        assert not _leaks(json.dumps(report.to_dict()), secret)
    for convert in (ctf_adapter.ctf_to_pupils, ctf_adapter.ctf_to_movements):
        with pytest.raises(InputError) as refused:
            convert(path)
        assert attack.words in refused.value.diagnostics() and not _leaks(refused.value.diagnostics(), secret)
    assert canary.touched() == []


@pytest.mark.parametrize("name", list(ATTACKS))
def test_cli_refuses_xml_attack(name: str, secret, canary, tmp_path: Path, run_cli) -> None:
    """sendx validate exits 1 with the reason; sendx convert exits 2 with the reason; no traceback."""
    attack = ATTACKS[name]
    path = tmp_path / f"{name}.xml"
    path.write_text(_build(name, secret, canary), encoding="utf-8")
    checked = run_cli("validate", path, "--format", "json")
    assert checked.exit_code == 1, checked.output
    [report] = json.loads(checked.stdout)["files"]
    assert not report["valid"] and attack.words in messages(report)
    for target in ("pupil-json", "movements"):
        converted = run_cli("convert", path, "--to", target, "-o", tmp_path / "out.json")
        assert converted.exit_code == 2 and converted.stderr.startswith("sendx: error:"), converted.output
        assert attack.words in converted.stderr and "Traceback" not in converted.output
        assert not (tmp_path / "out.json").exists()
    for result in (checked, converted):
        assert not _leaks(result.output, secret)
    assert canary.touched() == []


def test_hub_refuses_every_xml_attack(secret, canary, client, hub, world) -> None:
    """POST /v1/validate: an invalid report naming the attack.  A properly signed envelope carrying
    the attack CTF: 422 naming it.  Either way nothing is stored, fetched or leaked.

    One hub for every attack (each hub costs a migration and a cast of nine): all mismatches
    are collected and reported together, attack by attack.
    """
    a = world["school-145832"]
    before = table_counts(hub)
    failures: list[str] = []
    for name in HUB_ATTACKS:
        xml = _build(name, secret, canary)
        words = ATTACKS[name].words
        checked = client.post(
            "/v1/validate", data=xml.encode("utf-8"), content_type="application/xml", headers=world["la-330"].headers
        )
        if checked.status_code != 200 or checked.json["valid"] is not False or words not in messages(checked.json):
            failures.append(f"{name}: /v1/validate gave {checked.status_code} {checked.get_data(as_text=True)[:300]}")
        sent = post_json(client, "/v1/transfers", envelope(a, "school-145833", xml, "ctf"), a)
        body = problem(sent)
        if sent.status_code != 422 or not body["type"].endswith("/invalid-document") or words not in messages(body):
            failures.append(f"{name}: /v1/transfers gave {sent.status_code} {body}")
        if any(_leaks(r.get_data(as_text=True), secret) for r in (checked, sent)):
            failures.append(f"{name}: a response carries the secret or the canary's reply")
        if canary.touched():
            failures.append(f"{name}: the canary server was contacted")
    assert not failures, "\n".join(failures)
    assert table_counts(hub) == before
    assert not _leaks(stored_text(hub), secret)


@pytest.mark.parametrize("name", ["external-entity-file", "external-entity-network", "xinclude-network"])
def test_verifying_a_signed_attack_ctf_reads_only_its_bytes(name: str, secret, canary, tmp_path: Path, run_cli):
    """sendx verify checks the signature over the exact bytes and parses nothing: no fetch, no leak.

    The signature is genuine (the signer did sign those bytes), so it verifies; the file is
    still refused the moment anything parses it.
    """
    home = tmp_path / "home"
    KeyStore(home).generate("school-145832")
    path = tmp_path / "signed.xml"
    path.write_text(_build(name, secret, canary), encoding="utf-8")
    assert run_cli("sign", path, "--home", home).exit_code == 0
    verified = run_cli("verify", path, "--home", home, "--format", "json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["valid"] is True
    assert not _leaks(verified.output, secret)
    assert not validators.validate(path).valid
    assert canary.touched() == []


def test_oversized_xml_is_refused_at_every_entry_point(monkeypatch, tmp_path: Path, run_cli, client, world) -> None:
    """Files over MAX_XML_BYTES: an invalid document (API, sendx validate), a clear error (convert,
    verify, send); bodies over the hub's limit: 413 problem JSON."""
    data = ctf_text(pupils=3).encode("utf-8")
    monkeypatch.setattr(safe_xml, "MAX_XML_BYTES", len(data) - 1)
    monkeypatch.setattr(parsing, "MAX_XML_BYTES", len(data) - 1)
    path = tmp_path / "big.xml"
    path.write_bytes(data)
    report = validators.validate(path)
    assert report.rules() == {"DOC-PARSE"} and "more than the limit" in report.issues[0].message
    checked = run_cli("validate", path)
    assert checked.exit_code == 1 and "more than the limit" in checked.stdout
    home = tmp_path / "home"
    KeyStore(home).generate("school-145832")
    for args in (("convert", path, "--to", "pupil-json"), ("verify", path, "--home", home)):
        result = run_cli(*args)
        assert result.exit_code == 2 and "more than the limit" in result.stderr, (args, result.output)
    la = world["la-330"]
    big = data + b" " * (300 * 1024)
    r = client.post("/v1/validate", data=big, content_type="application/xml", headers=la.headers)
    assert r.status_code == 413 and problem(r)["status"] == 413


# --------------------------------------------------------------------------- algorithmic complexity


def test_an_element_with_thousands_of_attributes_is_refused_by_the_adapter() -> None:
    """lxml reads and writes attributes in quadratic time (40,000 took minutes): convert refuses
    more than MAX_ATTRIBUTES on one element, both ways, and converts up to the limit."""
    xml = ctf_text()
    many = " ".join(f'a{i}="1"' for i in range(20_000))
    with pytest.raises(InputError, match="20,000 attributes"):
        ctf_adapter.ctf_to_pupils(xml.replace("<Header>", f"<Header><Note {many}/>", 1).encode())
    doc = ctf_adapter.ctf_to_pupils(xml.encode())
    pupil = doc["pupils"][0]
    pupil["_other"] = [{"element": "Note", "attributes": {f"a{i}": "1" for i in range(20_000)}}]
    pupil.pop("_order", None)  # the default order puts "_other" elements last
    with pytest.raises(InputError, match="20,000 attributes") as refused:
        ctf_adapter.pupils_to_ctf(doc)
    assert refused.value.where == "/pupils/0/_other/0/attributes"
    limit = {f"a{i}": "1" for i in range(ctf_adapter.MAX_ATTRIBUTES)}
    pupil["_other"] = [{"element": "Note", "attributes": limit}]
    back = ctf_adapter.ctf_to_pupils(ctf_adapter.pupils_to_ctf(doc))
    assert back["pupils"][0]["_other"][0]["attributes"] == limit


def test_thousands_of_bad_sen_needs_are_each_located_reading_each_parent_once() -> None:
    """One pupil with 3,000 SEN needs of an unknown type: 3,000 findings, each with its own XPath.

    Locating a finding used to list all its same-named siblings, once per finding: quadratic
    in the number of repeated elements, minutes for a file the hub would accept.  Now each
    parent's positions are listed once per pupil.
    """
    from lxml import etree

    from sendx.validators.ctf import HeaderFacts, PupilView

    need = "<SENneed><SENtype>ZZZ</SENtype><SENtypeRank>2</SENtypeRank></SENneed>"
    pupil = etree.fromstring(f"<Pupil><SENhistory><SENneeds>{need * 3000}</SENneeds></SENhistory></Pupil>")
    view = PupilView(pupil, 1, HeaderFacts())
    types = pupil.findall("SENhistory/SENneeds/SENneed/SENtype")
    located = [view.where(node) for node in types] + [view.where(node) for node in types]
    base = "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SENneeds"
    assert located[:3000] == [f"{base}/SENneed[{i}]/SENtype" for i in range(1, 3001)] == located[3000:]
    # One table per parent on the way up (each SENneed, SENneeds, SENhistory, Pupil), built once.
    assert len(view._positions) == 3000 + 3
    xml = ctf_text().replace("</SENneeds>", need * 3000 + "</SENneeds>", 1)
    assert xml.count("<SENneed>") > 3000, "the CTF the need is added to has SEN needs"
    report = validators.validate(xml.encode())
    bad_types = [i.location for i in report.issues if i.rule == "CTF-SEN-NEED"]
    assert len(bad_types) == 3000 and len(set(bad_types)) == 3000


@pytest.mark.parametrize("name", ["external-entity-file", "external-entity-network", "external-dtd"])
def test_the_parser_itself_neither_expands_nor_fetches(name: str, secret, canary) -> None:
    """The second line of defence: even given a DOCTYPE (refused before this, above), the parser
    that every sendx reader uses leaves entities unexpanded and loads no DTD."""
    from lxml import etree

    xml = _build(name, secret, canary).encode("utf-8")
    root = etree.fromstring(xml, safe_xml.safe_parser())
    assert not _leaks(etree.tostring(root, encoding="unicode"), secret)
    assert canary.touched() == []

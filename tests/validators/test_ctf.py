"""Tests for validators/ctf.py: every CTF rule fires and passes, streaming, hardening."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from sendx import validators
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators import ctf
from sendx.validators.errors import TooLargeError
from sendx.validators.formats import render
from sendx.validators.rules import Context, all_rules

AS_OF = Context(as_of=dt.date(2025, 6, 1))
DATA = Path(__file__).resolve().parents[1] / "data" / "ctf"

# fixture → (rule that must fire, its location)
FIRES = {
    "ctf-schema-missing-surname.xml": ("CTF-SCHEMA", "/CTfile/CTFpupilData/Pupil[2]/Forename"),
    "ctf-schema-sen-start-date-not-iso.xml": ("CTF-SCHEMA", "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SEN/StartDate"),
    "ctf-header-unsupported-version.xml": ("CTF-VERSION-OTHER", "/CTfile/Header/CTFversion"),
    "ctf-header-version-not-a-number.xml": ("CTF-HEADER", "/CTfile/Header/CTFversion"),
    "ctf-laestab-invalid-destination.xml": ("CTF-LAESTAB", "/CTfile/Header/DestSchool/Estab"),
    "ctf-source-equals-destination.xml": ("CTF-SOURCE-DEST", "/CTfile/Header/DestSchool"),
    "ctf-dest-unknown-xxx.xml": ("CTF-DEST-UNKNOWN", "/CTfile/Header/DestSchool/LEA"),
    "ctf-dest-independent-or-abroad-mmm.xml": ("CTF-DEST-UNKNOWN", "/CTfile/Header/DestSchool/LEA"),
    "ctf-lost-pupil-file-with-two-pupils.xml": ("CTF-LOST-ONE-PUPIL", "/CTfile/CTFpupilData"),
    "ctf-upn-duplicate.xml": ("CTF-UPN-UNIQUE", "/CTfile/CTFpupilData/Pupil[2]/UPN"),
    "ctf-upn-bad-check-letter.xml": ("ID-UPN", "/CTfile/CTFpupilData/Pupil[1]/UPN"),
    "ctf-uln-bad-check-digit.xml": ("ID-ULN", "/CTfile/CTFpupilData/Pupil[1]/UniqueLearnerNumber"),
    "ctf-postcode-invalid.xml": ("ID-POSTCODE", "/CTfile/CTFpupilData/Pupil[1]/Address/Postcode"),
    "ctf-dob-in-future.xml": ("CTF-DOB", "/CTfile/CTFpupilData/Pupil[2]/DOB"),
    "ctf-sex-code-invalid.xml": ("CTF-SEX", "/CTfile/CTFpupilData/Pupil[2]/Sex"),
    "ctf25-with-gender-element.xml": ("CTF-SEX-ELEMENT", "/CTfile/CTFpupilData/Pupil[1]/Gender"),
    "field/giap-sex-unknown-ctf25.xml": ("CTF-SEX-MISSING", "/CTfile/CTFpupilData/Pupil[1]/DOB"),
    "field/giap-school-user-ctf25.xml": ("CTF-SOURCE-NOT-SCHOOL", "/CTfile/Header/SourceSchool/LEA"),
    "ctf-sen-provision-retired-statement.xml": (
        "CTF-SEN-PROVISION",
        "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SEN/SENprovision",
    ),
    "ctf-sen-start-date-in-future.xml": ("CTF-SEN-DATE", "/CTfile/CTFpupilData/Pupil[2]/SENhistory/SEN/StartDate"),
    "ctf-sen-need-unknown-code.xml": (
        "CTF-SEN-NEED",
        "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SENneeds/SENneed[1]/SENtype",
    ),
    "ctf-sen-need-ds-unconfirmed.xml": (
        "CTF-SEN-NEED-UNCONFIRMED",
        "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SENneeds/SENneed[2]/SENtype",
    ),
    "ctf-sen-rank-duplicate-primary.xml": (
        "CTF-SEN-RANK",
        "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SENneeds/SENneed[2]/SENtypeRank",
    ),
    "ctf-sen-nsa-with-ehc-plan.xml": (
        "CTF-SEN-NSA",
        "/CTfile/CTFpupilData/Pupil[2]/SENhistory/SENneeds/SENneed/SENtype",
    ),
    "ctf-sen-ehc-plan-without-needs.xml": (
        "CTF-SEN-CONSISTENT",
        "/CTfile/CTFpupilData/Pupil[1]/SENhistory/SEN/SENprovision",
    ),
}
#: Files that are valid (no errors) but still carry a warning or information issue.
VALID_WITH_NOTES = {
    "ctf-header-unsupported-version.xml",
    "ctf-source-equals-destination.xml",
    "field/giap-sex-unknown-ctf25.xml",
    "field/giap-school-user-ctf25.xml",
    "ctf-dest-unknown-xxx.xml",
    "ctf-dest-independent-or-abroad-mmm.xml",
    "ctf25-with-gender-element.xml",
    "ctf-sen-need-ds-unconfirmed.xml",
}


#: The field files were written in 2024-2026.
FIELD_AS_OF = Context(as_of=dt.date(2026, 12, 4))


def _report(name: str) -> validators.Report:
    return validators.validate(DATA / name, context=FIELD_AS_OF if name.startswith("field/") else AS_OF)


@pytest.mark.parametrize(("name", "expected"), sorted(FIRES.items()))
def test_rule_fires_with_xpath_location(name: str, expected: tuple[str, str]) -> None:
    report = _report(name)
    assert report.kind == "ctf"
    assert (expected[0], expected[1]) in {(i.rule, i.location) for i in report.issues}
    assert report.valid == (name in VALID_WITH_NOTES)


@pytest.mark.parametrize("name", ["ctf-valid-two-pupils.xml", "ctf24-gender.xml", "ctf-unknown-elements-tolerated.xml"])
def test_valid_files_pass_every_rule(name: str) -> None:
    report = _report(name)
    assert report.kind == "ctf"
    assert report.issues == []


def test_every_ctf_rule_has_a_firing_fixture() -> None:
    ctf_rules = {r.id for r in all_rules() if r.kind == "ctf"}
    fired = {rule for rule, _ in FIRES.values()}
    assert ctf_rules <= fired, f"rules without a firing test: {sorted(ctf_rules - fired)}"
    # and each of those rules passes on the valid file
    assert not _report("ctf-valid-two-pupils.xml").rules() & ctf_rules


def test_every_rule_has_severity_and_source() -> None:
    for r in all_rules():
        if r.kind == "ctf":
            assert r.source and r.summary and r.severity.value in ("error", "warning", "information")


def test_retired_codes_get_a_helpful_message() -> None:
    issue = next(i for i in _report("ctf-sen-provision-retired-statement.xml").issues if i.rule == "CTF-SEN-PROVISION")
    assert "retired" in issue.message and "EHC plan" in issue.message


@pytest.mark.parametrize(("code", "fires"), [("A", True), ("P", True), ("Z", True), ("K", False), ("E", False)])
def test_sen_provision_codes_from_the_list(code: str, fires: bool) -> None:
    xml = (
        (DATA / "ctf-valid-two-pupils.xml")
        .read_bytes()
        .replace(b"<SENprovision>K</SENprovision>", f"<SENprovision>{code}</SENprovision>".encode())
    )
    report = validators.validate(xml, context=AS_OF)
    assert ("CTF-SEN-PROVISION" in report.rules()) is fires


def test_ctf24_file_reads_gender_without_issue_but_ctf25_warns() -> None:
    assert _report("ctf24-gender.xml").issues == []
    issues = _report("ctf25-with-gender-element.xml").issues
    assert {i.severity.value for i in issues} == {"warning"}


def test_sex_is_fine_in_any_version_as_dfe_services_write_it() -> None:
    """DfE's multiplication tables check writes <Sex> into CTF 23 and 24 files."""
    ctf24_sex = (DATA / "ctf24-gender.xml").read_bytes().replace(b"Gender>", b"Sex>")
    assert validators.validate(ctf24_sex, context=AS_OF).issues == []


#: Field files (tests/data/ctf/field/SOURCES.md) → the only findings they may carry, none an error.
FIELD = {
    "giap-school-user-ctf25.xml": {"CTF-SOURCE-NOT-SCHOOL"},
    "giap-la-user-ctf25.xml": {"CTF-SOURCE-NOT-SCHOOL"},
    "giap-sex-unknown-ctf25.xml": {"CTF-SOURCE-NOT-SCHOOL", "CTF-SEX-MISSING"},
    "mtc-2025-results-ctf24-sex.xml": {"CTF-SOURCE-DEST"},
    "mtc-2026-results-ctf25.xml": {"CTF-SOURCE-DEST"},
    "mtc-2024-results-ctf23-sex.xml": {"CTF-SOURCE-DEST", "CTF-VERSION-OTHER"},
    "aspen-ctf24-uci-gender.xml": set(),
    "aspen-ctf25-uci-sex.xml": set(),
}


@pytest.mark.parametrize("name", sorted(FIELD))
def test_field_ctfs_are_accepted(name: str) -> None:
    """CTFs shaped as DfE services and supplier MIS exports write them: valid, with at most notes."""
    report = _report(f"field/{name}")
    assert report.valid, report.to_dict()
    assert report.rules() == FIELD[name]


def test_the_field_corpus_is_all_tested() -> None:
    assert {p.name for p in (DATA / "field").glob("*.xml")} == set(FIELD)


def test_a_service_download_addressed_xxx_is_not_a_lost_pupil_transfer() -> None:
    """GIAP writes XXX/XXXX on both sides for an LA user's download of many pupils."""
    report = _report("field/giap-la-user-ctf25.xml")
    assert not {"CTF-LOST-ONE-PUPIL", "CTF-DEST-UNKNOWN", "CTF-LAESTAB"} & report.rules()


def test_a_pseudo_code_source_must_still_be_paired() -> None:
    xml = (DATA / "field" / "giap-school-user-ctf25.xml").read_bytes()
    bad = xml.replace(b"<Estab>XXXX</Estab>", b"<Estab>1234</Estab>", 1)
    report = validators.validate(bad, context=FIELD_AS_OF)
    assert [(i.rule, i.location) for i in report.errors] == [("CTF-LAESTAB", "/CTfile/Header/SourceSchool/Estab")]


def test_schema_errors_are_anchored_in_the_file() -> None:
    bad = synthetic_ctf(30, seed=3).replace(b"<Surname>", b"<Snm>", 1).replace(b"</Surname>", b"</Snm>", 1)
    report = validators.validate(bad, context=AS_OF)
    schema = [i for i in report.issues if i.rule == "CTF-SCHEMA"]
    assert schema and schema[0].location == "/CTfile/CTFpupilData/Pupil[1]/Snm"


def test_root_structure_is_checked() -> None:
    xml = (DATA / "ctf-valid-two-pupils.xml").read_bytes().replace(b"</CTFpupilData>", b"</CTFpupilData><Extra/>")
    report = validators.validate(xml, context=AS_OF)
    assert ("CTF-SCHEMA", "/CTfile/Extra") in {(i.rule, i.location) for i in report.issues}


def test_truncated_file_is_a_parse_issue_not_a_traceback() -> None:
    report = _report("ctf-malformed-truncated.xml")
    assert not report.valid and "DOC-PARSE" in report.rules()


@pytest.mark.parametrize("n", [1, 100])
def test_generated_ctfs_validate(n: int) -> None:
    report = validators.validate(synthetic_ctf(n, seed=n), context=AS_OF)
    assert report.kind == "ctf"
    assert report.issues == []


def test_generated_10000_pupil_ctf_validates_streaming(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(synthetic_ctf(10_000, seed=10))
    seen: list[tuple[int, int | None]] = []
    report = ctf.validate_ctf(path, AS_OF, progress=lambda done, total: seen.append((done, total)))
    assert report.issues == []
    assert len(seen) == 10_000 and seen[-1] == (10_000, 10_000)


def test_generator_is_deterministic_and_lost_pupil_files_are_valid() -> None:
    assert synthetic_ctf(5, seed=7) == synthetic_ctf(5, seed=7)
    assert synthetic_ctf(5, seed=7) != synthetic_ctf(5, seed=8)
    report = validators.validate(synthetic_ctf(1, dest_laestab="XXXXXXX"), context=AS_OF)
    assert report.valid and report.rules() == {"CTF-DEST-UNKNOWN"}
    assert validators.validate(synthetic_ctf(2, version="24.0"), context=AS_OF).issues == []


def test_progress_count_survives_chunk_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "c.xml"
    data = synthetic_ctf(300, seed=2)
    path.write_bytes(data)
    assert ctf._count_pupils(path) == ctf._count_pupils(data) == 300


# --------------------------------------------------------------------------- hardening


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    # Refused at the DOCTYPE, before libxml2 could expand a single entity (no timing needed:
    # the message says where it stopped).
    report = _report("ctf-attack-billion-laughs.xml")
    assert not report.valid
    [issue] = report.issues
    assert issue.rule == "DOC-PARSE" and "DOCTYPE" in issue.message
    # The direct streaming API refuses it too.
    assert ctf.validate_ctf((DATA / "ctf-attack-billion-laughs.xml").read_bytes(), AS_OF).rules() == {"DOC-PARSE"}


class _FifoWatch:
    """A named pipe holding a secret: detects whether anything ever opens it for reading."""

    def __init__(self, path: Path, secret: str) -> None:
        os.mkfifo(path)
        self.path, self.secret, self.opened = path, secret, False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                # Opening the write end without blocking only succeeds if a reader has it open.
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.001)
                continue
            self.opened = True
            os.write(fd, self.secret.encode())
            os.close(fd)

    def stop(self) -> None:
        time.sleep(0.05)
        self._stop.set()
        self._thread.join()


def _xxe_file(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE CTfile [<!ENTITY secret SYSTEM "file://{target}">]>\n'
        "<CTfile><Header><DocumentName>&secret;</DocumentName></Header></CTfile>"
    ).encode()


def test_external_entity_to_a_file_is_refused_without_opening_it(tmp_path: Path) -> None:
    secret = "SECRET-7f3a9c"
    watch = _FifoWatch(tmp_path / "secret", secret)
    try:
        report = validators.validate(_xxe_file(watch.path), context=AS_OF)
        direct = ctf.validate_ctf(_xxe_file(watch.path), AS_OF)
    finally:
        watch.stop()
    assert not watch.opened, "the parser opened the file named by the external entity"
    for r in (report, direct):
        assert r.rules() == {"DOC-PARSE"} and "DOCTYPE" in r.issues[0].message
        assert secret not in json.dumps(r.to_dict())
    assert secret not in render([report], "text")


def test_external_entity_to_a_plain_file_never_leaks(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("SECRET-plain-b81e")
    report = validators.validate(_xxe_file(target), context=AS_OF)
    assert report.rules() == {"DOC-PARSE"}
    assert "SECRET-plain-b81e" not in json.dumps(report.to_dict())


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.3)
    yield sock
    sock.close()


def _no_connection(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except TimeoutError:
        return True
    conn.close()
    return False


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE CTfile SYSTEM "http://127.0.0.1:{port}/ctf.dtd">',
        '<!DOCTYPE CTfile PUBLIC "-//DfE//CTF//EN" "http://127.0.0.1:{port}/ctf.dtd">',
        '<!DOCTYPE CTfile [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e.txt">]>',
        '<!DOCTYPE CTfile [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>',
    ],
    ids=["external-dtd", "external-dtd-public", "external-entity", "parameter-entity"],
)
def test_network_dtds_and_entities_are_refused_without_connecting(listener: socket.socket, doctype: str) -> None:
    port = listener.getsockname()[1]
    body = "<CTfile><Header><DocumentName>&e;</DocumentName></Header></CTfile>"
    xml = ('<?xml version="1.0"?>\n' + doctype.format(port=port) + "\n" + body).encode()
    report = validators.validate(xml, context=AS_OF)
    direct = ctf.validate_ctf(xml, AS_OF)
    assert _no_connection(listener), "the parser connected to the network"
    for r in (report, direct):
        assert not r.valid and r.rules() == {"DOC-PARSE"}
        assert "DOCTYPE" in r.issues[0].message


def test_oversized_input_raises_too_large(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sendx.validators import xml as safe_xml

    data = synthetic_ctf(10, seed=1)
    monkeypatch.setattr(safe_xml, "MAX_XML_BYTES", len(data) - 1)
    with pytest.raises(TooLargeError):
        ctf.validate_ctf(data, AS_OF)
    path = tmp_path / "big.xml"
    path.write_bytes(data)
    with pytest.raises(TooLargeError):
        ctf.validate_ctf(path, AS_OF)
    # Through the public entry point an oversized file is an invalid document, not a crash.
    report = validators.validate(path, context=AS_OF)
    assert report.rules() == {"DOC-PARSE"} and "more than the limit" in report.issues[0].message

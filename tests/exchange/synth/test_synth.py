"""``sendx.exchange.synth``: every generated document validates, the same seed gives the same data,
and a CTF of any size streams in bounded pieces with a distinct UPN for every pupil."""

from __future__ import annotations

import datetime as dt

import pytest

from sendx import validators
from sendx.exchange.synth.ctf import iter_synthetic_ctf, pupil_upn, synthetic_ctf
from sendx.exchange.synth.ehcp import synthetic_ehcp
from sendx.exchange.synth.passport import synthetic_passport
from sendx.validators.identifiers import is_valid_upn
from sendx.validators.rules import Context

DATES = [dt.date(2026, 3, 1), dt.date(2026, 9, 1), dt.date(2027, 8, 31)]


@pytest.mark.parametrize("as_of", DATES, ids=str)
@pytest.mark.parametrize("make", [synthetic_ehcp, synthetic_passport], ids=["ehcp", "passport"])
def test_every_generated_document_validates_without_a_finding(make, as_of) -> None:
    for index in range(25):
        doc = make(index, seed=11, as_of=as_of)
        report = validators.validate(doc, context=Context(as_of=as_of))
        assert report.valid and report.issues == [], (index, [i.to_dict() for i in report.issues])


@pytest.mark.parametrize("make", [synthetic_ehcp, synthetic_passport], ids=["ehcp", "passport"])
def test_the_same_seed_gives_the_same_document_and_others_differ(make) -> None:
    day = dt.date(2026, 11, 2)
    assert make(3, seed=1, as_of=day) == make(3, seed=1, as_of=day)
    people = {
        (d["child"] if "child" in d else d["subject"])["upn"] for d in (make(i, seed=1, as_of=day) for i in range(20))
    }
    assert len(people) > 15  # different children, not one child over and over


def test_a_plan_speaks_of_its_own_child() -> None:
    plan = synthetic_ehcp(0, seed=5, as_of=dt.date(2026, 11, 2))
    text = str(plan["sections"])
    assert plan["child"]["givenName"] in text and "Mara" not in text and "Okafor" not in str(plan)


def test_a_generated_ctf_validates_and_is_deterministic() -> None:
    data = synthetic_ctf(300, seed=2)
    assert data == b"".join(iter_synthetic_ctf(300, seed=2)) and data != synthetic_ctf(300, seed=3)
    report = validators.validate(data)
    assert report.kind == "ctf" and report.valid and report.issues == [], [i.to_dict() for i in report.issues][:3]


def test_a_ctf_streams_in_bounded_pieces() -> None:
    pieces = list(iter_synthetic_ctf(3000, seed=1))
    assert len(pieces) > 10 and max(map(len, pieces)) < 2 * 1024 * 1024


def test_pupil_upns_stay_distinct_and_valid_past_one_schools_allocation() -> None:
    around = [*range(0, 50), *range(89_950, 90_050), *range(179_990, 180_010), 1_234_567]
    upns = [pupil_upn("820", "1234", i) for i in around]
    assert len(set(upns)) == len(upns) and all(is_valid_upn(u) for u in upns)
    assert pupil_upn("820", "1234", 0) == synthetic_ctf(1).split(b"<UPN>")[1].split(b"<")[0].decode()

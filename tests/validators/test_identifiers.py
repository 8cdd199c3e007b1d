"""Identifier check digits: known values from the public specifications, and properties."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sendx.validators import identifiers as ids

digits = st.text(alphabet=string.digits, min_size=1, max_size=1)


@pytest.mark.parametrize("upn", ["B801200005001", "Z330200119042", "N330200119043", "P207000016049"])
def test_known_valid_upns(upn: str) -> None:
    assert ids.is_valid_upn(upn)


@pytest.mark.parametrize(
    "upn",
    ["Q207000016049", "B80120000500", "B8012000050011", "I801200005001", "b801200005001", "", None, 801200005001],
)
def test_known_invalid_upns(upn: object) -> None:
    # Q207000016049 is the published (wrong) vendor example: the right letter is P.
    assert not ids.is_valid_upn(upn)


@given(st.text(alphabet=string.digits, min_size=11, max_size=11), st.sampled_from(ids.UPN_CHECK_LETTERS + "0123456789"))
def test_upn_with_computed_letter_is_valid(body: str, last: str) -> None:
    upn = ids.upn_check_letter(body + last) + body + last
    assert ids.is_valid_upn(upn)
    assert ids.is_temporary_upn(upn) == last.isalpha()
    assert ids.is_valid_upn(upn, allow_temporary=False) == last.isdigit()


@given(st.text(alphabet=string.digits, min_size=12, max_size=12), st.integers(1, 12), st.integers(1, 9))
def test_upn_single_digit_change_is_detected(body: str, pos: int, delta: int) -> None:
    upn = ids.upn_check_letter(body) + body
    changed = upn[:pos] + str((int(upn[pos]) + delta) % 10) + upn[pos + 1 :]
    assert not ids.is_valid_upn(changed)


@given(st.text(alphabet=string.digits, min_size=9, max_size=9))
def test_uln_check_digit_property(first: str) -> None:
    check = ids.uln_check_digit(first)
    if check is None:
        assert not any(ids.is_valid_uln(first + d) for d in string.digits)
    else:
        assert ids.is_valid_uln(first + str(check))
        for d in string.digits:
            if d != str(check):
                assert not ids.is_valid_uln(first + d)


@given(st.text(alphabet=string.digits, min_size=9, max_size=9))
def test_nhs_number_check_digit_property(first: str) -> None:
    check = ids.nhs_check_digit(first)
    valid = [d for d in string.digits if ids.is_valid_nhs_number(first + d)]
    assert valid == ([] if check is None else [str(check)])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("9434765919", True),
        ("943 476 5919", True),
        ("9912003888", True),
        ("9912003890", False),
        ("94347659190", False),
        ("94 34765919", False),
        ("943476591X", False),
        ("", False),
    ],
)
def test_nhs_numbers(value: str, ok: bool) -> None:
    assert ids.is_valid_nhs_number(value) is ok


@pytest.mark.parametrize(("value", "ok"), [("4812345676", True), ("4812345677", False), ("481234567", False)])
def test_ulns(value: str, ok: bool) -> None:
    assert ids.is_valid_uln(value) is ok


def test_other_identifiers() -> None:
    assert ids.is_valid_urn("145832") and not ids.is_valid_urn("045832") and not ids.is_valid_urn("14583")
    assert ids.is_valid_laestab("3302001") and not ids.is_valid_laestab("0002001")
    assert not ids.is_valid_laestab("3300000") and not ids.is_valid_laestab("330200")
    assert ids.is_valid_ukprn("10012345") and not ids.is_valid_ukprn("20012345")
    assert ids.is_valid_ods_code("RYW") and ids.is_valid_ods_code("A81001") and not ids.is_valid_ods_code("ry-w")
    assert not ids.is_valid_ods_code("123")
    assert ids.is_valid_la_code("330") and not ids.is_valid_la_code("000") and not ids.is_valid_la_code("33")


@given(st.text(alphabet=string.ascii_letters + string.digits + " -_éİ١ﬁ\n", max_size=12))
def test_ods_codes_are_3_to_10_upper_case_letters_or_digits_with_a_letter(value: str) -> None:
    spec = re.fullmatch(r"(?=[A-Z0-9]*[A-Z])[A-Z0-9]{3,10}", value) is not None
    assert ids.is_valid_ods_code(value) is spec


@given(st.from_regex(r"[A-Z0-9]{3,10}", fullmatch=True))
def test_ods_shaped_codes(value: str) -> None:
    assert ids.is_valid_ods_code(value) is any(c.isalpha() for c in value)


@pytest.mark.parametrize(
    "pc", ["SW1A 1AA", "sw1a1aa", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "GIR 0AA"]
)
def test_valid_postcodes(pc: str) -> None:
    assert ids.is_valid_postcode(pc)


@pytest.mark.parametrize("pc", ["B15 ZZZ", "QQ1 1AA", "12345", "SW1A", "SW1A 1AAA", "", "V1 1AA"])
def test_invalid_postcodes(pc: str) -> None:
    assert not ids.is_valid_postcode(pc)


@given(st.one_of(st.text(max_size=20), st.integers(), st.none(), st.binary(max_size=20), st.floats()))
def test_checkers_never_raise(value: object) -> None:
    for name in ids.__all__:
        fn = getattr(ids, name)
        if name.startswith("is_valid") or name == "is_temporary_upn":
            assert fn(value) in (True, False)


@given(st.from_regex(r"[A-Za-z]{1,2}[0-9]{1,2} ?[0-9][A-Za-z]{2}", fullmatch=True))
def test_normalise_postcode_is_idempotent(pc: str) -> None:
    once = ids.normalise_postcode(pc)
    assert ids.normalise_postcode(once) == once
    assert ids.is_valid_postcode(pc) == ids.is_valid_postcode(once)

"""Check digits and formats of the identifiers that travel with a child's record.

UPN (DfE unique pupil number, with temporary UPNs), ULN (unique learner number), NHS
number, URN, LAESTAB, UKPRN, ODS code and UK postcode.  The algorithms are the public
ones (DfE UPN guidance, LRS ULN, NHS Data Dictionary); the code is ours.  Every public
function takes any object and answers ``bool`` without raising, so callers can feed them
untrusted values directly.
"""

from __future__ import annotations

import operator
import re

__all__ = [
    "UPN_CHECK_LETTERS",
    "is_temporary_upn",
    "is_valid_la_code",
    "is_valid_laestab",
    "is_valid_nhs_number",
    "is_valid_ods_code",
    "is_valid_postcode",
    "is_valid_ukprn",
    "is_valid_uln",
    "is_valid_upn",
    "is_valid_urn",
    "nhs_check_digit",
    "normalise_postcode",
    "uln_check_digit",
    "upn_check_letter",
]

#: The 23 letters a UPN check letter (and a temporary UPN's last character) is drawn from:
#: the alphabet without I, O and S, which are too easily misread.
UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"

_UPN_RE = re.compile(r"[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]")


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters that follow it in a UPN.

    Characters 2 to 13 are weighted by their position (2..13); digits count by value and
    a final letter (temporary UPN) by its index in ``UPN_CHECK_LETTERS``.
    """
    if len(body) != 12:
        raise ValueError("a UPN body has 12 characters")
    try:
        # Table look-ups, not a call per character: the table holds every character a
        # well-formed UPN can; anything else takes the general rule below.
        total = sum(map(operator.mul, range(2, 14), map(_UPN_VALUES.__getitem__, body)))
    except KeyError:
        total = sum(map(operator.mul, range(2, 14), map(_upn_value, body)))
    return UPN_CHECK_LETTERS[total % 23]


_UPN_VALUES = {**{str(d): d for d in range(10)}, **{ch: i for i, ch in enumerate(UPN_CHECK_LETTERS)}}


def _upn_value(ch: str) -> int:
    # The general rule: a digit by value, else its index among the check letters, else ValueError.
    return int(ch) if ch.isdigit() else UPN_CHECK_LETTERS.index(ch)


def is_valid_upn(value: object, *, allow_temporary: bool = True) -> bool:
    """A 13-character UPN whose first letter checks against the rest."""
    if not isinstance(value, str) or not _UPN_RE.fullmatch(value):
        return False
    if not allow_temporary and not value[12].isdigit():
        return False
    return upn_check_letter(value[1:]) == value[0]


def is_temporary_upn(value: object) -> bool:
    """A valid temporary UPN: its serial ends in a letter instead of a digit."""
    return is_valid_upn(value) and not str(value)[12].isdigit()


_WEIGHTS = range(10, 1, -1)
_DIGIT_VALUES = {str(d): d for d in range(10)}


def _weighted_sum(first_nine: str) -> int:
    """10·d1 + 9·d2 + … + 2·d9, the sum both the ULN and the NHS number check digits use."""
    if len(first_nine) != len(_WEIGHTS):
        raise ValueError(f"expected {len(_WEIGHTS)} digits, got {len(first_nine)}")
    try:
        # ASCII digits by table look-up (no int() call per digit); anything else as int() reads it.
        return sum(map(operator.mul, _WEIGHTS, map(_DIGIT_VALUES.__getitem__, first_nine)))
    except KeyError:
        return sum(map(operator.mul, _WEIGHTS, map(int, first_nine)))


def uln_check_digit(first_nine: str) -> int | None:
    """The ULN check digit for nine digits, or ``None`` when no digit can make it valid."""
    total = _weighted_sum(first_nine)
    remainder = total % 11
    return None if remainder == 0 else 10 - remainder


def is_valid_uln(value: object) -> bool:
    """Ten digits; 10·d1 + … + 2·d9 mod 11 = r with r ≠ 0 and d10 = 10 − r."""
    if not isinstance(value, str) or len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    return uln_check_digit(value[:9]) == int(value[9])


def nhs_check_digit(first_nine: str) -> int | None:
    """The NHS number check digit for nine digits, or ``None`` when 10 (never issued)."""
    total = _weighted_sum(first_nine)
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


_NHS_SPACED_RE = re.compile(r"\d{3} \d{3} \d{4}")


def is_valid_nhs_number(value: object) -> bool:
    """Ten digits (spaces allowed in groups 3-3-4 only) passing the modulus 11 check."""
    if not isinstance(value, str):
        return False
    compact = value.replace(" ", "") if _NHS_SPACED_RE.fullmatch(value) else value
    if len(compact) != 10 or not compact.isascii() or not compact.isdigit():
        return False
    return nhs_check_digit(compact[:9]) == int(compact[9])


def _digits(value: object, n: int) -> bool:
    return isinstance(value, str) and len(value) == n and value.isascii() and value.isdigit()


def is_valid_urn(value: object) -> bool:
    """A GIAS unique reference number: six digits, 100000 to 999999."""
    return _digits(value, 6) and str(value)[0] != "0"


def is_valid_la_code(value: object) -> bool:
    """A three-digit DfE local authority number (not 000)."""
    return _digits(value, 3) and value != "000"


def is_valid_laestab(value: object) -> bool:
    """LA number (3 digits) followed by an establishment number (4 digits)."""
    return _digits(value, 7) and is_valid_la_code(str(value)[:3]) and str(value)[3:] != "0000"


def is_valid_ukprn(value: object) -> bool:
    """A UK Register of Learning Providers number: eight digits starting with 1."""
    return _digits(value, 8) and str(value)[0] == "1"


def is_valid_ods_code(value: object) -> bool:
    """An NHS ODS organisation or site code: 3–10 upper-case letters/digits, one letter at least."""
    # ASCII letters and digits only, and ``isupper``: at least one letter, none lower-case.
    return isinstance(value, str) and 3 <= len(value) <= 10 and value.isascii() and value.isalnum() and value.isupper()


# Outward code + inward code, per the Royal Mail PAF formats, plus the special GIR 0AA.
_POSTCODE_RE = re.compile(
    r"(GIR 0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?)"
    r" [0-9][ABD-HJLNP-UW-Z]{2})"
)


def normalise_postcode(value: str) -> str:
    """Upper-case with exactly one space before the inward code (``sw1a1aa`` → ``SW1A 1AA``)."""
    compact = "".join(value.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def is_valid_postcode(value: object) -> bool:
    """A UK postcode in any spacing or case."""
    if not isinstance(value, str) or not 5 <= len(value) <= 10:
        return False
    return bool(_POSTCODE_RE.fullmatch(normalise_postcode(value)))

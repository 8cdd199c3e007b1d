"""Realistic synthetic Common Transfer Files, seeded and deterministic.

Used by the tests, the benchmarks and the demo wherever a CTF is needed: every person in
them is invented.  Pupils carry valid UPNs and ULNs, SEN history consistent with the CTF
rules, attendance, key stage assessments, contacts and addresses with well-formed
postcodes, so a generated file is valid under ``validators.ctf`` and exercises the same
paths a file exported from a school MIS would.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from xml.sax.saxutils import escape

from sendx.validators.identifiers import uln_check_digit, upn_check_letter

__all__ = ["iter_synthetic_ctf", "make_uln", "make_upn", "pupil_upn", "random_postcode", "synthetic_ctf"]

_SURNAMES = [
    "Ahmed",
    "Baker",
    "Clarke",
    "Davies",
    "Evans",
    "Fisher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nowak",
    "Okafor",
    "Patel",
    "Quinn",
    "Roberts",
    "Singh",
    "Taylor",
    "Usman",
    "Walker",
    "Young",
    "Zielinski",
    "Campbell",
    "Murphy",
]
_FORENAMES = [
    "Amelia",
    "Ava",
    "Aisha",
    "Ben",
    "Chloe",
    "Daniel",
    "Ella",
    "Finley",
    "Grace",
    "Harry",
    "Isla",
    "Jack",
    "Leo",
    "Lily",
    "Maya",
    "Noah",
    "Oliver",
    "Poppy",
    "Ruby",
    "Sofia",
    "Theo",
    "Yusuf",
    "Zara",
    "Mohammed",
    "Evie",
    "Freddie",
    "Ivy",
    "Arthur",
]
_STREETS = ["High Street", "Station Road", "Church Lane", "Park Avenue", "Mill Road", "Victoria Street", "Queens Road"]
_TOWNS = ("Leeds", "Bristol", "Norwich", "Derby", "Luton", "Exeter", "Carlisle", "Reading")
_OUTWARD = ("LS6", "BS8", "NR2", "DE1", "LU1", "EX4", "CA1", "RG1", "SW1A", "M14", "B33", "EC1A")
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_ETHNICITY = ("WBRI", "WIRI", "WOTH", "MWBC", "AIND", "APKN", "BAFR", "BCRB", "CHNE", "AOTH", "REFU")
_SUBJECTS = (("ENG", "TA"), ("MAT", "TA"), ("SCI", "TA"), ("RDG", "TT"), ("GPS", "TT"))
_NEEDS = ("SPLD", "MLD", "SEMH", "SLCN", "ASD", "HI", "VI", "PD", "OTH")
#: A school allocates UPNs with a two-digit year and a three-digit serial: 90,000 of them (years
#: 10-99); pupils past that carry UPNs allocated by other schools of the LA (their earlier ones).
_UPNS_PER_SCHOOL = 90_000


def make_upn(la: str, estab: str, year: int, serial: int) -> str:
    """A valid permanent UPN for the given LA, establishment, two-digit year and serial."""
    body = f"{la}{estab}{year % 100:02d}{serial % 1000:03d}"
    return upn_check_letter(body) + body


def make_uln(rng: random.Random) -> str:
    """A random ULN that passes its check digit."""
    while True:
        nine = str(rng.randint(100_000_000, 999_999_999))
        check = uln_check_digit(nine)
        if check is not None and check < 10:
            return nine + str(check)


_INDENT = tuple("  " * depth for depth in range(16))


def pupil_upn(la: str, estab: str, i: int) -> str:
    """The UPN of pupil ``i`` of a synthetic CTF from school ``la``/``estab``: distinct for every ``i``."""
    block, n = divmod(i, _UPNS_PER_SCHOOL)
    allocated_by = f"{(int(estab) + block) % 10_000:04d}" if estab.isdigit() else estab
    return make_upn(la, allocated_by, 10 + n // 1000, n % 1000)


def random_postcode(rng: random.Random) -> str:
    """A well-formed postcode in one of a dozen real outward codes."""
    return f"{rng.choice(_OUTWARD)} {rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"


class _Xml:
    """A tiny indented XML writer: fast enough for 10,000 pupils and exact about escaping."""

    def __init__(self) -> None:
        self.parts: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n']
        self.depth = 0

    def open(self, tag: str) -> None:
        self.parts.append(f"{_INDENT[self.depth]}<{tag}>\n")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.parts.append(f"{_INDENT[self.depth]}</{tag}>\n")

    def leaf(self, tag: str, text: object) -> None:
        value = str(text)
        if "&" in value or "<" in value or ">" in value:  # most values are digits and names
            value = escape(value)
        self.parts.append(f"{_INDENT[self.depth]}<{tag}>{value}</{tag}>\n")

    def take(self) -> bytes:
        """What was written since the last ``take``: a file is streamed out in these pieces."""
        out = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        return out


def _split_laestab(laestab: str) -> tuple[str, str]:
    return laestab[:3], laestab[3:]


def synthetic_ctf(
    n_pupils: int,
    *,
    seed: int = 0,
    source_laestab: str = "8201234",
    dest_laestab: str = "8205678",
    source_urn: str = "123456",
    academic_year: int = 2024,
    created: dt.datetime = dt.datetime(2025, 3, 14, 10, 30, 0),
    version: str = "25.0",
    sen_rate: float = 0.2,
) -> bytes:
    """A CTF 25 file of ``n_pupils`` invented pupils (``version="24.0"`` writes <Gender>).

    ``dest_laestab`` may be ``XXXXXXX`` or ``MMMMMMM`` for the lost-pupil pseudo-codes.
    The same arguments always give the same bytes (those of ``iter_synthetic_ctf``, joined).
    """
    return b"".join(
        iter_synthetic_ctf(
            n_pupils,
            seed=seed,
            source_laestab=source_laestab,
            dest_laestab=dest_laestab,
            source_urn=source_urn,
            academic_year=academic_year,
            created=created,
            version=version,
            sen_rate=sen_rate,
        )
    )


def iter_synthetic_ctf(
    n_pupils: int,
    *,
    seed: int = 0,
    source_laestab: str = "8201234",
    dest_laestab: str = "8205678",
    source_urn: str = "123456",
    academic_year: int = 2024,
    created: dt.datetime = dt.datetime(2025, 3, 14, 10, 30, 0),
    version: str = "25.0",
    sen_rate: float = 0.2,
) -> Iterator[bytes]:
    """``synthetic_ctf`` in pieces (the header, then a run of pupils at a time, then the end), so a
    CTF of any size is written in bounded memory."""
    rng = random.Random(seed)
    src_la, src_estab = _split_laestab(source_laestab)
    dst_la, dst_estab = _split_laestab(dest_laestab)
    x = _Xml()
    x.open("CTfile")
    x.open("Header")
    x.leaf("DocumentName", "Common Transfer File")
    x.leaf("CTFversion", version)
    x.leaf("DateTime", created.strftime("%Y-%m-%dT%H:%M:%S"))
    x.leaf("DocumentQualifier", "full" if n_pupils != 1 else "partial")
    x.leaf("DataDescriptor", "sendx synthetic CTF (invented pupils)")
    x.leaf("SupplierID", "sendx-synth")
    x.open("SourceSchool")
    x.leaf("LEA", src_la)
    x.leaf("Estab", src_estab)
    x.leaf("URN", source_urn)
    x.leaf("SchoolName", "Synthetic Primary School")
    x.leaf("AcademicYear", academic_year)
    x.close("SourceSchool")
    x.open("DestSchool")
    x.leaf("LEA", dst_la)
    x.leaf("Estab", dst_estab)
    x.close("DestSchool")
    x.close("Header")
    x.open("CTFpupilData")
    for i in range(n_pupils):
        _pupil(x, rng, i, src_la, src_estab, academic_year, version, sen_rate)
        if i % 256 == 255:
            yield x.take()
    x.close("CTFpupilData")
    x.close("CTfile")
    yield x.take()


def _date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _pupil(x: _Xml, rng: random.Random, i: int, la: str, estab: str, ay: int, version: str, sen_rate: float) -> None:
    nc_year = rng.randint(1, 6)
    # Born in the academic year that puts the pupil in NC year ``nc_year`` this year.
    born_ay = ay - nc_year - 5
    dob = _date(rng, dt.date(born_ay, 9, 1), dt.date(born_ay + 1, 8, 31))
    sex = rng.choice("MF")
    surname = rng.choice(_SURNAMES)
    x.open("Pupil")
    x.leaf("UPN", pupil_upn(la, estab, i))
    if rng.random() < 0.8:
        x.leaf("UniqueLearnerNumber", make_uln(rng))
    x.leaf("Surname", surname)
    x.leaf("Forename", rng.choice(_FORENAMES))
    x.leaf("DOB", dob.isoformat())
    x.leaf("Sex" if float(version) >= 25 else "Gender", sex)

    x.open("BasicDetails")
    if rng.random() < 0.3:
        x.leaf("MiddleNames", rng.choice(_FORENAMES))
    x.leaf("NCyearActual", nc_year)
    x.leaf("Ethnicity", rng.choice(_ETHNICITY))
    x.leaf("EthnicitySource", "P")
    x.open("Languages")
    x.open("Type")
    x.leaf("LanguageType", "F")
    x.leaf("Language", "ENG" if rng.random() < 0.8 else rng.choice(("POL", "URD", "PAN", "ARA", "RON")))
    x.close("Type")
    x.close("Languages")
    x.leaf("MedicalFlag", "true" if rng.random() < 0.05 else "false")
    x.leaf("EnrolStatus", "C")
    x.close("BasicDetails")

    x.open("LookedAfter")
    x.leaf("InCare", "true" if rng.random() < 0.02 else "false")
    x.close("LookedAfter")

    if rng.random() < 0.2:
        x.open("FSMhistory")
        start = _date(rng, dob + dt.timedelta(days=4 * 365), dt.date(ay, 7, 1))
        x.leaf("FSMreviewDate", (start + dt.timedelta(days=365)).isoformat())
        x.open("FSMinstance")
        x.leaf("FSMstartDate", start.isoformat())
        x.leaf("UKcountry", "ENG")
        x.close("FSMinstance")
        x.close("FSMhistory")

    if rng.random() < sen_rate:
        provision = "E" if rng.random() < 0.25 else "K"
        x.open("SENhistory")
        x.open("SEN")
        x.leaf("StartDate", _date(rng, dob + dt.timedelta(days=4 * 365), dt.date(ay, 12, 1)).isoformat())
        x.leaf("SENprovision", provision)
        x.close("SEN")
        x.open("SENneeds")
        needs = rng.sample(_NEEDS, 2 if rng.random() < 0.4 else 1)
        for rank, need in enumerate(needs, start=1):
            x.open("SENneed")
            x.leaf("SENtype", need)
            x.leaf("SENtypeRank", rank)
            x.close("SENneed")
        x.close("SENneeds")
        x.close("SENhistory")

    x.open("Address")
    x.open("BS7666Address")
    x.leaf("PAON", rng.randint(1, 220))
    x.leaf("Street", rng.choice(_STREETS))
    town = rng.choice(_TOWNS)
    x.leaf("Town", town)
    x.leaf("PostTown", town.upper())
    x.close("BS7666Address")
    x.leaf("Postcode", random_postcode(rng))
    x.close("Address")

    x.open("Contacts")
    for order in range(1, rng.randint(1, 2) + 1):
        x.open("Contact")
        x.leaf("Order", order)
        x.leaf("Title", rng.choice(("Mr", "Ms", "Mrs", "Dr", "Mx")))
        x.leaf("Surname", surname)
        x.leaf("Forename", rng.choice(_FORENAMES))
        x.leaf("Relationship", rng.choice(("PAR", "CAR", "OTH")))
        x.leaf("Responsibility", "true")
        x.open("Phones")
        x.open("Phone")
        x.leaf("TelephoneType", "M")
        x.leaf("PhoneNo", f"07700 900{rng.randint(0, 999):03d}")  # Ofcom drama-reserved range
        x.close("Phone")
        x.close("Phones")
        x.leaf("Email", f"contact{i}.{order}@example.org")
        x.close("Contact")
    x.close("Contacts")

    x.open("Attendance")
    for back in range(min(nc_year, 3)):
        x.open("YearData")
        x.leaf("Year", ay - back)
        possible = rng.randint(300, 380)
        authorised = rng.randint(0, 20)
        x.leaf("SessionsPossible", possible)
        x.leaf("SessionsAuthorised", authorised)
        x.leaf("SessionsUnauthorised", rng.randint(0, 8))
        x.close("YearData")
    x.close("Attendance")

    x.open("StageAssessments")
    x.open("KeyStage")
    x.leaf("Stage", "KS1" if nc_year >= 3 else "FSP")
    for subject, method in _SUBJECTS:
        x.open("StageAssessment")
        x.leaf("Locale", "ENG")
        x.leaf("Year", ay - max(0, nc_year - 2))
        x.leaf("Subject", subject)
        x.leaf("Method", method)
        x.leaf("Component", subject)
        x.leaf("ResultStatus", "F")
        x.leaf("ResultQualifier", "WA")
        x.leaf("Result", rng.choice(("EXS", "GDS", "WTS", "PKF")))
        x.close("StageAssessment")
    x.close("KeyStage")
    x.close("StageAssessments")

    x.open("SchoolHistory")
    x.open("School")
    x.leaf("LEA", la)
    x.leaf("Estab", estab)
    x.leaf("SchoolName", "Synthetic Primary School")
    x.leaf("EntryDate", dt.date(ay - nc_year, 9, rng.randint(1, 10)).isoformat())
    x.leaf("LeavingDate", dt.date(ay + 1, 3, 13).isoformat())
    x.close("School")
    x.close("SchoolHistory")
    x.close("Pupil")

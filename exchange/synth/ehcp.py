"""Realistic synthetic EHC plans, seeded and deterministic, each valid under the national standards.

A plan is the bundled example (``schemas/ehcp/examples/ehcp-final-secondary.json``: a complete
final plan, written as a caseworker would) given a new, invented child (name, date of birth,
UPN, ULN, NHS number, postcode), a local authority, a plan id, and dates moved so that it was
issued shortly before ``as_of`` and its review is due within the year.  Every person in it is
invented; ``tests/exchange/synth`` validates every plan it makes.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from sendx import schemas
from sendx.exchange.synth.ctf import make_uln, make_upn, random_postcode
from sendx.validators.identifiers import nhs_check_digit

__all__ = ["LAS", "iter_synthetic_ehcps", "make_nhs_number", "synthetic_ehcp"]

#: Local authorities a plan may come from: DfE LA number → name.
LAS = {"330": "Birmingham", "331": "Coventry", "373": "Sheffield", "886": "Kent", "213": "Westminster"}
#: The example child's names and family name, and its LA's name: replaced in every text of the plan.
_TEMPLATE_NAMES = ("Amara", "Mara")
_TEMPLATE_FAMILY = "Okafor-Reid"
_TEMPLATE_LA = "Birmingham"
#: The example's narrative speaks of a girl ("she", "her"), so the invented child is one too.
_GIVEN_NAMES = ("Amelia", "Ava", "Aisha", "Chloe", "Ella", "Grace", "Isla", "Lily", "Maya", "Poppy", "Ruby", "Zara")
_FAMILY_NAMES = ("Ahmed", "Baker", "Clarke", "Davies", "Evans", "Fisher", "Hughes", "Khan", "Nowak", "Patel", "Quinn")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: The plan is issued this many days before ``as_of`` (so its review is due within a year).
_ISSUED_BEFORE = 60


def make_nhs_number(rng: random.Random) -> str:
    """A random NHS number that passes its modulus 11 check."""
    while True:
        nine = str(rng.randint(400_000_000, 999_999_999))
        check = nhs_check_digit(nine)
        if check is not None and check < 10:
            return nine + str(check)


@cache
def _template_text() -> str:
    path = next(p for p in schemas.examples("ehcp") if p.name == "ehcp-final-secondary.json")
    return path.read_text(encoding="utf-8")


def shift_dates(node: Any, days: int) -> Any:
    """Every ISO date (YYYY-MM-DD) in a JSON value moved by ``days``; relations between them kept."""
    if isinstance(node, dict):
        return {k: shift_dates(v, days) for k, v in node.items()}
    if isinstance(node, list):
        return [shift_dates(v, days) for v in node]
    if isinstance(node, str) and _DATE.fullmatch(node):
        return (dt.date.fromisoformat(node) + dt.timedelta(days=days)).isoformat()
    return node


def _academic_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def synthetic_ehcp(index: int = 0, *, seed: int = 0, as_of: dt.date | None = None) -> dict[str, Any]:
    """Plan number ``index`` of the series ``seed``: the same arguments always give the same plan."""
    as_of = as_of or dt.date.today()
    rng = random.Random(f"ehcp:{seed}:{index}")
    given, family, la = rng.choice(_GIVEN_NAMES), rng.choice(_FAMILY_NAMES), rng.choice(sorted(LAS))
    text = _template_text()
    for old, new in ((_TEMPLATE_FAMILY, family), *((name, given) for name in _TEMPLATE_NAMES), (_TEMPLATE_LA, LAS[la])):
        text = re.sub(rf"\b{old}\b", new, text)
    template = json.loads(text)
    issued = dt.date.fromisoformat(template["timeline"]["finalIssuedDate"])
    plan = shift_dates(template, (as_of - dt.timedelta(days=_ISSUED_BEFORE) - issued).days)

    child = plan["child"]
    # Born in the academic year that puts the child in the example's year group on ``as_of``.
    born = _academic_year(as_of) - int(child["yearGroup"]) - 5
    dob = dt.date(born, 9, 1) + dt.timedelta(days=rng.randint(0, 364))
    child.update(
        givenName=given,
        familyName=family,
        preferredName=given,
        dateOfBirth=dob.isoformat(),
        upn=make_upn(la, f"{rng.randint(2000, 5999):04d}", rng.randint(10, 25), rng.randint(0, 999)),
        uln=make_uln(rng),
        nhsNumber=make_nhs_number(rng),
        postcode=random_postcode(rng),
    )
    plan["la"] = {"code": la, "name": LAS[la]}
    plan["planId"] = f"EHCP-{la}-{as_of.year}-{seed % 1000:03d}{index:05d}"
    return copy.deepcopy(plan)


def iter_synthetic_ehcps(count: int, *, seed: int = 0, as_of: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """``count`` plans of the series ``seed``, one at a time."""
    for index in range(count):
        yield synthetic_ehcp(index, seed=seed, as_of=as_of)

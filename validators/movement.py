"""Pupil movement events: schema, identifiers, and the AP oversight rules.

The LA's view of where children go depends on each event naming both ends honestly: a
move into alternative provision names the AP setting, a move out of AP names where the
pupil went (or says the destination is unknown).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sendx.validators.dates import parse_date
from sendx.validators.jsonkind import register_json_kind
from sendx.validators.rules import Context, Finding, rule

KIND = "movement"

register_json_kind(
    KIND,
    description="A pupil movement event (join, leave, AP placement, exclusion, EHE, CME...)",
    identifiers={
        "/pupil/upn": "ID-UPN",
        "/pupil/uln": "ID-ULN",
        "/from/urn": "ID-URN",
        "/to/urn": "ID-URN",
        "/from/laestab": "ID-LAESTAB",
        "/to/laestab": "ID-LAESTAB",
        "/from/ukprn": "ID-UKPRN",
        "/to/ukprn": "ID-UKPRN",
    },
)

_SRC = "SEND and AP Improvement Plan (2023) ch.5; sendx movement standard"
#: Types that move a pupil into alternative provision.
INTO_AP = frozenset({"ap-placement-start", "off-site-direction"})
#: Types after which nobody knows (yet) where the pupil is educated: no destination setting.
NO_DESTINATION = frozenset({"destination-unknown", "child-missing-education", "elective-home-education"})
#: Types that must name the setting the pupil leaves / joins.
NEEDS_FROM = frozenset(
    {
        "leave",
        "ap-placement-end",
        "managed-move",
        "off-site-direction",
        "permanent-exclusion",
        "elective-home-education",
        "child-missing-education",
        "destination-unknown",
        "independent-or-abroad",
        "post-16-transition",
        "suspension",
    }
)
NEEDS_TO = frozenset({"join", "ap-placement-start", "ap-placement-end", "managed-move", "off-site-direction"})


@rule(
    "MOVEMENT-AP-INTO",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="A movement into alternative provision names the AP setting (with ap: true)",
)
def _into_ap(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    if doc["type"] in INTO_AP:
        to = doc["to"]
        if not to or not to.get("ap"):
            yield Finding(
                "/to",
                f'a {doc["type"]} event must name the AP setting the pupil goes to, marked "ap": true',
                'give the AP setting\'s name, URN/UKPRN and "ap": true',
            )


@rule(
    "MOVEMENT-AP-OUT",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="A movement out of AP names where the pupil went, or is destination-unknown",
)
def _out_of_ap(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    if doc["type"] == "ap-placement-end":
        if not doc["from"] or not doc["from"].get("ap"):
            yield Finding("/from", "an ap-placement-end event must name the AP setting the pupil leaves")
        if not doc["to"]:
            yield Finding(
                "/to",
                "an ap-placement-end event must say where the pupil went",
                "name the destination setting, or record a destination-unknown event instead",
            )


@rule(
    "MOVEMENT-ENDS",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="Each movement type names the settings it needs (from/to) and no destination when none is known",
)
def _ends(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    t = doc["type"]
    if t in NEEDS_FROM and not doc["from"]:
        yield Finding("/from", f"a {t} event must name the setting the pupil leaves")
    if t in NEEDS_TO and t not in INTO_AP and t != "ap-placement-end" and not doc["to"]:
        yield Finding("/to", f"a {t} event must name the setting the pupil joins")
    if t in NO_DESTINATION and doc["to"]:
        yield Finding(
            "/to",
            f'a {t} event has no destination setting; "to" must be null',
            "if the destination is known, record a leave/join or managed-move instead",
        )
    if doc["from"] and doc["to"] and _same_setting(doc["from"], doc["to"]):
        yield Finding("/to", "the pupil moves from and to the same setting")


@rule(
    "MOVEMENT-SETTING-ID",
    severity="error",
    kind=KIND,
    source="DfE GIAS / UKRLP",
    summary="A setting is identified by URN, LAESTAB or UKPRN",
)
def _setting_ids(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    for end in ("from", "to"):
        s = doc[end]
        if s and not any(s.get(k) for k in ("urn", "laestab", "ukprn")):
            yield Finding(f"/{end}", f"the {end!r} setting {s.get('name', '')!r} has no URN, LAESTAB or UKPRN")


@rule(
    "MOVEMENT-DATE",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="The effective date is plausible (not before 2000, at most a year ahead) and any planned end follows it",
)
def _dates(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    eff = parse_date(doc["effectiveDate"])
    if eff is None:
        return
    if eff.year < 2000 or (eff - ctx.as_of).days > 366:
        yield Finding("/effectiveDate", f"effective date {eff} is implausible")
    end = parse_date(doc.get("plannedEndDate"))
    if end is not None and end < eff:
        yield Finding("/plannedEndDate", f"planned end {end} is before the effective date {eff}")


def _same_setting(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return any(a.get(k) and a.get(k) == b.get(k) for k in ("urn", "laestab", "ukprn"))

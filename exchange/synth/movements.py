"""Realistic synthetic pupil movement events for one local authority, seeded and streamed.

For the LA audit's tests and benchmarks (and ``sendx generate movements``): a stream of
schema-valid movement events (``schemas/movement``) as an area's schools, PRUs and colleges
would report them over a few academic years.  Each invented pupil follows one story — joins
and leaves, moves within the area and to its neighbours, managed moves, suspensions,
permanent exclusions, AP placements that start and end (with reintegration into mainstream or
a special school), destinations that become unknown and are later found (or not), children
missing education, home education, post-16 moves to college.  Pupils carry valid UPNs
(``ctf.make_upn``); settings carry URNs, LAESTABs (in the LA and its neighbours) and, for
colleges, UKPRNs.  Nothing is held in memory beyond one pupil's story, so any count streams.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from typing import Any

from sendx.exchange.synth.ctf import make_upn
from sendx.schemas import schema_id
from sendx.validators.errors import InputError
from sendx.validators.identifiers import is_valid_la_code

__all__ = ["synthetic_movements"]

_STEMS = ("Oak", "Willow", "Ash", "Rowan", "Hazel", "Elm", "Birch", "Cedar", "Alder", "Beech", "Holly", "Maple")
_PLACES = ("Park", "Hill", "Vale", "Bridge", "Green", "Field", "Brook", "Moor")
#: (story, weight): how often each pupil history occurs.  Most pupils only join and move on;
#: a tenth of them pass through alternative provision; a few are lost.
_STORIES = (
    ("join", 30),
    ("move-within", 14),
    ("move-out", 8),
    ("managed-move", 5),
    ("suspension", 10),
    ("ap-return", 7),
    ("ap-special", 3),
    ("exclusion-ap", 3),
    ("ap-lost", 1),
    ("cme-found", 4),
    ("cme-open", 1),
    ("unknown-found", 3),
    ("unknown-open", 1),
    ("home-education", 2),
    ("abroad", 2),
    ("post-16", 6),
)
_SCHOOLS_PER_LA = 24


#: An LA's settings by kind (mainstream, special, ap, college).
_Area = dict[str, list[dict[str, Any]]]


def _settings(la: str) -> _Area:
    """An LA's settings: mainstream schools, special schools, pupil referral units, colleges."""
    n = int(la)

    def school(k: int, name: str, type_: str, estab: int, ap: bool = False) -> dict[str, Any]:
        return {
            "name": name,
            "type": type_,
            "urn": str(100000 + (n * 1000 + k) % 900000),
            "laestab": f"{la}{estab:04d}",
            "la": la,
            "ap": ap,
        }

    mainstream = []
    for k in range(_SCHOOLS_PER_LA):
        stem, place = _STEMS[k % len(_STEMS)], _PLACES[(k + n) % len(_PLACES)]
        if k % 3 == 2:
            mainstream.append(school(k, f"{stem} {place} High School", "mainstream-school", 4000 + k))
        else:
            mainstream.append(school(k, f"{stem} {place} Primary School", "mainstream-school", 2000 + k))
    special = [school(100 + k, f"{_STEMS[k]} Bank Special School", "special-school", 7000 + k) for k in range(3)]
    ap = [
        school(200 + k, f"{_PLACES[k]} Lane Pupil Referral Unit", "alternative-provision", 1100 + k, ap=True)
        for k in range(3)
    ]
    colleges = [
        {
            "name": f"{_PLACES[(n + k) % len(_PLACES)]} College",
            "type": "fe-college",
            "ukprn": str(10000000 + n * 100 + k),
        }
        for k in range(2)
    ]
    for college in colleges:
        college.update(la=la, ap=False)
    return {"mainstream": mainstream, "special": special, "ap": ap, "college": colleges}


def _neighbours(la: str) -> tuple[str, ...]:
    n = int(la)
    return tuple(f"{c:03d}" for c in (n + 1, n - 1) if 1 <= c <= 999 and c != n)


def synthetic_movements(
    count: int,
    *,
    seed: int = 0,
    la: str = "330",
    neighbours: Sequence[str] | None = None,
    start: dt.date = dt.date(2023, 9, 1),
    years: int = 3,
    recorded_by: str | None = None,
) -> Iterator[dict[str, Any]]:
    """``count`` schema-valid movement events touching LA ``la``, the same for the same arguments.

    Dates fall between ``start`` and ``years`` academic years later; pupils' stories are
    yielded one after another (each story in date order), so a pupil who joins late in the
    period follows one who joined early: the order a hub receives reports in, not the order
    they happened.  ``neighbours``: LA codes pupils move to (default: the adjacent codes).
    ``recorded_by``: the participant id in ``recordedBy`` (default ``la-<la>``).
    """
    if count < 0:
        raise InputError(f"count must be 0 or more, not {count}", where="count")
    if not is_valid_la_code(la):
        raise InputError(f"{la!r} is not a three-digit LA code", where="la")
    others = tuple(neighbours) if neighbours is not None else _neighbours(la)
    for code in others:
        if not is_valid_la_code(code) or code == la:
            raise InputError(f"neighbour {code!r} is not another three-digit LA code", where="neighbours")
    if years < 1:
        raise InputError(f"years must be at least 1, not {years}", where="years")
    return _stream(count, seed, la, others, start, start + dt.timedelta(days=365 * years), recorded_by or f"la-{la}")


def _stream(
    count: int, seed: int, la: str, others: tuple[str, ...], start: dt.date, end: dt.date, recorder: str
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    home = _settings(la)
    away = {code: _settings(code) for code in others}
    stories = [s for s, _ in _STORIES]
    weights = [w for _, w in _STORIES]
    schema = schema_id("movement")
    made = 0
    pupil = 0
    while made < count:
        story = rng.choices(stories, weights)[0]
        school = home["mainstream"][pupil % len(home["mainstream"])]
        # UPNs are unique per (establishment, two-digit year, serial): 24 schools x 20 years x 1,000.
        upn = make_upn(la, school["laestab"][3:], 5 + (pupil // 24) % 20, pupil // 480)
        for event in _Pupil(rng, home, away, start, end).story(story, school):
            event.update(
                {
                    "$schema": schema,
                    "eventId": f"SYN-{seed}-{made:09d}",
                    "pupil": {"upn": upn},
                    "recordedBy": {"participant": recorder, "role": "la"},
                }
            )
            yield event
            made += 1
            if made == count:
                return
        pupil += 1


class _Pupil:
    """One pupil's story being told: the date reached so far and the settings around them."""

    def __init__(self, rng: random.Random, home: _Area, away: dict[str, _Area], start: dt.date, end: dt.date) -> None:
        self.rng, self.home, self.away, self.end = rng, home, away, end
        self.day = start + dt.timedelta(days=rng.randrange(max(1, (end - start).days - 30)))

    def later(self, lo: int, hi: int) -> bool:
        """Move the story on ``lo`` to ``hi`` days; False when that runs past the period."""
        self.day += dt.timedelta(days=self.rng.randint(lo, hi))
        return self.day < self.end

    def event(self, type_: str, frm: dict | None, to: dict | None, **extra: Any) -> dict[str, Any]:
        return {"type": type_, "from": frm, "to": to, "effectiveDate": self.day.isoformat(), **extra}

    def other(self, kind: str, not_this: dict[str, Any]) -> dict[str, Any]:
        return self.rng.choice([s for s in self.home[kind] if s is not not_this])

    def story(self, story: str, school: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The pupil's events, oldest first; a story that would run past the period stops there."""
        event, other, rng = self.event, self.other, self.rng
        yield event("join", None, school)
        if story == "join" or not self.later(30, 500):
            return
        if story == "move-within":
            new = other("mainstream", school)
            yield event("leave", school, new, reason="moved house")
            yield event("join", school, new)
        elif story == "move-out" and self.away:
            new = rng.choice(self.away[rng.choice(sorted(self.away))]["mainstream"])
            yield event("leave", school, new, reason="moved to another area")
        elif story == "managed-move":
            yield event("managed-move", school, other("mainstream", school), reason="managed move")
        elif story == "suspension":
            for _ in range(rng.randint(1, 3)):
                yield event("suspension", school, None, reason="persistent disruptive behaviour")
                if not self.later(20, 200):
                    return
        elif story in ("ap-return", "ap-special", "ap-lost", "exclusion-ap"):
            yield from self.placement(story, school)
        elif story in ("cme-found", "cme-open", "unknown-found", "unknown-open"):
            lost = "child-missing-education" if story.startswith("cme") else "destination-unknown"
            yield event(lost, school, None, reason="left the roll; no new school known after enquiries")
            if story.endswith("found") and self.later(10, 150):
                yield event("join", None, other("mainstream", school))
        elif story == "home-education":
            yield event("elective-home-education", school, None, reason="parents chose home education")
        elif story == "abroad":
            yield event("independent-or-abroad", school, None, reason="family moved abroad")
        elif story == "post-16":
            yield event("post-16-transition", school, rng.choice(self.home["college"]), reason="year 11 leaver")

    def placement(self, story: str, school: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """An alternative-provision placement: in (by placement, direction or exclusion) and maybe out."""
        event, rng = self.event, self.rng
        unit = rng.choice(self.home["ap"])
        length = rng.randint(20, 240)
        if story == "exclusion-ap":
            yield event("permanent-exclusion", school, None, reason="permanent exclusion")
            if not self.later(1, 10):
                return
            yield event("ap-placement-start", None, unit, reason="education after permanent exclusion")
        else:
            planned = (self.day + dt.timedelta(days=length)).isoformat()
            how = rng.choice(("ap-placement-start", "off-site-direction"))
            yield event(how, school, unit, reason="placement to address behaviour", plannedEndDate=planned)
        if not self.later(length, length):
            return  # still in AP at the end of the period: an open placement
        if story == "ap-lost":
            yield event("destination-unknown", unit, None, reason="stopped attending")
        elif story == "ap-special":
            yield event("ap-placement-end", unit, rng.choice(self.home["special"]), reintegration="special")
        else:
            back = school if story != "exclusion-ap" else self.other("mainstream", school)
            yield event("ap-placement-end", unit, back, reintegration="mainstream")

"""Adjustment passports: schema, identifiers, consent and coverage rules.

A passport speaks in functional terms and is shared only with consent; a diagnosis may
travel only when the young person agreed to share it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sendx.validators.dates import parse_date
from sendx.validators.jsonkind import register_json_kind
from sendx.validators.rules import Context, Finding, rule

KIND = "passport"
_SRC = "DfE/DWP adjustment passport pilots; Access to Work Workplace Adjustment Passport"

register_json_kind(
    KIND,
    description="An adjustment passport for a young person moving to college or work",
    identifiers={"/subject/upn": "ID-UPN", "/subject/uln": "ID-ULN"},
)


@rule(
    "PASSPORT-DATES",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="issued ≤ reviewBy ≤ validUntil, consent given before issue, birth date in the past",
)
def _dates(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    issued, until = parse_date(doc["issued"]), parse_date(doc["validUntil"])
    review = parse_date(doc.get("reviewBy"))
    consent = parse_date(doc["consent"]["date"])
    if issued and until and until <= issued:
        yield Finding("/validUntil", f"validUntil {until} is not after the issue date {issued}")
    if review and issued and until and not issued <= review <= until:
        yield Finding("/reviewBy", f"reviewBy {review} is outside the passport's life {issued}–{until}")
    if consent and issued and consent > issued:
        yield Finding("/consent/date", f"consent ({consent}) is dated after the passport was issued ({issued})")
    dob = parse_date(doc["subject"]["dateOfBirth"])
    if dob and dob > ctx.as_of:
        yield Finding("/subject/dateOfBirth", f"date of birth {dob} is in the future")


@rule(
    "PASSPORT-EXPIRED",
    severity="warning",
    kind=KIND,
    source=_SRC,
    summary="A passport past its validUntil date should be reviewed before it is relied on",
)
def _expired(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    until = parse_date(doc["validUntil"])
    if until and until < ctx.as_of:
        yield Finding("/validUntil", f"the passport expired on {until}", "review it with the young person and reissue")


@rule(
    "PASSPORT-CONSENT",
    severity="error",
    kind=KIND,
    source="UK GDPR art. 9; " + _SRC,
    summary="A passport is shared only with consent, and carries a diagnosis only if consent includes it",
)
def _consent(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    consent = doc["consent"]
    if not consent["given"]:
        yield Finding(
            "/consent/given",
            "consent to share this passport has not been given",
            "a passport may only be shared once the young person (or parent) consents",
        )
    if not consent.get("includeDiagnosis"):
        for n, need in enumerate(doc["needs"]):
            if need.get("diagnosis"):
                yield Finding(
                    f"/needs/{n}/diagnosis",
                    "a diagnosis is included but consent does not cover sharing it",
                    "remove the diagnosis or record consent with includeDiagnosis: true",
                )
    shared = set(consent["shareWith"])
    for n, adj in enumerate(doc["adjustments"]):
        if adj["context"] not in shared:
            yield Finding(
                f"/adjustments/{n}/context",
                f"adjustment {adj['id']!r} is for {adj['context']!r}, which consent does not cover",
            )


@rule(
    "PASSPORT-LINKS",
    severity="error",
    kind=KIND,
    source=_SRC,
    summary="Ids are unique and every adjustment points at needs listed in the passport",
)
def _links(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    need_ids = [n["id"] for n in doc["needs"]]
    for dup in {i for i in need_ids if need_ids.count(i) > 1}:
        yield Finding("/needs", f"need id {dup!r} is used more than once")
    known = set(need_ids)
    for n, adj in enumerate(doc["adjustments"]):
        for k, ref in enumerate(adj["needs"]):
            if ref not in known:
                yield Finding(f"/adjustments/{n}/needs/{k}", f"adjustment {adj['id']!r} points at unknown need {ref!r}")


@rule(
    "PASSPORT-COVERAGE",
    severity="warning",
    kind=KIND,
    source=_SRC,
    summary="Every need listed has at least one adjustment that addresses it",
)
def _coverage(doc: Mapping[str, Any], ctx: Context) -> Iterator[Finding]:
    covered = {ref for adj in doc["adjustments"] for ref in adj["needs"]}
    for n, need in enumerate(doc["needs"]):
        if need["id"] not in covered:
            yield Finding(
                f"/needs/{n}",
                f"need {need['id']!r} has no adjustment",
                "add an adjustment that addresses it, or remove the need",
            )

"""EHCP (+ CTF pupil record) → adjustment passport draft.

When a young person moves on to college or work, the plan's needs and provision are the
best starting point for their passport.  The draft restates needs in functional terms,
turns provision into adjustments, and carries *no diagnosis and no consent*: those are the
young person's to give, so an unconsented draft fails ``PASSPORT-CONSENT`` by design until
consent is recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sendx import schemas
from sendx.adapters.plan import require_plan
from sendx.validators.dates import add_months

__all__ = ["draft_passport"]

# EHCP section → the context an adjustment drawn from it applies in.
_CONTEXT_OF_SECTION = {"F": "education", "G": "health"}


def draft_passport(
    plan: Mapping[str, Any],
    *,
    issuer: Mapping[str, str],
    issued: dt.date,
    consent: Mapping[str, Any] | None = None,
    pupil: Mapping[str, Any] | None = None,
    valid_months: int = 24,
) -> dict[str, Any]:
    """Draft a passport from an EHCP (and, optionally, the pupil's CTF record for UPN/ULN).

    ``consent`` is the young person's recorded consent; without it the draft says consent is
    not yet given.  Every need in B and C becomes a passport need; every provision in F and
    G that serves those needs becomes an adjustment, keeping the plan's ids so a reader can
    trace each adjustment back to the plan.  A plan that does not match the EHCP schema is
    refused with an ``InputError``.
    """
    require_plan(plan)
    child = plan["child"]
    subject: dict[str, Any] = {
        k: child[k] for k in ("givenName", "familyName", "preferredName", "dateOfBirth", "uln", "upn") if k in child
    }
    for key, ctf_key in (("upn", "upn"), ("uln", "uln")):
        if pupil and key not in subject and pupil.get(ctf_key):
            subject[key] = pupil[ctf_key]

    sections = plan["sections"]
    needs = [
        {"id": n["id"], "description": n["description"], **({"area": n["area"]} if "area" in n else {})}
        for sec in ("B", "C")
        for n in sections.get(sec, {}).get("needs", [])
    ]
    known = {n["id"] for n in needs}
    adjustments = []
    for sec, context in _CONTEXT_OF_SECTION.items():
        for p in sections.get(sec, {}).get("provision", []):
            refs = [r for r in p["needs"] if r in known]
            if refs:
                adjustments.append(
                    {
                        "id": f"adj-{p['id']}",
                        "context": context,
                        "description": f"{p['description']} ({p['deliveredBy']}; {p['frequency']})",
                        "needs": refs,
                    }
                )

    until = add_months(issued, valid_months)
    return {
        "$schema": schemas.schema_id("passport"),
        "passportId": f"PP-{plan['planId']}",
        "subject": subject,
        "issuer": dict(issuer),
        "issued": issued.isoformat(),
        "validUntil": until.isoformat(),
        "reviewBy": add_months(issued, 12).isoformat(),
        "consent": dict(consent)
        if consent
        else {"given": False, "by": "young-person", "date": issued.isoformat(), "shareWith": ["education"]},
        "needs": needs,
        "adjustments": adjustments,
        "source": {"planId": plan["planId"], "la": plan["la"]["code"]},
    }

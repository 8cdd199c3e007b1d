"""Realistic synthetic adjustment passports, seeded and deterministic, each valid.

A passport is drafted from a synthetic EHC plan by the same adapter an LA uses
(``sendx.adapters.passport.draft_passport``), issued by the plan's LA shortly before
``as_of``, with the young person's consent to share it in every context its adjustments
apply in.  Every person in it is invented.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sendx.adapters.passport import draft_passport
from sendx.exchange.synth.ehcp import synthetic_ehcp

__all__ = ["iter_synthetic_passports", "synthetic_passport"]

#: The passport is issued this many days before ``as_of``.
_ISSUED_BEFORE = 30


def synthetic_passport(index: int = 0, *, seed: int = 0, as_of: dt.date | None = None) -> dict[str, Any]:
    """Passport number ``index`` of the series ``seed``: the same arguments always give the same passport."""
    as_of = as_of or dt.date.today()
    plan = synthetic_ehcp(index, seed=seed, as_of=as_of)
    issued = as_of - dt.timedelta(days=_ISSUED_BEFORE)
    la = plan["la"]
    draft = draft_passport(
        plan, issuer={"type": "la", "id": la["code"], "name": f"{la['name']} SEND Service"}, issued=issued
    )
    contexts = sorted({a["context"] for a in draft["adjustments"]})
    draft["consent"] = {
        "given": True,
        "by": "young-person",
        "date": (issued - dt.timedelta(days=7)).isoformat(),
        "shareWith": contexts,
        "includeDiagnosis": False,
    }
    return draft


def iter_synthetic_passports(count: int, *, seed: int = 0, as_of: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """``count`` passports of the series ``seed``, one at a time."""
    for index in range(count):
        yield synthetic_passport(index, seed=seed, as_of=as_of)

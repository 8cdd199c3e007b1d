"""The gate every EHCP adapter passes a plan through: the plan must match the EHCP schema.

Adapters read a plan's fields as the schema promises them (``plan["child"]``, each
provision item's ``needs``, ``deliveredBy``...).  ``sendx convert`` hands them whatever file
a user has, so each adapter checks the structure first and refuses a plan that does not
match with an ``InputError`` naming the first problem, never a ``KeyError`` from deep
inside.  Rule findings (vague provision, a late review) do not stop a conversion: a draft
with rule errors is still a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sendx.validators.errors import InputError
from sendx.validators.rules import get_rule
from sendx.validators.schema import schema_issues
from sendx.validators.wording import plural

__all__ = ["require_plan"]


def require_plan(plan: Any) -> Mapping[str, Any]:
    """``plan`` itself if it matches the EHCP schema; else an ``InputError`` with the first schema issue."""
    if not isinstance(plan, Mapping):
        raise InputError(f"not an EHC plan: a plan is a JSON object, not {type(plan).__name__}")
    issues = list(schema_issues("ehcp", plan, get_rule("EHCP-SCHEMA")))
    if issues:
        first = issues[0]
        raise InputError(
            f"not an EHC plan: it does not match the EHCP schema ({plural(len(issues), 'error')}); "
            f"first: {first.message}",
            where=first.location or None,
            hint="run `sendx validate` on it to see every issue",
        )
    return plan

"""``Context``: what a rule may need that is not in the document (the date "today" means).

Its own module so that the kind registry and the rule registry can both name it without
importing each other: ``rules`` loads the kinds (to register their rules); kinds never load
``rules``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Context"]


@dataclass(frozen=True, slots=True)
class Context:
    """Facts a rule may need that are not in the document itself.

    ``as_of`` is the date "today" means for timescale rules; tests and the CLI's
    ``--as-of`` pin it so results are reproducible.  ``progress``, when given, is called as
    ``progress(items_done, items_expected_or_None)`` by validators that stream large files.

    ``facts`` is scratch space for facts several rules derive from the same document (see
    ``memo``).  ``run_rules`` hands every document a fresh Context, so facts never leak from
    one document to the next.
    """

    as_of: _dt.date = field(default_factory=_dt.date.today)
    progress: Callable[[int, int | None], None] | None = field(default=None, compare=False)
    facts: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def for_document(self) -> Context:
        """A copy with empty ``facts``, for validating one document."""
        return Context(self.as_of, self.progress)

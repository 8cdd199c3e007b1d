"""How sendx words a count for a person: ``plural(1, "entry", "entries")`` → ``"1 entry"``.

One helper for every message, page and report that prints a number of things, so none of
them says "1 placements" or hedges with "checkpoint(s)".
"""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: object, singular: str, plural_form: str | None = None) -> str:
    """``n`` and the noun in the number ``n`` takes: ``plural(2, "file")`` → ``"2 files"``.

    Integers of a thousand or more get thousands separators; other numbers print shortest
    (``1.0`` as ``1``, ``1.5`` as ``1.5``); anything else as its text.  Give ``plural_form``
    for nouns that do not just add "s".
    """
    word = singular if n == 1 else (plural_form or singular + "s")
    if isinstance(n, int):
        shown = f"{n:,}"
    elif isinstance(n, float):
        shown = f"{n:g}"
    else:
        shown = str(n)
    return f"{shown} {word}"

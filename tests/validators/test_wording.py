"""``validators.wording.plural``: counts in words."""

from __future__ import annotations

import pytest

from sendx.validators.wording import plural


@pytest.mark.parametrize(
    ("n", "singular", "plural_form", "expected"),
    [
        (0, "placement", None, "0 placements"),
        (1, "placement", None, "1 placement"),
        (2, "placement", None, "2 placements"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
        (12_345, "pupil", None, "12,345 pupils"),
        (1.5, "hour", None, "1.5 hours"),
        (1.0, "hour", None, "1 hour"),
    ],
)
def test_plural(n, singular, plural_form, expected) -> None:
    assert plural(n, singular, plural_form) == expected

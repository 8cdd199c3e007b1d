"""Small HTML inspection helpers shared by the page tests (standard library parser only)."""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser


class Outline(HTMLParser):
    """Collects headings, ids, landmarks, the <html lang> and data-metric values of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.lang: str | None = None
        self.metrics: dict[str, str] = {}
        self._heading: list[str] | None = None
        self._level = 0
        self._metric: str | None = None
        self._metric_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = a.get("lang")
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading, self._level = [], int(tag[1])
        if a.get("data-metric"):
            self._metric, self._metric_text = str(a["data-metric"]), []

    def handle_endtag(self, tag: str) -> None:
        if self._heading is not None and tag == f"h{self._level}":
            self.headings.append((self._level, " ".join("".join(self._heading).split())))
            self._heading = None
        if self._metric is not None and tag in ("span", "td"):
            self.metrics[self._metric] = "".join(self._metric_text).strip()
            self._metric = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._metric is not None:
            self._metric_text.append(data)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser


def heading_problems(levels: list[int]) -> list[str]:
    """Heading-order faults: not exactly one h1 first, or a level skipped on the way down."""
    problems = []
    if levels.count(1) != 1 or (levels and levels[0] != 1):
        problems.append(f"expected exactly one h1, first; got levels {levels[:5]}...")
    for prev, cur in itertools.pairwise(levels):
        if cur > prev + 1:
            problems.append(f"h{prev} followed by h{cur}")
    return problems

"""The Jinja2 environment shared by the plan page and the LA audit pages.

One environment, autoescaping every template (the file names end ``.html.j2``, which
Jinja's extension-based switch would not recognise), and the filters the templates share
(dates, labels).  Optional plan fields are simply absent, so undefined values render empty.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from sendx.schemas import codelist
from sendx.validators.dates import parse_date


def long_date(value: object) -> str:
    """``2027-07-16`` → ``16 July 2027`` (GOV.UK style); anything else is shown as given."""
    day = value if isinstance(value, dt.date) else parse_date(value)
    if day is None:
        return "" if value is None else str(value)
    return f"{day.day} {day.strftime('%B')} {day.year}"


def label(code: object, list_name: str) -> str:
    """The human label of a code in a sendx code list, or the code itself if unknown."""
    for c in codelist(list_name)["codes"]:
        if c["code"] == code:
            return str(c["label"])
    return "" if code is None else str(code)


def css() -> str:
    """The shared stylesheet, inlined into every page."""
    return resources.files(__package__).joinpath("templates", "style.css").read_text(encoding="utf-8")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["label"] = label
    env.globals["inline_css"] = css
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)

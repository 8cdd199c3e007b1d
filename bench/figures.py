"""The one shape every benchmark reports its headline figures in, for ``bench/run``.

Each ``bench_*.py`` prints its own detailed table, and with ``--json`` adds a ``figures``
list built here: what was measured, its value and unit, the in-run baseline it is compared
with and the ratio, and the SPEC §10 target where there is one (``met`` says whether this run
reached it).  ``bench/run`` only collects and prints these rows, so a figure is defined once,
beside the code that measures it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Figure", "target"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Figure:
    """One headline figure: ``value`` (in ``unit``), optionally against a same-run ``baseline``."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: str | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def target(op: str, bound: float, unit: str, measured: float) -> tuple[str, bool]:
    """``("<= 3x", True)``: the target as text and whether ``measured`` reaches it."""
    return f"{op} {bound:g}{unit}", _COMPARE[op](measured, bound)

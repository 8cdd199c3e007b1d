"""``sendx demo``: the main job, told as a story on the embedded SQLite default.

Each step prints what happened, so a newcomer sees what sendx does end to end.  The demo
grows with the product; every step uses the same library calls as the CLI and the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import schemas
import validators
from validators.report import Report

__all__ = ["DemoResult", "run_demo"]

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo did, for tests and for the closing summary."""

    reports: list[Report] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.valid for r in self.reports)


def _validate_examples(result: DemoResult, echo: Echo) -> None:
    echo("1. Validate the bundled example documents against the national standards")
    for kind in ("ehcp", "passport", "movement", "envelope"):
        for path in schemas.examples(kind):
            report = validators.validate(path)
            result.reports.append(report)
            verdict = "valid" if report.valid else f"INVALID ({len(report.errors)} errors)"
            echo(f"   {kind:<9} {path.name:<45} {verdict}")
    n_rules = len(validators.all_rules())
    echo(f"   {n_rules} rules checked (list them with `sendx rules`)")
    result.steps.append("validate")


def run_demo(echo: Echo = print) -> DemoResult:
    """Run every demo step in order and return what happened."""
    result = DemoResult()
    _validate_examples(result, echo)
    echo("")
    echo("Demo finished: " + ("every document valid" if result.ok else "some documents invalid"))
    return result

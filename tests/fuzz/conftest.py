"""Fuzz-package configuration: the two Hypothesis profiles, the hub fixtures, the case count.

The profiles are registered here and used explicitly by each fuzz test (``fuzzkit.fuzz()``);
none is *loaded*, so the rest of the suite keeps Hypothesis' own defaults.  The default
profile keeps CI bounded; ``SENDX_LONG_TESTS=1`` selects the long one.  At the end of the
session the number of fuzz cases run is printed per target.

The hub fuzzers reuse the hub tests' own fixtures (``app``, ``client``, ``hub``, ``world``,
over SQLite and, when ``SENDX_TEST_POSTGRES_URL`` is set, PostgreSQL).  They live in
``tests/exchange/hub``, a plain directory whose modules import each other by bare name, so
that directory is put on ``sys.path`` here (pytest does the same when it collects it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tests.fuzz import fuzzkit

settings.register_profile("sendx-fuzz", **fuzzkit.profile_settings(100))
settings.register_profile("sendx-fuzz-long", **fuzzkit.profile_settings(3000))

_HUB_TESTS = Path(__file__).resolve().parents[1] / "exchange" / "hub"
if str(_HUB_TESTS) not in sys.path:
    sys.path.insert(0, str(_HUB_TESTS))

from tests.exchange.hub.conftest import app, client, database_url, hub, world  # noqa: E402

__all__ = ["app", "client", "database_url", "hub", "world"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not fuzzkit.CASES:
        return
    total = sum(fuzzkit.CASES.values())
    terminalreporter.section(f"sendx fuzz ({fuzzkit.PROFILE} profile)")
    for target, n in sorted(fuzzkit.CASES.items()):
        terminalreporter.write_line(f"{n:>8,}  {target}")
    terminalreporter.write_line(f"{total:>8,}  fuzz cases in all, over {len(fuzzkit.CASES)} targets")

"""The hub as real processes: ``sendx serve --workers N`` (gunicorn) over the test's own store.

``served(workers=2)`` starts the hub (``bench/hubdriver.py``'s ``HubProcess``) on the same data
directory and database as the ``hub`` fixture, so ``world``'s participants, keys and tokens work
against it, and registers a finalizer that kills its whole process group (SIGKILL: quick, and
nothing acknowledged depends on a graceful stop), so no test leaves a hub running.  Longer
variants of these tests run with ``SENDX_LONG_TESTS=1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from bench.hubdriver import HubProcess


@pytest.fixture
def served(request: pytest.FixtureRequest, hub: Any) -> Callable[..., HubProcess]:
    def start(workers: int = 2, env: dict[str, str] | None = None) -> HubProcess:
        server = HubProcess(hub.config.home, hub.config.database_url, workers=workers, env=env)
        request.addfinalizer(server.close)
        server.start()
        return server

    return start


@pytest.fixture
def long_run() -> bool:
    """``SENDX_LONG_TESTS=1``: more kills, more transfers (minutes instead of seconds)."""
    return os.environ.get("SENDX_LONG_TESTS") == "1"

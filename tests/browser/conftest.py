"""Browser-test fixtures: Debian's chromium via Playwright, a local server, axe-core, artifacts.

Playwright never downloads a browser here: it launches /usr/bin/chromium (installed by
.ci/chromium.sh).  Without chromium these tests skip locally and FAIL under CI=true, so a CI
run can never pass without having looked at the pages.  ``server`` serves the test module's
``site`` (a real hub app) on 127.0.0.1; the hub suite's helpers (``tests/exchange/hub``) are
importable here so both suites populate the hub the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browserkit import CHROMIUM, CHROMIUM_ARGS, HERE

HUB_TESTS = HERE.parent / "exchange" / "hub"
if str(HUB_TESTS) not in sys.path:  # hub_helpers lives beside the hub fixtures (not a package)
    sys.path.insert(0, str(HUB_TESTS))


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: run .ci/chromium.sh first)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install '.[test]')")
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is absent: install Debian's chromium (.ci/chromium.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: $SENDX_ARTIFACTS, else <tmp>/sendx-screenshots."""
    out = Path(os.environ.get("SENDX_ARTIFACTS") or Path(tempfile.gettempdir()) / "sendx-screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """axe-core's script: from tests/browser/node_modules, else `npm ci` into a temp dir; None if no npm."""
    local = HERE / "node_modules" / "axe-core" / "axe.min.js"
    if local.is_file():
        return local.read_text(encoding="utf-8")
    npm = shutil.which("npm")
    if npm is None:
        return None
    work = tmp_path_factory.mktemp("axe")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(HERE / name, work / name)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=work, capture_output=True, timeout=300, check=False
    )
    script = work / "node_modules" / "axe-core" / "axe.min.js"
    return script.read_text(encoding="utf-8") if done.returncode == 0 and script.is_file() else None


@pytest.fixture(scope="session")
def server(site) -> Iterator[str]:
    """Serve the test's Flask app on 127.0.0.1 (a free port) for the session, as ``sendx serve`` would."""
    from sendx.exchange.hub.server import local_server

    srv = local_server(site, quiet=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=5)

"""Shared fixtures: the repository's shared data folder and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "tests" / "data"
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` beside the checkout (public reference data); skip if it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared (public reference data) is not present beside this checkout")
    return SHARED


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def run_cli():
    """Run the ``sendx`` CLI in-process: ``run_cli("validate", path) -> click Result``."""
    from sendx.exchange.cli import load_commands

    group = load_commands()
    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)

    return run

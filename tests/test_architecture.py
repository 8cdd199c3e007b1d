"""The direction of imports (ARCHITECTURE.md), read from the code by import-linter.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``); this test runs them over
the installed ``sendx`` and proves they bite by adding a forbidden import to a copy.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import sendx.exchange
import sendx.validators

REPO = Path(__file__).resolve().parents[1]
PARTS = ("schemas", "validators", "adapters", "exchange")
ROOTS = [f"sendx.{p}" for p in PARTS]


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run(
        [sys.executable, "-c", code, "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("validators/report.py", "sendx.exchange.hub.app", "The four parts stack"),
        ("exchange/log/merkle.py", "sendx.exchange.hub.service", "Inside exchange"),
        ("exchange/trust/keys.py", "sendx.exchange.store.database", "Inside exchange"),
        ("exchange/hub/errors.py", "sendx.exchange.cli", "Inside exchange"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, forbidden: str, contract: str) -> None:
    """The same contracts over a copy of the code with one forbidden import added: broken, and named."""
    copy = tmp_path / "sendx"
    for part, package in zip(PARTS, ROOTS, strict=True):
        source = Path(str(importlib.import_module(package).__file__)).parent
        shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\nimport {forbidden}  # noqa\n", encoding="utf-8")
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and forbidden.rsplit(".", 1)[0] in broken, result.stdout


def test_no_module_imports_itself_through_others() -> None:
    """No import cycles between modules, lazy imports inside functions included."""
    graph = grimp.build_graph(*ROOTS, cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} ⇄ {imported}")
    assert not cycles, cycles


def test_the_packages_are_the_ones_this_checkout_installs() -> None:
    """Guard for the tests above: they read the code under test, not a stale copy."""
    assert Path(sendx.validators.__file__).read_bytes() == (REPO / "validators" / "__init__.py").read_bytes()
    assert Path(sendx.exchange.__file__).read_bytes() == (REPO / "exchange" / "__init__.py").read_bytes()

"""What ``pip install .`` installs: one import name, ``sendx``, holding every package and data file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = ("schemas", "validators", "adapters", "exchange")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_listed_for_installation() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = {
        "sendx." + ".".join(Path(root).relative_to(REPO).parts)
        for part in PARTS
        for root, _, files in os.walk(REPO / part)
        if "__init__.py" in files
    }
    assert listed == on_disk


def test_the_wheel_holds_one_top_level_name_and_the_data(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "tests", "build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("sendx-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("sendx-")} == {"sendx"}
    assert "sendx/__init__.py" not in names  # a namespace: nothing runs on `import sendx`
    for data in (
        "sendx/schemas/ehcp/schema.json",
        "sendx/schemas/ctf/ctf.xsd",
        "sendx/schemas/codelists/cease-reasons.json",
        "sendx/schemas/fhir/r4-structure.json",
        "sendx/schemas/fhir/known-defects.json",
        "sendx/adapters/templates/la/dashboard.html.j2",
        "sendx/adapters/templates/style.css",
        "sendx/exchange/trust/SIGNING.md",
        "sendx/exchange/store/migrations/script.py.mako",
        "sendx/exchange/store/migrations/versions/0001_initial_schema.py",
        "sendx/validators/py.typed",
    ):
        assert data in names, data


def test_sendx_works_beside_another_top_level_validators(tmp_path: Path) -> None:
    """The PyPI package ``validators`` (or any module of that name) no longer shadows sendx's."""
    impostor = tmp_path / "validators"
    impostor.mkdir()
    (impostor / "__init__.py").write_text("raise ImportError('the PyPI validators package, not sendx')\n")
    plan = REPO / "schemas" / "ehcp" / "examples" / "ehcp-final-secondary.json"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "from sendx.exchange.cli import main; main()", "validate", str(plan)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout

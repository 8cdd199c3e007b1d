"""The README a new user reads first: the virtual environment before the two set-up commands
(which .ci/run runs verbatim), every command the user needs, and the licence it names."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SETUP = ("pip install . && sendx demo", 'pip install ".[test]" && python -m pytest')


def test_the_venv_comes_before_the_set_up_commands() -> None:
    venv = README.index("python -m venv .venv && . .venv/bin/activate")
    assert all(venv < README.index(command) for command in SETUP)


def test_ci_runs_the_readme_commands_verbatim() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert all(f"\n{command}\n" in ci for command in SETUP)
    assert all(f"```sh\n{command}\n```" in README for command in SETUP)


def test_every_command_is_shown() -> None:
    from sendx.exchange.cli import load_commands

    shown = set(re.findall(r"^sendx ([a-z-]+)|\| sendx ([a-z-]+)|&& sendx ([a-z-]+)", README, flags=re.M))
    words = {w for group in shown for w in group if w}
    assert set(load_commands().commands) <= words, set(load_commands().commands) - words


def test_the_licence_is_the_apache_license_the_package_declares() -> None:
    text = (REPO_ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_shell_completion_is_documented() -> None:
    assert "_SENDX_COMPLETE=bash_source sendx" in README

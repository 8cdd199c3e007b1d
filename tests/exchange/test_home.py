"""``sendx.exchange.home``: everything sendx makes under its data directory is private.

Directories 0700 and files 0600 whatever the umask, the hub database's -wal and -shm files
included: the tree holds children's records, keys and tokens.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sendx.exchange.client.demo import run_demo
from sendx.exchange.home import private_dir, private_file, write_private


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (022), under which files are made 0644 unless sendx says otherwise."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _loose(root: Path) -> list[str]:
    """Everything under ``root`` (and ``root``) that others could read or enter."""
    found = [] if _mode(root) == 0o700 else [f"{root} {oct(_mode(root))}"]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            if _mode(Path(dirpath, name)) != 0o700:
                found.append(f"{Path(dirpath, name)} {oct(_mode(Path(dirpath, name)))}")
        for name in filenames:
            if _mode(Path(dirpath, name)) != 0o600:
                found.append(f"{Path(dirpath, name)} {oct(_mode(Path(dirpath, name)))}")
    return found


def test_private_dir_makes_every_missing_directory_0700(tmp_path) -> None:
    target = private_dir(tmp_path / "a" / "b" / "c")
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    assert _mode(private_dir(loose)) == 0o700  # sendx's own directory is tightened


def test_private_file_and_write_private_are_0600(tmp_path) -> None:
    old = tmp_path / "hub.sqlite"
    old.write_bytes(b"")
    os.chmod(old, 0o644)
    assert _mode(private_file(old)) == 0o600 and _mode(private_file(tmp_path / "new")) == 0o600
    written = write_private(tmp_path / "f.json", b"{}")
    assert written.read_bytes() == b"{}" and _mode(written) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "hub.sqlite", "new"]  # no temporary left


def test_admin_init_and_keys_make_a_private_home(run_cli, tmp_path, monkeypatch) -> None:
    home = tmp_path / "nested" / "sendx"
    monkeypatch.setenv("SENDX_HOME", str(home))
    monkeypatch.delenv("SENDX_DATABASE_URL", raising=False)
    assert run_cli("admin", "init").exit_code == 0
    assert run_cli("keys", "new", "--org", "la-330").exit_code == 0
    assert (home / "hub.sqlite").exists() and (home / "trust.json").exists()
    assert _loose(tmp_path / "nested") == []


def test_the_demo_tree_is_private(tmp_path) -> None:
    root = tmp_path / "sendx-home"
    result = run_demo(lambda line: None, home=root / "demo")
    assert result.ok
    assert (root / "demo" / "hub.sqlite").exists() and (root / "demo" / "plan.html").exists()
    assert _loose(root) == []


def test_sqlite_wal_and_shm_files_are_private_while_the_hub_runs(tmp_path) -> None:
    from sendx.exchange.hub import create_app

    home = tmp_path / "hub"
    app = create_app({"SENDX_HOME": str(home)})
    hub = app.extensions["sendx.hub"]
    try:
        hub.add_participant("la-330", "la", "Northfield", la="330")  # a write: the WAL is in use
        side = [home / "hub.sqlite-wal", home / "hub.sqlite-shm"]
        assert all(p.exists() for p in side)
        assert [_mode(p) for p in side] == [0o600, 0o600] and _loose(home) == []
    finally:
        hub.store.dispose()

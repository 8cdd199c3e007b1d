"""Hub configuration (``exchange/hub/config.py``): the secrets kept in the data directory."""

from __future__ import annotations

import os
import secrets
import stat
import threading

import pytest

from exchange.hub.config import read_or_create_secret


def test_a_secret_is_created_once_private_and_then_read_back(tmp_path):
    path = tmp_path / "storage.key"
    first = read_or_create_secret(path, lambda: b"one")
    assert first == b"one" and path.read_bytes() == b"one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path, lambda: b"two") == b"one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["storage.key"]  # no temporary file left behind


def test_racing_workers_all_get_the_one_secret_that_won(tmp_path):
    path = tmp_path / "log.key"
    start = threading.Barrier(16)
    got: list[bytes] = []

    def worker() -> None:
        start.wait()
        got.append(read_or_create_secret(path, lambda: secrets.token_bytes(32)))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 16 and set(got) == {path.read_bytes()} and len(path.read_bytes()) == 32
    assert os.listdir(tmp_path) == ["log.key"]


def test_a_failure_while_making_the_secret_leaves_no_key_file(tmp_path):
    path = tmp_path / "storage.key"

    def broken() -> bytes:
        raise OSError("no entropy today")

    with pytest.raises(OSError):
        read_or_create_secret(path, broken)
    assert not path.exists()

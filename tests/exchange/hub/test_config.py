"""Hub configuration (``exchange/hub/config.py``): the secrets kept in the data directory, and settings."""

from __future__ import annotations

import os
import secrets
import stat
import threading

import pytest

from sendx.exchange.hub.config import load_config, read_or_create_secret
from sendx.validators.errors import ConfigError


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


@pytest.mark.parametrize("raw", ["-1", "6", "one", "1.5"])
def test_proxy_hops_must_be_a_small_whole_number(tmp_path, raw):
    with pytest.raises(ConfigError, match="SENDX_PROXY_HOPS"):
        load_config({"SENDX_HOME": str(tmp_path), "SENDX_PROXY_HOPS": raw})


def test_proxy_hops_default_to_none(tmp_path):
    assert load_config({"SENDX_HOME": str(tmp_path)}).proxy_hops == 0
    assert load_config({"SENDX_HOME": str(tmp_path), "SENDX_PROXY_HOPS": "1"}).proxy_hops == 1


@pytest.mark.parametrize("raw", ["-1", "86401", "soon", "1.5"])
def test_signed_at_window_is_a_bounded_number_of_seconds(tmp_path, raw):
    with pytest.raises(ConfigError, match="SENDX_SIGNED_AT_WINDOW"):
        load_config({"SENDX_HOME": str(tmp_path), "SENDX_SIGNED_AT_WINDOW": raw})


def test_signed_at_window_defaults_to_a_quarter_of_an_hour(tmp_path):
    import datetime as dt

    assert load_config({"SENDX_HOME": str(tmp_path)}).signed_at_window == dt.timedelta(minutes=15)
    cfg = load_config({"SENDX_HOME": str(tmp_path), "SENDX_SIGNED_AT_WINDOW": "0"})
    assert cfg.signed_at_window == dt.timedelta(0)

"""The data directory (``$SENDX_HOME``, default ``~/.sendx``) and how sendx writes in it: privately.

Everything sendx keeps there is about children or is a secret (the hub database and its
``-wal``/``-shm`` files, keys, tokens, log state, the profile, the demo), so every directory
sendx makes is 0700 and every file it writes 0600, whatever the umask.  Any part of sendx may
use this module; it uses nothing of sendx's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["default_home", "private_dir", "private_file", "write_private"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def default_home() -> Path:
    """``$SENDX_HOME``, else ``~/.sendx``: the one data directory of the hub, the key store and the client."""
    env = os.environ.get("SENDX_HOME")
    return Path(env).expanduser() if env else Path.home() / ".sendx"


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (0700), made with any missing parents (0700 too).

    Parents that already exist are left as they are (they may be anyone's, ``/home`` say);
    ``path`` itself is sendx's own data directory, so it is made private even if it existed.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            p.mkdir(mode=DIR_MODE)
        os.chmod(p, DIR_MODE)  # mkdir's mode is filtered by the umask
    if path.is_dir() and (path.stat().st_mode & 0o777) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only its owner can read or write (0600), made empty if it does not exist.

    SQLite gives a database's ``-wal`` and ``-shm`` files the database file's own permissions,
    so making the database file first makes them private too.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (0600) whole or not at all: a temporary file, then renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path

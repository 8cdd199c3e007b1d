"""Hub configuration: ``SENDX_*`` environment variables, overridable by a mapping.

``create_app(config)`` reads the environment first and lets ``config`` (same key names)
win, so tests and ``sendx demo`` configure a hub without touching ``os.environ``.
Secrets the hub needs (the storage key, the log key) live in the data directory with
0600 permissions, created on first run; they never belong in the repository.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendx.exchange.home import default_home, private_dir
from sendx.validators.errors import ConfigError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "HubConfig", "default_home", "load_config", "read_or_create_secret"]

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
_KEYS = (
    "SENDX_HOME",
    "SENDX_DATABASE_URL",
    "SENDX_STORAGE_KEY",
    "SENDX_MAX_BODY_BYTES",
    "SENDX_LOG_ORIGIN",
    "SENDX_PROXY_HOPS",
    "SENDX_SIGNED_AT_WINDOW",
    "SENDX_RETENTION_YEARS",
)
#: More reverse proxies than this in front of one hub is a misconfiguration, not a deployment.
MAX_PROXY_HOPS = 5
#: How long before an envelope's ``created`` its signature may be dated (seconds): a sender signs
#: what it has just made, so an older signature was made for something else, or back-dated.
DEFAULT_SIGNED_AT_WINDOW = 15 * 60
#: The longest window the setting accepts (a day): beyond it the check would mean nothing.
MAX_SIGNED_AT_WINDOW = 24 * 3600
#: Pupil records are kept until the pupil's date of birth + 25 years (the IRMS schools toolkit,
#: as the DfE's data-protection guidance for schools points to); a movement the same.
DEFAULT_RETENTION_YEARS = 25


@dataclass(frozen=True)
class HubConfig:
    home: Path
    database_url: str
    storage_key: bytes
    max_body_bytes: int
    log_origin: str
    #: Reverse proxies in front of the hub whose X-Forwarded-* headers are believed (0: none).
    #: Behind a TLS-terminating proxy this is what marks the page-session cookie Secure.
    proxy_hops: int = 0
    #: How long before the envelope's ``created`` a signature may be dated (``SENDX_SIGNED_AT_WINDOW``).
    signed_at_window: dt.timedelta = dt.timedelta(seconds=DEFAULT_SIGNED_AT_WINDOW)
    #: How long a movement's details are kept: years after the pupil's date of birth (or, when
    #: the hub does not know it, after the movement's date; see ``Hub.retention``).
    retention_years: int = DEFAULT_RETENTION_YEARS

    @property
    def log_key_path(self) -> Path:
        return self.home / "log.key"


def load_config(overrides: Mapping[str, Any] | None = None) -> HubConfig:
    values: dict[str, Any] = {k: os.environ[k] for k in _KEYS if os.environ.get(k)}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    home = Path(values.get("SENDX_HOME") or default_home()).expanduser()
    try:
        private_dir(home)
    except OSError as exc:
        raise ConfigError(f"cannot create the data directory: {exc.strerror}", where=str(home)) from exc
    url = str(values.get("SENDX_DATABASE_URL") or f"sqlite:///{home / 'hub.sqlite'}")
    raw_key = values.get("SENDX_STORAGE_KEY")
    key = _decode_key(raw_key) if raw_key else read_or_create_storage_key(home)
    try:
        max_body = int(values.get("SENDX_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
    except ValueError as exc:
        raise ConfigError("SENDX_MAX_BODY_BYTES must be a whole number of bytes") from exc
    if max_body < 1024:
        raise ConfigError("SENDX_MAX_BODY_BYTES must be at least 1024")
    origin = str(values.get("SENDX_LOG_ORIGIN") or "sendx.hub/log")
    return HubConfig(
        home=home,
        database_url=url,
        storage_key=key,
        max_body_bytes=max_body,
        log_origin=origin,
        proxy_hops=_proxy_hops(values.get("SENDX_PROXY_HOPS")),
        signed_at_window=_signed_at_window(values.get("SENDX_SIGNED_AT_WINDOW")),
        retention_years=_retention_years(values.get("SENDX_RETENTION_YEARS")),
    )


def _signed_at_window(raw: Any) -> dt.timedelta:
    try:
        seconds = int(raw if raw not in (None, "") else DEFAULT_SIGNED_AT_WINDOW)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= MAX_SIGNED_AT_WINDOW:
        raise ConfigError(
            f"SENDX_SIGNED_AT_WINDOW must be a whole number of seconds from 0 to {MAX_SIGNED_AT_WINDOW}, not {raw!r}",
            hint="how long before an envelope's 'created' its signature may be dated "
            f"(default {DEFAULT_SIGNED_AT_WINDOW})",
        )
    return dt.timedelta(seconds=seconds)


def _retention_years(raw: Any) -> int:
    try:
        years = int(raw or DEFAULT_RETENTION_YEARS)
    except ValueError:
        years = -1
    if not 1 <= years <= 100:
        raise ConfigError(f"SENDX_RETENTION_YEARS must be a whole number of years from 1 to 100, not {raw!r}")
    return years


def _proxy_hops(raw: Any) -> int:
    try:
        hops = int(raw or 0)
    except ValueError:
        hops = -1
    if not 0 <= hops <= MAX_PROXY_HOPS:
        raise ConfigError(
            f"SENDX_PROXY_HOPS must be a whole number from 0 to {MAX_PROXY_HOPS}, not {raw!r}",
            hint="the number of reverse proxies in front of the hub (1 behind a single TLS proxy)",
        )
    return hops


def _decode_key(text: str | bytes) -> bytes:
    if isinstance(text, bytes) and len(text) == 32:
        return text
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ConfigError(
            "SENDX_STORAGE_KEY is not base64", hint="generate one: head -c32 /dev/urandom | base64"
        ) from exc
    if len(key) != 32:
        raise ConfigError("SENDX_STORAGE_KEY must be 32 bytes (AES-256) once base64-decoded")
    return key


def read_or_create_secret(path: Path, make: Any) -> bytes:
    """Read a secret file, or create it with ``make()`` (0600, never overwriting a racing writer).

    The secret is written and synced under a temporary name and only then linked into place,
    so a crash or a racing worker never sees an empty or half-written key file.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data: bytes = make()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # atomic, and refuses to replace a secret another worker linked first
        except FileExistsError:
            return path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    return data


def read_or_create_storage_key(home: Path) -> bytes:
    raw = read_or_create_secret(home / "storage.key", lambda: base64.b64encode(secrets.token_bytes(32)) + b"\n")
    return _decode_key(raw.strip().decode("ascii"))

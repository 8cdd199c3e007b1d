"""The hub's seams onto the other sendx packages it depends on (signing, the log, CTF).

Each function here is the hub's only call into that package, so the hub's logic never
depends on their internals, and a package that is not present fails one clear way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from validators.errors import ConfigError

__all__ = ["CtfRoute", "ctf_movements", "ctf_route", "movement_leaf", "verify_envelope_signature"]


def _missing(what: str, module: str, exc: ImportError) -> ConfigError:
    return ConfigError(f"{what} is not available in this build ({module} is missing)", hint=str(exc))

"""A movement row opened: decrypted, and checked against the log entry that commits to it.

The store seals each movement event bound to its recorder and event id (``movement_aad``); its
log entry commits to the event and a salt.  Every reader of movements — the API, the LA pages,
the area facts' rebuild, retention, the log upgrade — opens rows here, so that one damaged row
is reported where it is read (its log index and what is wrong) and never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sendx.exchange.hub import _seams
from sendx.exchange.store import LogLeaf
from sendx.exchange.store.atrest import Cipher
from sendx.validators.errors import SendxError

__all__ = ["logged_leaves", "movement_aad", "open_logged"]


def logged_leaves(db: Session | Connection, indices: Sequence[int | None]) -> dict[int, bytes]:
    """The log entries at ``indices``, by index (one query)."""
    wanted = [i for i in indices if i is not None]
    if not wanted:
        return {}
    rows = db.execute(select(LogLeaf.index, LogLeaf.leaf).where(LogLeaf.index.in_(wanted)))
    return {int(i): leaf for i, leaf in rows}


def open_logged(cipher: Cipher, row: Any, leaf: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The event a movement row holds, checked against its log entry: ``(event, None)``, or
    ``(None, what is wrong)`` when the row cannot be decrypted or does not match its commitment.

    One damaged row is reported, never raised: an LA's pages list it and serve the rest.
    """
    try:
        plaintext = cipher.decrypt(row.nonce, row.ciphertext, movement_aad(row.recorded_by, row.event_id))
    except (SendxError, ValueError, TypeError):  # altered ciphertext, nonce of the wrong length, ...
        return None, "its sealed event cannot be decrypted (the row was altered or its key changed)"
    problem = _seams.leaf_problem(leaf, plaintext, row.salt)
    if problem is not None:
        return None, problem
    try:
        return orjson.loads(plaintext), None
    except orjson.JSONDecodeError:  # pragma: no cover - authenticated plaintext the hub wrote itself
        return None, "its decrypted event is not JSON"


def movement_aad(recorder: str, event_id: str) -> str:
    """What a movement's ciphertext is bound to: its recorder and event id (no swapping rows)."""
    return f"movement:{recorder}:{event_id}"

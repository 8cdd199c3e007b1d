"""The hub's behaviour, independent of HTTP: what happens when a participant sends, reads,
acknowledges, records a movement, searches for a lost pupil or asks for its area's records.

One file per concept — ``participants`` (keys, tokens, who a caller is), ``transfers`` (an
upload's whole path and the inbox), ``movements`` (events sealed, logged and listed),
``sealed`` (a movement row opened against its log entry), ``lost_pupils`` (the pool and
redirects), ``access`` (the access log), ``area`` (what the LA pages read), ``area_facts`` (the
LA figures' facts, kept as movements and plans are written), ``sessions`` (the pages' sign-in
sessions), ``throttle`` (unknown tokens slowed per address), ``policy`` (who may send what, and
which claims must be the sender's own), ``log_upgrade`` (the log kept before leaf format 2) and
``retention`` (erasing details whose time is over) — over ``_base`` (the store and keys they
share).  ``Hub`` is their union:
the Flask blueprints, ``sendx demo`` and the tests drive one object.  Expensive,
untrusted-input work (parsing, signature verification, validation, encryption) happens
before a write transaction opens, so the serialised part of an upload stays short.
"""

from __future__ import annotations

from sendx.exchange.hub.service._base import Result
from sendx.exchange.hub.service.access import AccessLog
from sendx.exchange.hub.service.area import AreaRecords
from sendx.exchange.hub.service.log_upgrade import LogUpgrade
from sendx.exchange.hub.service.lost_pupils import LostPupils
from sendx.exchange.hub.service.movements import Movements
from sendx.exchange.hub.service.participants import Participants, hash_token
from sendx.exchange.hub.service.retention import Retention
from sendx.exchange.hub.service.sessions import PageSessions
from sendx.exchange.hub.service.transfers import UNKNOWN_DESTINATIONS, Transfers

__all__ = ["UNKNOWN_DESTINATIONS", "Hub", "Result", "hash_token"]


class Hub(PageSessions, Participants, Transfers, Movements, LostPupils, AccessLog, AreaRecords, LogUpgrade, Retention):
    """Every behaviour of the hub over one store, one storage key and one log key."""

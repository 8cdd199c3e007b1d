"""The sendx hub: a Flask JSON API over the store, where signed documents are exchanged.

The *exchange* end of the flow bytes → parse → validate → adapt → sign → exchange.
``create_app(config)`` builds the web application; ``build_hub(config)`` the same hub
without HTTP (``sendx admin``, ``sendx demo``); ``Hub`` holds the behaviour.
"""

from __future__ import annotations

from sendx.exchange.hub.app import build_hub, create_app
from sendx.exchange.hub.service import Hub, Result

__all__ = ["Hub", "Result", "build_hub", "create_app"]

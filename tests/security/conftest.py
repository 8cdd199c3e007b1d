"""Fixtures for the security suite: the hub (both stores), a canary server, a secret on disk.

The hub fixtures (``database_url``, ``app``, ``client``, ``hub``, ``world``) and helpers are
the hub suite's own, loaded from ``tests/exchange/hub`` rather than copied, so both suites
attack the same cast on the same configuration (and on PostgreSQL whenever the hub suite
runs there).  ``canary`` is a local HTTP server that records every connection: an attack
that makes sendx fetch a DTD, an entity, an include or a stylesheet shows up there.
``secret`` is a file holding a unique marker that must never surface in any output.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HUB_TESTS = Path(__file__).resolve().parents[1] / "exchange" / "hub"
if str(HUB_TESTS) not in sys.path:  # hub_helpers lives beside the hub fixtures (not a package)
    sys.path.insert(0, str(HUB_TESTS))


def _hub_fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("sendx_hub_fixtures", HUB_TESTS / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_hub = _hub_fixtures()
database_url = _hub.database_url
app = _hub.app
client = _hub.client
hub = _hub.hub
world = _hub.world
MAX_BODY: int = _hub.MAX_BODY

SENTINEL = "/__canary-sentinel__"


@dataclass
class Canary:
    """A local server's record: every connection made to it, and the paths asked for."""

    url: str
    connections: list[str]
    paths: list[str]
    _lock: threading.Lock

    def touched(self) -> list[str]:
        """Every connection made so far but our own sentinel (empty: nothing reached the network).

        The serving thread counts connections in accept order before answering any, so once
        our own sentinel request is answered, every connection made before it is counted.
        """
        with urllib.request.urlopen(self.url + SENTINEL, timeout=10) as resp:
            resp.read()
        with self._lock:
            earlier = self.connections[:-1]
            self.connections.clear()
            asked = [p for p in self.paths if p != SENTINEL]
            self.paths.clear()
        return [f"{c} {' '.join(asked)}".strip() for c in earlier]


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A local HTTP server on 127.0.0.1 that answers anything with an entity and a marker."""
    connections: list[str] = []
    paths: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server dispatches on the method name
            with lock:
                paths.append(self.path)
            body = b'<!ENTITY canary "CANARY-FETCHED">CANARY-FETCHED'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            # Runs in the serving thread for each accepted connection, in order: a parser that
            # connects but never sends a request is caught too.
            with lock:
                connections.append(f"connection from {client_address[0]}")
            return True

    server = Server(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for one, and every test using the canary pays it.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Canary(f"http://127.0.0.1:{server.server_port}", connections, paths, lock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class Secret:
    path: Path
    marker: str


@pytest.fixture
def secret(tmp_path: Path) -> Secret:
    """A file holding a unique marker: it must never appear in a report, a response or the store."""
    marker = f"SENDX-SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(marker + "\n", encoding="utf-8")
    return Secret(path, marker)

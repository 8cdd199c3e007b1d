"""Running the hub: gunicorn's gevent workers in production, Werkzeug's server for development.

``sendx serve --workers N`` (``run``): N gunicorn worker processes, each serving every connection
on a greenlet, so a client that sends its request slowly holds a socket and a few kilobytes,
never a worker or a thread, and ``/healthz`` and every other client go on being answered:

- the request line and headers must arrive whole within ``HEADER_SECONDS`` (gunicorn's gevent
  worker bounds its header read by the keep-alive timeout), else the connection is closed;
- the body must arrive within ``BODY_SECONDS`` of the request (``_BodyDeadline``), else 408;
- each worker holds at most ``WORKER_CONNECTIONS`` connections (greenlets), and a body is read
  into memory only after the caller is authenticated and only up to ``SENDX_MAX_BODY_BYTES``.

Each worker builds its own app (and so its own database pool) after the fork and after gevent
has patched the standard library (psycopg 3 cooperates with gevent by itself); the schema is
migrated once beforehand by ``sendx serve``, and the log-head lock keeps the workers' appends in
one history.  ``local_server`` is Werkzeug's threaded server, a thread per connection without a
bound: for ``sendx demo``, the tests and ``sendx serve --dev`` on one's own machine, not for a
hub anyone else can reach.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.exceptions import RequestTimeout
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "BODY_SECONDS",
    "HEADER_SECONDS",
    "WORKER_CONNECTIONS",
    "local_server",
    "run",
    "run_development",
    "worker_timeout",
]

#: Longest a client may take to send a request's line and headers (also the keep-alive idle time).
HEADER_SECONDS = 5
#: Longest a client may take to send a request's body, from the start of the request.
BODY_SECONDS = 60
#: Connections one worker process holds at once (each a greenlet); more wait in the listen backlog.
WORKER_CONNECTIONS = 500


class _PathOnlyHandler(WSGIRequestHandler):
    """Request lines without the query string: queries can carry a UPN (lost-pupil search)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


class _SilentHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def local_server(app: Any, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded werkzeug server for one process (``port=0`` picks a free port): development only.

    Access lines never include query strings; ``quiet`` drops them altogether (the demo).
    """
    handler = _SilentHandler if quiet else _PathOnlyHandler
    return make_server(host, port, app, threaded=True, request_handler=handler)


def run_development(host: str, port: int, *, config: dict[str, Any] | None = None) -> None:
    """Werkzeug's server in this process, saying what it is for."""
    from sendx.exchange.hub import create_app

    server = local_server(create_app({**(config or {}), "SENDX_AUTO_MIGRATE": False}), host, port)
    print(
        f"sendx hub on http://{host}:{server.server_port}/ (Ctrl-C to stop)\n"
        "DEVELOPMENT SERVER: one thread per connection and no timeouts, so a few slow clients can stall it; "
        "run `sendx serve` without --dev for a hub others use",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def worker_timeout(max_body_bytes: int) -> int:
    """Seconds a worker may go silent on one request before gunicorn replaces it.

    A minute; and, for a hub allowed bodies over 20 MiB, a second more per MB beyond: an upload
    is checked whole (parsed, validated, sealed, logged) at about 3 MB/s on two cores, and a
    gevent worker cannot report in while it does — a 460 MB CTF took 166 s and, under a flat
    60 s, its worker was killed mid-upload (bench_upload).
    """
    beyond = max(0, max_body_bytes - 20 * 1024 * 1024)
    return 60 + math.ceil(beyond / 1_000_000)


def run(host: str, port: int, workers: int = 1, *, config: dict[str, Any] | None = None) -> None:
    """gunicorn with ``workers`` gevent worker processes on ``host:port``, until it is stopped."""
    from gunicorn.app.base import BaseApplication

    from sendx.exchange.hub.config import load_config

    cfg = {**(config or {}), "SENDX_AUTO_MIGRATE": False}
    timeout = worker_timeout(load_config(cfg).max_body_bytes)

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gevent")
            self.cfg.set("worker_connections", WORKER_CONNECTIONS)
            self.cfg.set("keepalive", HEADER_SECONDS)  # the gevent worker's deadline for a request head
            self.cfg.set("preload_app", False)  # never share a DB connection across fork
            self.cfg.set("timeout", timeout)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            # gunicorn ≥ 25.1 opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl)
            # by default: each hub started on a machine would take it from the one before, and
            # stopping one would delete another's.  The hub has no use for it.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from sendx.exchange.hub import create_app

            return _BodyDeadline(create_app(cfg), BODY_SECONDS)

    _Gunicorn().run()


# ------------------------------------------------------------------ the body deadline


class _BodyDeadline:
    """WSGI middleware: a request's body must arrive within ``seconds`` of the request, else 408.

    gunicorn's gevent worker reads a body from the socket as the app asks for it, one greenlet
    per connection; this bounds how long a client dripping its body can keep that greenlet (and
    its part of ``WORKER_CONNECTIONS``), and closes the connection after a 408 (the rest of the
    body is never read).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], self.seconds)

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            if status.startswith("408"):
                headers = [*headers, ("Connection", "close")]
            return start_response(status, headers, *exc)

        return self.app(environ, start)


class _DeadlineInput:
    """``wsgi.input`` whose every read ends by the deadline (gevent's timeout interrupts a blocked recv)."""

    def __init__(self, stream: Any, seconds: float) -> None:
        self._stream = stream
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds

    def _within(self, read: Callable[..., Any], *args: Any) -> Any:
        import gevent

        left = self._deadline - time.monotonic()
        late = RequestTimeout(f"the request body did not arrive within {self._seconds:g} seconds")
        if left <= 0:
            raise late
        with gevent.Timeout(left, late):
            return read(*args)

    def read(self, *args: Any) -> bytes:
        return self._within(self._stream.read, *args)  # type: ignore[no-any-return]

    def readline(self, *args: Any) -> bytes:
        return self._within(self._stream.readline, *args)  # type: ignore[no-any-return]

    def readlines(self, *args: Any) -> list[bytes]:
        return self._within(self._stream.readlines, *args)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

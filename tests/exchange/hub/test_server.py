"""The body deadline of ``sendx serve``'s workers (``exchange/hub/server.py``).

The whole server against slow clients is ``server/test_slow_clients.py``; here the body
deadline is driven on a gevent socket pair (what a gevent worker's ``wsgi.input`` reads from),
with a deadline short enough to watch.
"""

from __future__ import annotations

import io

import pytest
from gevent import socket as gsocket
from werkzeug.exceptions import RequestTimeout

from sendx.exchange.hub import server
from sendx.exchange.hub.config import DEFAULT_MAX_BODY_BYTES


def _app(environ, start_response):
    """A WSGI app that reads the whole body, as the hub's uploads do, and answers 408 when it is late."""
    try:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    except RequestTimeout as exc:
        start_response("408 Request Timeout", [("Content-Type", "text/plain")])
        return [str(exc.description).encode()]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def _call(app, stream, length: int):
    seen = {}

    def start_response(status, headers, *exc):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"wsgi.input": stream, "CONTENT_LENGTH": str(length)}, start_response))
    return seen["status"], seen["headers"], body


def test_a_body_that_arrives_in_time_is_read_whole():
    app = server._BodyDeadline(_app, 5)
    status, headers, body = _call(app, io.BytesIO(b"x" * 1000), 1000)
    assert status.startswith("200") and body == b"x" * 1000 and "Connection" not in headers


def test_a_dripping_body_is_cut_off_at_the_deadline_and_the_connection_closed():
    near, far = gsocket.socketpair()
    try:
        far.sendall(b"only the first bytes")  # ... and then nothing more
        app = server._BodyDeadline(_app, 0.3)
        status, headers, body = _call(app, near.makefile("rb"), 100_000)
        assert status.startswith("408") and headers["Connection"] == "close"
        assert b"within 0.3 seconds" in body
    finally:
        near.close()
        far.close()


def test_a_read_after_the_deadline_is_refused_at_once():
    stream = server._DeadlineInput(io.BytesIO(b"late"), 0)
    with pytest.raises(RequestTimeout):
        stream.read()


def test_a_worker_has_time_for_the_largest_body_the_hub_allows():
    """A minute at the default 20 MiB; beyond it, a second per MB (about a third of the measured
    rate), so the 460 MB upload that took 166 s is not killed mid-way."""
    assert server.worker_timeout(DEFAULT_MAX_BODY_BYTES) == 60
    assert server.worker_timeout(1024) == 60
    assert server.worker_timeout(460_000_000) >= 3 * 166
    assert server.worker_timeout(512 * 1024 * 1024) > server.worker_timeout(460_000_000)
